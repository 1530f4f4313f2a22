"""Deterministic factories: the demo region plus what a test adds, never random data."""

from __future__ import annotations

import uuid
from datetime import datetime

from msa.alarms.models import Incident
from msa.alarms.services.intake import RaiseResult, alarm_raise
from msa.alarms.services.tracking import FixInput, LocationsResult, alarm_locations_add
from msa.alarms.states import CallState, Channel, Trigger
from msa.core.actors import Actor
from msa.demo_data import demo_device_id
from msa.devices.models import Device


def press(
    victim: int = 1,
    *,
    at: datetime,
    number: int = 1,
    trigger: Trigger = Trigger.BUTTON,
    lat: float = 51.05,
    lon: float = 3.72,
) -> RaiseResult:
    """Raise the alarm of a demo victim's press; ``number`` makes a distinct alarm id."""
    device = Device.objects.get(device_id=demo_device_id(victim))
    return alarm_raise(
        device=device,
        alarm_id=uuid.UUID(int=victim * 1_000_000 + number),
        trigger=trigger,
        pressed_at=at,
        location=FixInput(lat=lat, lon=lon, accuracy_m=10, fix_at=at, source="gps"),
        battery=None,
        call_state=CallState.DIALING,
        channel=Channel.DATA,
        actor=Actor.device(device.device_id),
    )


def positions_add(
    incident: Incident, *fixes: FixInput, seen: Incident | None = None
) -> LocationsResult:
    """The incident's device sending ``fixes`` for its alarm, as the device API calls it."""
    assert incident.device is not None
    assert incident.alarm_id is not None
    return alarm_locations_add(
        device=incident.device,
        alarm_id=incident.alarm_id,
        fixes=list(fixes),
        actor=Actor.device(incident.device.device_id),
        seen=seen,
    )
