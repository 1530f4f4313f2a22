"""An active alarm whose device goes silent is escalated once per silence by the worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from msa.accounts.models import User
from msa.alarms.services.tracking import FixInput, alarm_locations_add
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.selectors import incident_timeline
from msa.dispatch.services.console import incident_acknowledge, tracking_stop
from msa.messaging.models import OutboundMessage
from msa.realtime.models import IncidentEvent
from msa.worker.timers import sweep_silent_devices
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def silent_escalations() -> int:
    return IncidentEvent.objects.filter(
        type="incident.escalated", payload__kind="device_silent"
    ).count()


@pytest.mark.django_db
def test_a_worked_alarm_without_a_position_for_three_intervals_escalates_once_per_silence(
    demo: None, clock: Clock, settings: object
) -> None:
    clock.freeze(NOW)
    result = press(at=NOW)
    incident = result.incident
    operator = Actor.for_user(User.objects.get(username="operator"))
    incident_acknowledge(incident=incident, actor=operator)

    clock.advance(timedelta(seconds=29))  # 3 x MSA_REPORT_INTERVAL_S (10 s) not yet past
    assert sweep_silent_devices() == 0
    clock.advance(timedelta(seconds=1))
    assert sweep_silent_devices() == 1
    assert sweep_silent_devices() == 0  # once per silence
    assert silent_escalations() == 1
    note = OutboundMessage.objects.filter(subject=f"MSA {incident.reference}").latest("pk")
    assert "device silent" in note.body
    timeline = [e.detail for e in incident_timeline(incident)]
    assert "device silent: no position for three report intervals" in timeline

    # A position ends the silence; three more intervals without one escalate again.
    device = incident.device
    assert device is not None
    alarm_locations_add(
        device=device,
        alarm_id=uuid.UUID(str(incident.alarm_id)),
        fixes=[FixInput(lat=51.05, lon=3.72, accuracy_m=8, fix_at=clock.now(), source="gps")],
        actor=Actor.device(device.device_id),
    )
    clock.advance(timedelta(seconds=29))
    assert sweep_silent_devices() == 0
    clock.advance(timedelta(seconds=2))
    assert sweep_silent_devices() == 1
    assert silent_escalations() == 2

    # Tracking stopped: silence is expected, nothing escalates.
    tracking_stop(incident=incident, actor=operator, reason="victim safe at the station")
    clock.advance(timedelta(minutes=5))
    assert sweep_silent_devices() == 0


@pytest.mark.django_db
def test_an_unacknowledged_alarm_is_left_to_the_acknowledgement_timers(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    press(at=NOW)
    clock.advance(timedelta(minutes=2))
    assert sweep_silent_devices() == 0
