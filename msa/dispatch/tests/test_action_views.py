"""The console's action views and the unit page: thin, scoped, and refusing politely."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.models import Dispatch, Unit, UnitPosition
from msa.dispatch.services.dispatching import dispatch_create
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def as_user(client: Client, username: str) -> Client:
    client.force_login(User.objects.get(username=username))
    return client


@pytest.mark.django_db
def test_operator_runs_the_incident_from_the_page(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW, lat=51.0439, lon=3.7253).incident
    base = f"/console/incidents/{incident.reference}"
    as_user(client, "operator")
    page = client.get(base + "/").content.decode()
    assert "do not call the victim back" in page
    assert 'id="form-ack"' in page
    assert "G-12" in page  # recommended, with its ETA
    assert "home of the victim (200 m)" in page  # the exclusion zone, listed and mapped
    assert '"radius_m": 200' in page
    client.post(base + "/acknowledge/")
    client.post(base + "/note/", {"text": "line open, shouting"})
    g12 = Unit.objects.get(call_sign="G-12")
    client.post(base + "/dispatch/", {"unit": [str(g12.pk)]})
    dispatch = Dispatch.objects.get()
    client.post(base + f"/dispatches/{dispatch.pk}/progress/", {"transition": "arrive"})
    incident.refresh_from_db()
    assert incident.status == IncidentState.ON_SCENE
    # Closing before the outcome is refused with a message, not an error page.
    response = client.post(base + "/close/", follow=True)
    assert "record the outcome first" in response.content.decode()
    client.post(base + "/outcome/", {"outcome": "arrested_on_scene", "violence": "no"})
    client.post(base + "/close/")
    incident.refresh_from_db()
    assert (incident.status, incident.outcome) == (IncidentState.CLOSED, "arrested_on_scene")
    assert incident.violence_before_arrival is False
    assert incident.victim_injured is None
    client.post(base + "/reopen/", {"reason": ""})
    incident.refresh_from_db()
    assert incident.status == IncidentState.CLOSED
    # a closed incident's live part is a read like its page: the operator states a reason
    reason_url = f"/cases/{incident.case.reference}/reason/"
    client.post(reason_url, {"reason": "checking the closed incident", "next": base + "/"})
    live = client.get(base + "/live/").content.decode()
    assert "line open, shouting" in live
    assert "G-12 on scene" in live  # in words (msa.dispatch.words), not the raw state


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["patrol", "reference", "magistrate", "analyst"])
def test_actions_answer_404_to_everybody_but_console_staff(
    demo: None, clock: Clock, client: Client, username: str
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    as_user(client, username)
    for action in ("acknowledge", "note", "dispatch", "outcome", "close", "tracking"):
        url = f"/console/incidents/{incident.reference}/{action}/"
        assert client.post(url, {"text": "x"}).status_code == 404
    assert Incident.objects.get().status == IncidentState.RECEIVED


@pytest.mark.django_db
def test_the_queue_costs_the_same_queries_with_dispatches_and_escalations(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    as_user(client, "operator")
    first = press(at=NOW, number=1).incident
    url = f"/console/{first.centre_id}/queue/"
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    operator = User.objects.get(username="operator")
    units = list(Unit.objects.filter(police_zone__code="GNT").order_by("call_sign"))
    for number in range(2, 6):  # four more devices: another press of one device joins its incident
        incident = press(victim=number, at=NOW, number=number).incident
        dispatch_create(
            incident=incident, unit_ids=[units[number - 2].pk], actor=Actor.for_user(operator)
        )
    Incident.objects.update(ack_escalated_at=NOW)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert len(many) == len(one)
    assert "Supervisor alert" in html


@pytest.mark.django_db
def test_the_unit_page_shows_its_dispatch_and_moves_it(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    as_user(client, "patrol")
    assert "No dispatch" in client.get("/unit/").content.decode()
    as_user(client, "operator")
    g12 = Unit.objects.get(call_sign="G-12")
    client.post(f"/console/incidents/{incident.reference}/dispatch/", {"unit": [str(g12.pk)]})
    dispatch = Dispatch.objects.get()
    as_user(client, "patrol")
    page = client.get("/unit/").content.decode()
    assert incident.reference in page
    assert "Elise Vandersteene" in page
    assert AuditEntry.objects.filter(action="dossier.read", actor_label="patrol").exists()
    client.post(f"/unit/dispatches/{dispatch.pk}/progress/", {"transition": "depart"})
    client.post(f"/unit/dispatches/{dispatch.pk}/progress/", {"transition": "arrive"})
    incident.refresh_from_db()
    assert incident.status == IncidentState.ON_SCENE
    track = client.get("/unit/track/").json()
    assert track["dispatch"] == dispatch.pk
    assert len(track["positions"]) == 1
    response = client.post(
        "/unit/position/",
        {"lat": 51.04, "lon": 3.72, "accuracy_m": 8, "fix_at": NOW.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert UnitPosition.objects.get().source == "browser"
    # Another unit's dispatch is not this officer's: 404.
    other = press(victim=2, at=NOW, number=2).incident
    as_user(client, "operator")
    g11 = Unit.objects.get(call_sign="G-11")
    client.post(f"/console/incidents/{other.reference}/dispatch/", {"unit": [str(g11.pk)]})
    theirs = Dispatch.objects.get(unit=g11)
    as_user(client, "patrol")
    assert (
        client.post(f"/unit/dispatches/{theirs.pk}/progress/", {"transition": "clear"}).status_code
        == 404
    )
    as_user(client, "operator")
    assert client.get("/unit/").status_code == 404  # not crew of any unit
