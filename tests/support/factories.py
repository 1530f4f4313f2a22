"""Deterministic factories: the demo region plus what a test adds, never random data."""

from __future__ import annotations

import uuid
from datetime import datetime

from msa.alarms.services.intake import RaiseResult, alarm_raise
from msa.alarms.services.tracking import FixInput
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
