"""Device health with two workers at once, on PostgreSQL (SQLite serialises writers)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from msa.alarms.device_health import sweep_device_health
from msa.core.clock import Clock
from msa.demo_data import demo_device_id
from msa.devices.models import Device, DeviceHealthIssue
from msa.messaging.models import OutboundMessage

NOW = datetime(2026, 5, 5, 8, 0, tzinfo=UTC)

pytestmark = pytest.mark.postgres_only


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_tell_the_officers_once(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    Device.objects.update(
        enrolled_at=NOW,
        last_heartbeat_at=NOW,
        phone_battery_pct=80,
        button_battery_pct=70,
        button_connected=True,
        button_last_seen_at=NOW,
        permissions={"location": "always"},
    )
    device = Device.objects.get(device_id=demo_device_id(1))
    Device.objects.filter(pk=device.pk).update(phone_battery_pct=7)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(sweep_device_health())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1]  # one worker flagged it; the other found it flagged
    assert DeviceHealthIssue.objects.filter(device=device).count() == 1
    assert OutboundMessage.objects.filter(subject__contains=device.device_id).count() == 1
