"""Retention of operational records: unit positions, the event log of closed incidents,
sent and dead messages, rejected SMS; each after its own period, nothing younger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from msa.alarms.models import Incident
from msa.audit.models import AuditEntry
from msa.core.clock import Clock
from msa.dispatch.models import Unit, UnitPosition
from msa.ingest.models import InboundSms
from msa.messaging.models import OutboundMessage
from msa.realtime.models import IncidentEvent
from msa.worker.models import WorkerHeartbeat
from msa.worker.retention import ops_retention_run
from msa.worker.sweeps import SWEEPS, sweep_tracking_windows
from tests.support.factories import press

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)
DAYS = {"unit_positions": 90, "event_log": 400, "messages": 180, "rejected_sms": 30}


def _position(unit: Unit, at: datetime) -> UnitPosition:
    return UnitPosition.objects.create(
        unit=unit, lat=51.0, lon=3.7, fix_at=at, source="avl", received_at=at
    )


def _message(status: str, at: datetime) -> OutboundMessage:
    return OutboundMessage.objects.create(
        channel="sms",
        recipient="+32470000000",
        body="x",
        status=status,
        attempts=1,
        created_at=at,
        next_attempt_at=at,
        sent_at=at if status == "sent" else None,
    )


def _sms(result: str, at: datetime, n: int) -> InboundSms:
    return InboundSms.objects.create(
        gateway="gw",
        message_id=f"m{n}",
        gateway_received_at=at,
        received_at=at,
        result=result,
    )


@pytest.mark.django_db
@override_settings(MSA_RETAIN_DAYS=DAYS)
def test_each_kind_goes_after_its_own_period_and_nothing_younger(demo: None, clock: Clock) -> None:
    clock.freeze(NOW - timedelta(days=500))
    old_incident = press(victim=1, at=clock.now(), number=1).incident
    Incident.objects.filter(pk=old_incident.pk).update(
        status="closed", closed_at=clock.now(), track_until=clock.now()
    )
    assert sweep_tracking_windows() == 1  # its tracking_ended event
    clock.freeze(NOW)
    recent = press(victim=2, at=NOW, number=1).incident
    Incident.objects.filter(pk=recent.pk).update(status="closed", closed_at=NOW)
    unit = Unit.objects.first()
    assert unit is not None
    UnitPosition.objects.all().delete()
    OutboundMessage.objects.all().delete()
    InboundSms.objects.all().delete()
    old_pos = _position(unit, NOW - timedelta(days=91))
    new_pos = _position(unit, NOW - timedelta(days=89))
    old_sent = _message("sent", NOW - timedelta(days=181))
    old_dead = _message("failed", NOW - timedelta(days=181))
    old_pending = _message("pending", NOW - timedelta(days=181))
    new_sent = _message("sent", NOW - timedelta(days=179))
    old_rejected = _sms("rejected", NOW - timedelta(days=31), 1)
    old_raised = _sms("raised", NOW - timedelta(days=31), 2)
    new_rejected = _sms("rejected", NOW - timedelta(days=29), 3)
    WorkerHeartbeat.objects.create(
        worker="gone:1:fast", loop="fast", started_at=NOW, beat_at=NOW - timedelta(days=2)
    )
    WorkerHeartbeat.objects.create(worker="here:1:fast", loop="fast", started_at=NOW, beat_at=NOW)
    old_events = IncidentEvent.objects.filter(incident=old_incident).count()
    recent_events = IncidentEvent.objects.filter(incident=recent).count()
    assert old_events >= 2

    assert ops_retention_run() == 1 + (old_events - 1) + 2 + 1 + 1

    assert set(UnitPosition.objects.values_list("pk", flat=True)) == {new_pos.pk}
    assert old_pos.pk not in set(UnitPosition.objects.values_list("pk", flat=True))
    kept = set(OutboundMessage.objects.values_list("pk", flat=True))
    assert kept == {old_pending.pk, new_sent.pk}
    assert {old_sent.pk, old_dead.pk}.isdisjoint(kept)
    assert set(InboundSms.objects.values_list("pk", flat=True)) == {old_raised.pk, new_rejected.pk}
    assert old_rejected.pk not in set(InboundSms.objects.values_list("pk", flat=True))
    assert list(
        IncidentEvent.objects.filter(incident=old_incident).values_list("type", flat=True)
    ) == ["alarm.tracking_ended"]
    assert IncidentEvent.objects.filter(incident=recent).count() == recent_events
    assert list(WorkerHeartbeat.objects.values_list("worker", flat=True)) == ["here:1:fast"]
    purges = AuditEntry.objects.filter(action="retention.purge")
    assert {e.new["kind"] for e in purges} == set(DAYS)

    # the window's marker stayed: the tracking sweep does not close the window again
    assert sweep_tracking_windows() == 0
    assert ops_retention_run() == 0


def test_the_sweep_runs_in_the_slow_loop() -> None:
    assert {s.name: s.loop for s in SWEEPS}["ops_retention"] == "slow"
