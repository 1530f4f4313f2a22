"""The demo's phones beat (MSA_DEMO=1): the device-health watch does not flag every demo device
silent once the demo has run for a while, and what a simulator reported is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.demo_data import demo_device_id
from msa.devices.health import device_health_sweep
from msa.devices.models import Device, DeviceHealthIssue, HealthProblem
from msa.worker.demo_phones import sweep_demo_heartbeats

NOW = datetime(2026, 5, 6, 3, 0, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_the_demo_phones_beat_only_in_the_demo(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    with override_settings(MSA_DEMO=False):
        assert sweep_demo_heartbeats() == 0
    Device.objects.filter(device_id=demo_device_id(2)).update(
        phone_battery_pct=12, last_heartbeat_at=None
    )
    with override_settings(MSA_DEMO=True, MSA_HEARTBEAT_INTERVAL_S=300):
        for _ in range(4):  # an hour of the demo
            clock.advance(timedelta(minutes=15))
            assert sweep_demo_heartbeats() > 0
            device_health_sweep(last_test_alarms={}, actor=Actor.system("test"))
    silent = DeviceHealthIssue.objects.filter(problem=HealthProblem.SILENT, cleared_at=None)
    assert not silent.filter(device__device_id__startswith="dev-demo-").exists()
    assert Device.objects.get(device_id=demo_device_id(2)).phone_battery_pct == 12
