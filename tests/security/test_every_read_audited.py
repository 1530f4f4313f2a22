"""Every read is audited (issue 11): the incident page's live fragment applies the reason rule
and writes the audit row like the full page; the integration feed's track of an incident is
audited and given only while it is open or shortly after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from msa.accounts.models import Organisation, TokenKind, User
from msa.accounts.tokens import token_create
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from tests.support.factories import press

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


def test_the_live_fragment_of_an_open_incident_is_an_audited_read(
    demo: None, client: Client, clock: Any
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    client.force_login(User.objects.get(username="operator"))
    response = client.get(f"/console/incidents/{incident.reference}/live/")
    assert response.status_code == 200
    assert 'class="live-panel"' in response.content.decode()
    read = AuditEntry.objects.filter(action="dossier.read").get()
    assert read.actor_label == "operator"
    assert read.new == {"incident": incident.reference}
    assert read.reason == f"open incident {incident.reference}"


def test_the_live_fragment_of_a_closed_incident_asks_for_the_reason(
    demo: None, client: Client, clock: Any
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    Incident.objects.filter(pk=incident.pk).update(status=IncidentState.CLOSED, closed_at=NOW)
    client.force_login(User.objects.get(username="operator"))
    page = f"/console/incidents/{incident.reference}/"
    live = f"{page}live/"
    response = client.get(live, HTTP_HX_REQUEST="true")
    assert 'id="reason-required"' in response.content.decode()
    assert 'class="live-panel"' not in response.content.decode()
    assert response["HX-Redirect"] == page  # htmx loads the full page, which asks
    assert not AuditEntry.objects.filter(action="dossier.read").exists()

    reason_url = reverse("cases:reason", kwargs={"reference": incident.case.reference})
    client.post(reason_url, {"reason": "review of the night's incidents", "next": page})
    response = client.get(live)
    assert 'class="live-panel"' in response.content.decode()
    read = AuditEntry.objects.filter(action="dossier.read").get()
    assert read.reason == "review of the night's incidents"
    clock.advance(timedelta(minutes=20))
    assert 'id="reason-required"' in client.get(live).content.decode()
    assert AuditEntry.objects.filter(action="dossier.read").count() == 1


def test_the_feeds_track_is_audited_and_given_only_near_the_incident(
    demo: None, client: Client, clock: Any
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    issued = token_create(
        kind=TokenKind.INTEGRATION,
        name="dispatch-system",
        actor=Actor.system("t"),
        organisation=Organisation.objects.get(code="OVL"),
    )
    auth = {"Authorization": f"Bearer {issued.plain}"}
    url = f"/api/cic/v1/incidents/{incident.reference}"
    detail = client.get(url, headers=auth).json()
    assert len(detail["positions"]) == 1
    read = AuditEntry.objects.filter(action="incident.track_read").get()
    assert read.actor_kind == "gateway"
    assert read.actor_label == "integration dispatch-system"
    assert read.subject_id == str(incident.pk)
    assert read.new == {"incident": incident.reference, "positions": 1}

    Incident.objects.filter(pk=incident.pk).update(status=IncidentState.CLOSED, closed_at=NOW)
    clock.advance(timedelta(minutes=30))  # shortly after: the dispatch system finishes its record
    assert len(client.get(url, headers=auth).json()["positions"]) == 1
    assert AuditEntry.objects.filter(action="incident.track_read").count() == 2

    clock.advance(timedelta(hours=2))  # long after: no track, not even the last position
    late = client.get(url, headers=auth).json()
    assert late["positions"] == []
    assert late["last_position"] is None
    assert AuditEntry.objects.filter(action="incident.track_read").count() == 2
    (row,) = client.get("/api/cic/v1/incidents", headers=auth).json()
    assert row["last_position"] is None
