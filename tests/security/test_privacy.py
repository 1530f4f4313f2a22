"""Retention, pseudonyms for analysts, and the reason asked before opening a dossier."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from msa.accounts.models import Membership, Role, User
from msa.accounts.pseudonyms import case_row_for_analyst, incident_row_for_analyst, pseudonym
from msa.alarms.models import Incident, LocationFix
from msa.alarms.retention import case_anonymise, retention_run
from msa.alarms.selectors import case_has_open_incident
from msa.alarms.states import IncidentState
from msa.audit.models import AuditEntry
from msa.cases.models import Place, ProtectionCase, Suspect, Victim
from msa.cases.selectors import dossier_access_reason_required
from msa.cases.states import CaseState
from msa.demo_data import VICTIMS, victim
from msa.worker.sweeps import SWEEPS
from tests.support.factories import press

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


def personal_strings() -> list[str]:
    out: list[str] = []
    for v in VICTIMS:
        out += [v.first_name, v.last_name, v.suspect_first, v.suspect_last, v.address, v.phone]
        out += [v.suspect_address, v.health, v.children]
    return [s for s in out if s]


def end_case(case: ProtectionCase, at: datetime) -> None:
    ProtectionCase.objects.filter(pk=case.pk).update(status=CaseState.ENDED, ended_at=at)


# --- retention -----------------------------------------------------------------------


def test_a_closed_case_is_anonymised_after_the_retention_period(demo: None, clock: Any) -> None:
    clock.freeze(NOW)
    result = press(at=NOW)
    incident = Incident.objects.get(pk=result.incident.pk)
    case = incident.case
    received_at, channels = incident.received_at, list(incident.channels)
    assert LocationFix.objects.filter(incident=incident).exists()
    assert Place.objects.filter(case=case).exists(), "the demo case has places on the map"
    end_case(case, NOW)

    clock.advance(timedelta(days=settings.MSA_RETENTION_DAYS - 1))
    assert retention_run() == 0, "not yet due"
    clock.advance(timedelta(days=2))
    assert retention_run() == 1
    assert retention_run() == 0, "idempotent"
    assert case_anonymise(case_id=case.pk) is False

    case.refresh_from_db()
    v = Victim.objects.get(pk=case.victim_id)
    s = Suspect.objects.get(pk=case.suspect_id)
    assert case.anonymised_at == clock.now()
    assert v.first_name == pseudonym("victim", v.pk)
    assert (v.last_name, v.address, v.phone_number, v.health_notes, v.phone_lookup) == (
        "",
        "",
        "",
        "",
        "",
    )
    assert s.first_name == pseudonym("suspect", s.pk)
    assert (s.last_name, s.address, s.weapons) == ("", "", "")
    assert case.restraining_order == ""
    assert not LocationFix.objects.filter(incident__case=case).exists()
    assert not Place.objects.filter(case=case).exists()
    kept = Incident.objects.get(pk=incident.pk)
    assert (kept.received_at, list(kept.channels)) == (received_at, channels)
    entry = AuditEntry.objects.get(action="case.anonymise")
    assert entry.subject_id == str(case.pk)
    assert entry.new["fixes_deleted"] >= 1


def test_open_cases_and_recently_ended_ones_are_kept(demo: None, clock: Any) -> None:
    clock.freeze(NOW)
    first, second = ProtectionCase.objects.order_by("pk")[:2]
    end_case(first, NOW - timedelta(days=10))
    assert retention_run() == 0
    assert Victim.objects.get(pk=second.victim_id).last_name == VICTIMS[1].last_name


def test_the_worker_sweeps_retention() -> None:
    assert "retention" in {s.name for s in SWEEPS}


def test_msa_retention_run_is_a_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "msa.cli", "retention", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "run" in result.stdout


# --- analysts: pseudonyms --------------------------------------------------------------


def test_pseudonyms_are_stable_keyed_and_short() -> None:
    assert pseudonym("victim", 1) == pseudonym("victim", 1)
    assert pseudonym("victim", 1) != pseudonym("victim", 2)
    assert pseudonym("victim", 1) != pseudonym("suspect", 1).replace("S-", "V-")
    assert pseudonym("victim", 1).startswith("V-")
    assert len(pseudonym("victim", 1)) == 8


def test_analyst_rows_carry_no_names_or_contact_data(demo: None, clock: Any) -> None:
    clock.freeze(NOW)
    press(at=NOW)
    rows = [case_row_for_analyst(c) for c in ProtectionCase.objects.select_related("police_zone")]
    rows += [incident_row_for_analyst(i) for i in Incident.objects.select_related("case")]
    text = repr(rows)
    for secret in personal_strings():
        assert secret not in text
    assert "V-" in text


def test_analysts_open_no_dossier(demo: None, client: Client, clock: Any) -> None:
    clock.freeze(NOW)
    result = press(at=NOW)
    client.force_login(User.objects.get(username="analyst"))
    response = client.get(f"/console/incidents/{result.incident.reference}/")
    assert response.status_code == 404
    for secret in personal_strings():
        assert secret not in response.content.decode()


# --- reason for access -------------------------------------------------------------------


def close(incident: Incident) -> None:
    Incident.objects.filter(pk=incident.pk).update(status=IncidentState.CLOSED, closed_at=NOW)


def test_no_reason_while_the_incident_is_open(demo: None, client: Client, clock: Any) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    operator = User.objects.get(username="operator")
    open_incident = case_has_open_incident(incident.case)
    assert not dossier_access_reason_required(operator, incident.case, open_incident=open_incident)
    client.force_login(operator)
    response = client.get(f"/console/incidents/{incident.reference}/")
    assert victim(1).last_name in response.content.decode()
    entry = AuditEntry.objects.filter(action="dossier.read").last()
    assert entry is not None
    assert entry.reason == f"open incident {incident.reference}"


def test_a_closed_incident_asks_for_a_reason_that_the_audit_records(
    demo: None, client: Client, clock: Any
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    close(incident)
    operator = User.objects.get(username="operator")
    open_incident = case_has_open_incident(incident.case)
    assert dossier_access_reason_required(operator, incident.case, open_incident=open_incident)
    client.force_login(operator)
    url = f"/console/incidents/{incident.reference}/"
    response = client.get(url)
    html = response.content.decode()
    assert 'id="reason-required"' in html
    assert victim(1).last_name not in html
    assert not AuditEntry.objects.filter(action="dossier.read").exists()

    reason_url = reverse("cases:reason", kwargs={"reference": incident.case.reference})
    assert client.post(reason_url, {"reason": "x", "next": url}).status_code == 200  # too short
    response = client.post(reason_url, {"reason": "review of the night's incidents", "next": url})
    assert response.status_code == 302
    assert response["Location"] == url
    response = client.get(url)
    assert victim(1).last_name in response.content.decode()
    read = AuditEntry.objects.get(action="dossier.read")
    assert read.reason == "review of the night's incidents"
    assert read.actor_label == "operator"
    assert AuditEntry.objects.filter(action="dossier.reason").count() == 1

    # The stated reason lasts a while, then it is asked again.
    clock.advance(timedelta(minutes=20))
    assert 'id="reason-required"' in client.get(url).content.decode()


def test_the_case_owners_need_no_reason(demo: None, clock: Any) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    close(incident)
    case = ProtectionCase.objects.select_related("police_zone").get(pk=incident.case_id)
    open_incident = case_has_open_incident(case)
    for username in ("reference", "magistrate"):
        user = User.objects.get(username=username)
        assert not dossier_access_reason_required(user, case, open_incident=open_incident)


def test_other_members_of_the_zone_state_a_reason(demo: None, clock: Any) -> None:
    """Owning a case takes a zone role (reference officer, supervisor) or the magistrate's:
    a patrol officer's or an analyst's membership of the zone is no ownership."""
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    close(incident)
    case = ProtectionCase.objects.select_related("police_zone").get(pk=incident.case_id)
    patrol = User.objects.get(username="patrol")
    assert Membership.objects.filter(
        user=patrol, organisation=case.police_zone, role=Role.PATROL
    ).exists()
    analyst = User.objects.get(username="analyst")
    Membership.objects.create(user=analyst, organisation=case.police_zone, role=Role.ANALYST)
    assert not case_has_open_incident(case)
    for user in (patrol, analyst):
        assert dossier_access_reason_required(user, case, open_incident=False), user.username


def test_the_reason_page_does_not_follow_an_outside_next(demo: None, client: Client) -> None:
    client.force_login(User.objects.get(username="operator"))
    case = ProtectionCase.objects.order_by("pk").first()
    assert case is not None
    response = client.post(
        reverse("cases:reason", kwargs={"reference": case.reference}),
        {"reason": "looking around", "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"
