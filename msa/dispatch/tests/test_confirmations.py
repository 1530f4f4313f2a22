"""Destructive console steps ask first, with an explicit choice: a duress alarm recorded as a
false alarm, tracking stopped; a note the server refuses comes back with its text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.alarms.states import Trigger
from msa.core.clock import Clock
from msa.dispatch.models import IncidentNote
from msa.dispatch.services.console import MAX_NOTE
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def _operator(client: Client) -> Client:
    client.force_login(User.objects.get(username="operator"))
    return client


@pytest.mark.django_db
def test_a_duress_alarm_is_recorded_false_only_on_an_explicit_yes(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW, trigger=Trigger.DURESS).incident
    base = f"/console/incidents/{incident.reference}"
    _operator(client).post(base + "/acknowledge/")
    asked = client.post(base + "/outcome/", {"outcome": "false_mispress", "violence": "no"})
    page = asked.content.decode()
    assert asked.status_code == 200
    assert "Record this duress alarm as a false alarm?" in page
    assert 'name="outcome" value="false_mispress"' in page  # carried, not retyped
    assert 'id="confirm-no"' in page
    assert Incident.objects.get(pk=incident.pk).outcome == ""  # asking changed nothing
    client.post(base + "/outcome/", {"outcome": "false_mispress", "confirm": "yes"})
    assert Incident.objects.get(pk=incident.pk).outcome == "false_mispress"
    # a real outcome of a duress alarm is not asked about
    client.post(base + "/outcome/", {"outcome": "arrested_on_scene"})
    assert Incident.objects.get(pk=incident.pk).outcome == "arrested_on_scene"


@pytest.mark.django_db
def test_stopping_tracking_asks_first(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    base = f"/console/incidents/{incident.reference}"
    _operator(client).post(base + "/acknowledge/")
    data = {"change": "stop", "reason": "victim safe at the station"}
    page = client.post(base + "/tracking/", data).content.decode()
    assert "Stop tracking her position now?" in page
    assert Incident.objects.get(pk=incident.pk).track_until is None
    client.post(base + "/tracking/", {**data, "confirm": "yes"})
    assert Incident.objects.get(pk=incident.pk).track_until == NOW


@pytest.mark.django_db
def test_a_refused_note_keeps_its_text(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    text = "shouting in the background, " * 200  # over the limit
    assert len(text) > MAX_NOTE
    refused = _operator(client).post(
        f"/console/incidents/{incident.reference}/note/", {"text": text}
    )
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "the note is too long" in page
    assert text.strip() in page
    assert not IncidentNote.objects.exists()
