"""The emergency call's state moves only through CALL_MACHINE, with a history row per step;
a report the table refuses (late, repeated, backwards) changes nothing and answers the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from msa.alarms.models import CallTransition, Incident
from msa.alarms.services.call import alarm_call_report
from msa.alarms.services.tracking import tracking_after_call
from msa.alarms.states import CALL_MACHINE, CallState, CallTransitionName, call_transition_for
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def report(incident: Incident, event: CallState, at: datetime, clock: Clock) -> Incident:
    """The phone's report of ``event`` at ``at``, arriving at that moment."""
    clock.freeze(at)
    assert incident.device is not None
    assert incident.alarm_id is not None
    return alarm_call_report(
        device=incident.device,
        alarm_id=incident.alarm_id,
        event=event,
        at=at,
        actor=Actor.device(incident.device.device_id),
    )


def history(incident: Incident) -> list[tuple[str, str, str]]:
    return [
        (t.transition, t.from_state, t.to_state)
        for t in CallTransition.objects.filter(subject=incident).order_by("at", "id")
    ]


@pytest.mark.django_db
def test_an_answered_call_walks_the_machine_and_a_repeat_changes_nothing(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident  # raised while dialing
    report(incident, CallState.RINGING, NOW + timedelta(seconds=2), clock)
    answered = report(incident, CallState.ANSWERED, NOW + timedelta(seconds=5), clock)
    assert answered.call_answered_at == NOW + timedelta(seconds=5)
    assert answered.track_until is None
    again = report(incident, CallState.ANSWERED, NOW + timedelta(seconds=9), clock)  # a retry
    assert (again.call_state, again.call_answered_at) == (
        CallState.ANSWERED,
        answered.call_answered_at,
    )
    late_ring = report(incident, CallState.RINGING, NOW + timedelta(seconds=10), clock)
    assert late_ring.call_state == CallState.ANSWERED
    clock.advance(timedelta(seconds=60))
    ended = report(incident, CallState.ENDED, NOW + timedelta(seconds=60), clock)
    assert ended.call_state == CallState.ENDED
    assert ended.call_ended_at == NOW + timedelta(seconds=60)
    assert ended.track_until == ended.call_ended_at + tracking_after_call()
    assert history(incident) == [
        ("raise", "", "dialing"),
        ("ring", "dialing", "ringing"),
        ("answer", "ringing", "answered"),
        ("end", "answered", "ended"),
    ]
    actions = set(
        AuditEntry.objects.filter(action__startswith="call.").values_list("action", flat=True)
    )
    assert actions == {"call.ring", "call.answer", "call.end"}


@pytest.mark.django_db
def test_a_call_ended_before_anybody_answered_is_a_ghost(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    ghost = report(incident, CallState.ENDED, NOW + timedelta(seconds=20), clock)
    assert ghost.call_state == CallState.GHOST
    assert ghost.call_ended_at == NOW + timedelta(seconds=20)
    assert (
        report(incident, CallState.ANSWERED, NOW + timedelta(seconds=21), clock).call_state
        == "ghost"
    )
    assert history(incident)[-1] == ("end_unanswered", "dialing", "ghost")


def test_each_call_event_maps_to_the_transition_the_table_allows() -> None:
    assert call_transition_for(CallState.ENDED, CallState.ANSWERED) == CallTransitionName.END
    assert call_transition_for(CallState.ENDED, CallState.RINGING) == (
        CallTransitionName.END_UNANSWERED
    )
    assert call_transition_for(CallState.GHOST, CallState.NONE) == CallTransitionName.END_UNANSWERED
    assert call_transition_for(CallState.DIALING, CallState.RINGING) is None  # backwards
    for finished in (CallState.ENDED, CallState.GHOST):
        assert CALL_MACHINE.allowed(finished) == []
        for event in (CallState.DIALING, CallState.RINGING, CallState.ANSWERED, CallState.ENDED):
            assert call_transition_for(event, finished) is None
