"""The worker's timers on an incident (acknowledgement, backup offer, dispatch, on scene) and
the supervisor's alerts. Each fires once: a second sweep finds it done."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Lane
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.dispatch.models import CentreBackup
from msa.dispatch.services.common import incident_lock
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue
from msa.realtime import events
from msa.realtime.services import incident_event_append

log = logging.getLogger("msa.dispatch")


def ack_target() -> timedelta:
    return timedelta(seconds=settings.MSA_ACK_TARGET_S)


def backup_after() -> timedelta:
    return timedelta(seconds=settings.MSA_BACKUP_OFFER_S)


def dispatch_target() -> timedelta:
    return timedelta(seconds=settings.MSA_DISPATCH_TARGET_S)


def on_scene_target() -> timedelta:
    return timedelta(seconds=settings.MSA_ON_SCENE_TARGET_S)


def _escalated(incident: Incident, kind: str, at: datetime, backup: str = "") -> None:
    audit_record(
        actor=Actor.system("worker"),
        action=f"incident.escalate_{kind}",
        subject=incident,
        new={"kind": kind, "at": at.isoformat(), "backup": backup},
    )
    incident_event_append(
        incident=incident,
        event=events.IncidentEscalated(
            incident=incident.reference, kind=kind, at=at.isoformat(), backup_centre=backup
        ),
    )
    log.warning("incident_escalated incident=%s kind=%s", incident.reference, kind)


def _alert_supervisor(incident: Incident, text: str, actor: Actor, **facts: object) -> None:
    """``text``: marked with gettext_noop, translated here into the recipient's language."""
    recipient = settings.MSA_SUPERVISOR_ALERT_TO or f"supervisor@{incident.centre.code}"
    channel = MessageChannel.SMS if recipient.startswith("+") else MessageChannel.EMAIL
    with in_recipient_language(recipient, incident.centre):
        message_enqueue(
            channel=channel,
            recipient=recipient,
            subject=f"MSA {incident.reference}",
            # the reference and the fact only: no names
            body=gettext(text) % {"reference": incident.reference, **facts},
            actor=actor,
            about=incident,
        )


@transaction.atomic(durable=True)
def incident_ack_escalate(*, incident: Incident, actor: Actor) -> bool:
    """Not acknowledged within the target: alert the supervisor. Idempotent."""
    locked = incident_lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status != IncidentState.RECEIVED
        or locked.ack_escalated_at is not None
        or locked.received_at + ack_target() > now
    ):
        return False
    locked.ack_escalated_at = now
    locked.save(update_fields=["ack_escalated_at"])
    _alert_supervisor(
        locked,
        gettext_noop("%(reference)s: not acknowledged after %(seconds)s s"),
        actor,
        seconds=settings.MSA_ACK_TARGET_S,
    )
    _escalated(locked, "ack", now)
    return True


@transaction.atomic(durable=True)
def incident_backup_offer(*, incident: Incident, actor: Actor) -> bool:
    """Still not acknowledged: offer it to the backup centre too. Idempotent."""
    locked = incident_lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status != IncidentState.RECEIVED
        or locked.backup_offered_at is not None
        or locked.received_at + backup_after() > now
    ):
        return False
    link = CentreBackup.objects.select_related("backup").filter(centre_id=locked.centre_id).first()
    locked.backup_offered_at = now
    fields = ["backup_offered_at"]
    if link is not None:
        locked.backup_centre = link.backup
        fields.append("backup_centre")
    locked.save(update_fields=fields)
    _escalated(locked, "backup", now, link.backup.code if link else "")
    return True


@transaction.atomic(durable=True)
def incident_dispatch_overdue(*, incident: Incident, actor: Actor) -> bool:
    """Acknowledged but no unit sent within the target: alert. Idempotent."""
    locked = incident_lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status != IncidentState.ACKNOWLEDGED
        or locked.dispatch_overdue_at is not None
        or locked.dispatched_at is not None
        or locked.acknowledged_at is None
        or locked.acknowledged_at + dispatch_target() > now
    ):
        return False
    locked.dispatch_overdue_at = now
    locked.save(update_fields=["dispatch_overdue_at"])
    _alert_supervisor(
        locked, gettext_noop("%(reference)s: acknowledged, no unit dispatched"), actor
    )
    _escalated(locked, "dispatch", now)
    return True


@transaction.atomic(durable=True)
def incident_on_scene_breach(*, incident: Incident, actor: Actor) -> bool:
    """No unit on scene within the target after the alarm: mark the breach. Idempotent."""
    locked = incident_lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status
        not in {IncidentState.RECEIVED, IncidentState.ACKNOWLEDGED, IncidentState.DISPATCHED}
        or locked.on_scene_breach_at is not None
        or locked.on_scene_at is not None
        or locked.received_at + on_scene_target() > now
    ):
        return False
    locked.on_scene_breach_at = now
    locked.save(update_fields=["on_scene_breach_at"])
    _escalated(locked, "on_scene", now)
    return True
