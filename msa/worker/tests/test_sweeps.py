from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from msa.alarms.models import Incident
from msa.core.clock import Clock
from msa.realtime.models import IncidentEvent
from msa.worker.runner import run_once
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


@pytest.mark.django_db
def test_the_tracking_window_closes_on_time_once(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    Incident.objects.filter(pk=incident.pk).update(track_until=NOW + timedelta(hours=2))
    clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    assert run_once()["tracking_windows"] == 0
    clock.advance(timedelta(seconds=1))
    assert run_once()["tracking_windows"] == 1
    assert run_once()["tracking_windows"] == 0
    ended = IncidentEvent.objects.filter(type="alarm.tracking_ended")
    assert ended.count() == 1
