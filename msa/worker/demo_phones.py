"""The demo's phones beat (MSA_DEMO=1 only): the demo's devices are not real phones, and without
a heartbeat the device-health watch flagged every one of them silent 15 minutes after seeding.

A demo device that nobody beat for within one heartbeat interval gets a heartbeat from the
worker, with the battery, button and permissions it last reported (a value that ``msa simulate``
sent stays until the simulator stops), so a demo shows healthy devices unless one is made sick.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from msa.core import clock
from msa.demo_data import VICTIMS, demo_device_id
from msa.devices.models import Device
from msa.devices.services import HeartbeatInput, device_heartbeat_record
from msa.devices.states import DeviceStatus

GOOD_PERMISSIONS = {"location": "always", "sms": True, "notifications": True}


def sweep_demo_heartbeats() -> int:
    if not settings.MSA_DEMO:
        return 0
    now = clock.now()
    quiet = now - timedelta(seconds=settings.MSA_HEARTBEAT_INTERVAL_S)
    devices = Device.objects.filter(
        device_id__in=[demo_device_id(v.number) for v in VICTIMS], status=DeviceStatus.ACTIVE
    ).exclude(last_heartbeat_at__gt=quiet)
    beaten = 0
    for device in devices:
        device_heartbeat_record(
            device=device,
            beat=HeartbeatInput(
                at=now,
                phone_pct=device.phone_battery_pct if device.phone_battery_pct is not None else 80,
                button_pct=device.button_battery_pct
                if device.button_battery_pct is not None
                else 70,
                button_connected=device.button_connected is not False,
                button_last_seen_at=now
                if device.button_connected is not False
                else device.button_last_seen_at,
                permissions=device.permissions or GOOD_PERMISSIONS,
                network_data=True,
                app_version=device.app_version or "demo",
            ),
        )
        beaten += 1
    return beaten
