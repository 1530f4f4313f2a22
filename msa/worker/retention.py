"""Retention of operational records (the slow loop's ``ops_retention`` sweep), beside the
anonymisation of ended cases (``msa.alarms.retention``).

Each kind is kept for its own number of days (``MSA_RETAIN_*_DAYS``, docs/operations.md):

- unit positions, by the time they were received;
- the live event log of an incident closed that long ago; its ``alarm.tracking_ended`` event
  stays, because the tracking-window sweep reads it to know the window was already closed;
- outbound messages that were sent, or became dead letters, that long ago (pending ones stay);
- rejected inbound SMS (accepted ones are the record of an alarm and stay with it);
- heartbeat rows of workers that stopped a day ago.

Deletes run in batches, each in its own short transaction with an audit row of the counts, so
that the sweep never holds a lock for long and a stop halfway loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction

from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.dispatch.models import UnitPosition
from msa.ingest.models import InboundSms, SmsResult
from msa.messaging.models import MessageStatus, OutboundMessage
from msa.realtime.events import TrackingEnded
from msa.realtime.models import IncidentEvent
from msa.worker.models import ProbeRound, WorkerHeartbeat

log = logging.getLogger("msa.worker")

RETENTION_ACTOR = Actor.system("retention")
BATCH = 1000
MAX_BATCHES = 20  # per kind and run: the rest waits for the next run
HEARTBEAT_KEEP = timedelta(days=1)
PROBE_ROUNDS_KEEP = timedelta(days=90)


def _due(kind: str) -> models.QuerySet[models.Model]:
    cutoff = clock.now() - timedelta(days=settings.MSA_RETAIN_DAYS[kind])
    querysets: dict[str, Callable[[], models.QuerySet[models.Model]]] = {
        "unit_positions": lambda: UnitPosition.objects.filter(received_at__lt=cutoff),
        "event_log": lambda: IncidentEvent.objects.filter(incident__closed_at__lt=cutoff).exclude(
            type=TrackingEnded.type
        ),
        "messages": lambda: OutboundMessage.objects.filter(
            models.Q(status=MessageStatus.SENT, sent_at__lt=cutoff)
            | models.Q(status=MessageStatus.FAILED, created_at__lt=cutoff)
        ),
        "rejected_sms": lambda: InboundSms.objects.filter(
            result=SmsResult.REJECTED, received_at__lt=cutoff
        ),
    }
    return querysets[kind]()


@transaction.atomic(durable=True)
def _purge_batch(kind: str) -> int:
    queryset = _due(kind)
    pks = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH])
    if not pks:
        return 0
    deleted, _ = queryset.model._default_manager.filter(pk__in=pks).delete()
    audit_record(
        actor=RETENTION_ACTOR,
        action="retention.purge",
        subject_type=queryset.model._meta.label,
        new={"kind": kind, "deleted": deleted},
        reason=f"retention period of {settings.MSA_RETAIN_DAYS[kind]} days",
    )
    return len(pks)


def ops_retention_run() -> int:
    """Delete what is past its retention period; the number of rows deleted."""
    total = 0
    for kind in settings.MSA_RETAIN_DAYS:
        deleted = 0
        for _ in range(MAX_BATCHES):
            done = _purge_batch(kind)
            deleted += done
            if done < BATCH:
                break
        if deleted:
            log.info("retention_purged kind=%s deleted=%d", kind, deleted)
        total += deleted
    stale, _ = WorkerHeartbeat.objects.filter(beat_at__lt=clock.now() - HEARTBEAT_KEEP).delete()
    # the path probe's rounds (their incidents follow the incidents' own retention)
    rounds, _ = ProbeRound.objects.filter(sent_at__lt=clock.now() - PROBE_ROUNDS_KEEP).delete()
    return total + stale + rounds
