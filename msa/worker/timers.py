"""The incident timers: acknowledgement, backup offer, dispatch, on-scene target, and the
silent device of an active alarm.

Each sweep reads candidates without a lock, claims each with SKIP LOCKED (so that two
workers do not wait on each other) and calls one idempotent service that locks and checks
again: running a sweep twice, or on two workers at once, acts once.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce

from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Lane
from msa.core import clock
from msa.core.actors import Actor
from msa.dispatch.services import escalation, silence

WORKER = Actor.system("worker")
BATCH = 200


def _run(candidates: QuerySet[Incident], act: Callable[..., bool]) -> int:
    done = 0
    for pk in list(candidates.values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            claimed = Incident.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if claimed is None:
            continue  # another worker has it right now
        if act(incident=claimed, actor=WORKER):
            done += 1
    return done


def sweep_ack_escalations() -> int:
    due = clock.now() - escalation.ack_target()
    return _run(
        Incident.objects.filter(
            lane=Lane.LIVE,
            status=IncidentState.RECEIVED,
            ack_escalated_at__isnull=True,
            received_at__lte=due,
        ).order_by("received_at"),
        escalation.incident_ack_escalate,
    )


def sweep_backup_offers() -> int:
    due = clock.now() - escalation.backup_after()
    return _run(
        Incident.objects.filter(
            lane=Lane.LIVE,
            status=IncidentState.RECEIVED,
            backup_offered_at__isnull=True,
            received_at__lte=due,
        ).order_by("received_at"),
        escalation.incident_backup_offer,
    )


def sweep_dispatch_overdue() -> int:
    due = clock.now() - escalation.dispatch_target()
    return _run(
        Incident.objects.filter(
            lane=Lane.LIVE,
            status=IncidentState.ACKNOWLEDGED,
            dispatch_overdue_at__isnull=True,
            dispatched_at__isnull=True,
            acknowledged_at__lte=due,
        ).order_by("acknowledged_at"),
        escalation.incident_dispatch_overdue,
    )


def sweep_on_scene_breaches() -> int:
    due = clock.now() - escalation.on_scene_target()
    return _run(
        Incident.objects.filter(
            lane=Lane.LIVE,
            status__in=[
                IncidentState.RECEIVED,
                IncidentState.ACKNOWLEDGED,
                IncidentState.DISPATCHED,
            ],
            on_scene_breach_at__isnull=True,
            on_scene_at__isnull=True,
            received_at__lte=due,
        ).order_by("received_at"),
        escalation.incident_on_scene_breach,
    )


def sweep_silent_devices() -> int:
    """Worked live alarms, tracking, with no position for three report intervals."""
    now = clock.now()
    return _run(
        Incident.objects.filter(lane=Lane.LIVE, status__in=[str(s) for s in silence.WORKED_STATES])
        .exclude(track_until__lt=now)
        .annotate(last_contact=Coalesce(Max("fixes__fix_at"), "received_at"))
        .filter(last_contact__lte=now - silence.silent_after())
        .order_by("last_contact"),
        silence.incident_device_silent_escalate,
    )
