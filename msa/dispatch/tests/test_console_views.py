"""The console pages: who may open them, what they show, what they record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.audit.models import AuditEntry
from msa.core.clock import Clock
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def logged_in(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


@pytest.mark.django_db
def test_the_console_needs_a_login(demo: None, client: Client) -> None:
    response = client.get("/console/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["patrol", "reference", "magistrate", "counsellor", "analyst"])
def test_only_console_staff_see_the_queue(demo: None, client: Client, username: str) -> None:
    assert logged_in(client, username).get("/console/").status_code == 404


@pytest.mark.django_db
def test_the_queue_shows_live_and_test_lanes_in_the_centre_time_zone(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    live = press(at=NOW, number=1).incident
    test = press(victim=2, at=NOW, number=2, trigger="test").incident  # type: ignore[arg-type]
    html = logged_in(client, "operator").get("/console/").content.decode()
    live_lane, rest = html.split('lane-test"', 1)
    assert live.reference in live_lane
    assert test.reference in rest
    assert test.reference not in live_lane
    assert "23:14:03" in html  # 21:14:03 UTC is 23:14:03 in Brussels in May


@pytest.mark.django_db
def test_the_queue_costs_the_same_queries_for_1_or_10_incidents(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    logged_in(client, "operator")
    press(at=NOW, number=1)
    with CaptureQueriesContext(connection) as one:
        client.get("/console/1/queue/".replace("1", str(Incident.objects.get().centre_id)))
    for number in range(2, 11):
        press(victim=1 + number % 5, at=NOW, number=number)
    with CaptureQueriesContext(connection) as ten:
        client.get(f"/console/{Incident.objects.first().centre_id}/queue/")  # type: ignore[union-attr]
    assert len(ten) == len(one)
    # 12, the nearest places (memberships, places, gazetteer), the probe banner (2)
    assert len(ten) <= 17


@pytest.mark.django_db
def test_the_incident_page_shows_the_dossier_and_audits_the_read(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    response = logged_in(client, "operator").get(f"/console/incidents/{incident.reference}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Elise Vandersteene" in html
    assert "Kevin Dhondt" in html
    assert "200 m" in html
    read = AuditEntry.objects.get(action="dossier.read")
    assert read.actor_label == "operator"
    assert read.subject_type == "cases.protectioncase"
    assert read.subject_id == str(incident.case_id)


@pytest.mark.django_db
def test_missing_and_not_yours_both_answer_404(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    logged_in(client, "patrol")
    assert client.get(f"/console/incidents/{incident.reference}/").status_code == 404
    logged_in(client, "operator")
    assert client.get("/console/incidents/GNT-2026-99999/").status_code == 404
    assert not AuditEntry.objects.filter(action="dossier.read").exists()


@pytest.mark.django_db
def test_acknowledge(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    logged_in(client, "operator")
    response = client.post(f"/console/incidents/{incident.reference}/acknowledge/")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.acknowledged_at == NOW
    # A second acknowledgement (another operator) changes nothing and does not fail.
    client.post(f"/console/incidents/{incident.reference}/acknowledge/")
    assert incident.transitions.filter(transition="acknowledge").count() == 1
    assert client.get(f"/console/incidents/{incident.reference}/acknowledge/").status_code == 405
