"""The incident's timeline in plain words and the centre's local time: every event type has a
label, and no detail shows a machine value (``en_route``, ``outcome=arrested_on_scene``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from msa.accounts.models import User
from msa.alarms.states import Outcome
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.models import Dispatch, Unit
from msa.dispatch.selectors import EVENT_LABELS
from msa.dispatch.services.console import (
    incident_acknowledge,
    incident_outcome_record,
    tracking_stop,
)
from msa.dispatch.services.dispatching import dispatch_create, dispatch_progress
from msa.dispatch.states import DispatchTransitionName
from msa.dispatch.words import event_detail
from msa.realtime.events import EVENT_TYPES
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)  # 23:14:03 in Brussels


def test_every_event_type_has_a_label() -> None:
    assert set(EVENT_TYPES) <= set(EVENT_LABELS)


def test_details_are_sentences_not_key_value_pairs() -> None:
    outcome = event_detail(
        "incident.outcome",
        {"outcome": "arrested_on_scene", "violence_before_arrival": False, "victim_injured": None},
    )
    assert outcome == (
        "suspect arrested on scene; violence before arrival: no; victim injured: not known"
    )
    assert "=" not in event_detail("some.future_event", {"kind": "en_route", "count": 2})
    assert "en route" in event_detail("some.future_event", {"kind": "en_route"})


@pytest.mark.django_db
def test_the_timeline_reads_in_words_in_local_time(
    demo: None, clock: Clock, client: Client
) -> None:
    operator = User.objects.get(username="operator")
    actor = Actor.for_user(operator)
    clock.freeze(NOW)
    incident = press(at=NOW, lat=51.0439, lon=3.7253).incident
    incident_acknowledge(incident=incident, actor=actor)
    clock.freeze(NOW + timedelta(seconds=30))
    g12 = Unit.objects.get(call_sign="G-12")
    dispatch_create(incident=incident, unit_ids=[g12.pk], actor=actor)
    dispatch = Dispatch.objects.get()
    dispatch_progress(dispatch=dispatch, transition=DispatchTransitionName.DEPART, actor=actor)
    clock.freeze(NOW + timedelta(minutes=4))
    dispatch_progress(dispatch=dispatch, transition=DispatchTransitionName.ARRIVE, actor=actor)
    incident_outcome_record(
        incident=incident,
        actor=actor,
        outcome=Outcome.ARRESTED_ON_SCENE,
        violence_before_arrival=False,
    )
    tracking_stop(incident=incident, actor=actor, reason="suspect in custody")

    client.force_login(operator)
    html = client.get(f"/console/incidents/{incident.reference}/live/").content.decode()
    timeline = html[html.index('id="timeline"') :]
    text = re.sub(r"<[^>]+>", " ", timeline)
    for words in (
        "acknowledged",
        "G-12 en route",
        "G-12 on scene",
        "first unit on scene",
        "suspect arrested on scene; violence before arrival: no",
        "tracking stopped by the operator",
    ):
        assert words in text, words
    for machine in ("en_route", "on_scene", "arrested_on_scene", "outcome=", "kind="):
        assert machine not in text, machine
    assert "23:14:03" in text  # the centre's local time, not UTC
    assert "23:18:03" in text
    # The elapsed timer of the page stops at the first unit on scene: the panel says when.
    assert 'data-on-scene="2026-05-01T21:18:03+00:00"' in html
