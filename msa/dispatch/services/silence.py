"""An active alarm whose device went silent: no position for ``SILENT_AFTER_REPORTS`` report
intervals (MSA_REPORT_INTERVAL_S) while its tracking window is open, once an operator works
it (acknowledged, dispatched, on scene: before that the acknowledgement and backup timers
already escalate it, and a second alert would only add noise). The console marks it
"device silent" by itself (live.js counts the missed fixes); the worker's timer
(``msa.worker.timers.sweep_silent_devices``) escalates it once per silence: an
``IncidentEscalated`` event of kind ``device_silent`` (timeline, the console's tone), the
audit row and a notice to the supervisor. A new position ends the silence; the next one
escalates again."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext

from msa.alarms.models import Incident
from msa.alarms.services.tracking import tracking_open
from msa.alarms.states import IncidentState, Lane
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.dispatch.services.common import incident_lock
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue
from msa.realtime import events
from msa.realtime.models import IncidentEvent
from msa.realtime.services import incident_event_append

log = logging.getLogger("msa.dispatch")

SILENT_KIND = "device_silent"
SILENT_AFTER_REPORTS = 3
WORKED_STATES = (IncidentState.ACKNOWLEDGED, IncidentState.DISPATCHED, IncidentState.ON_SCENE)


def silent_after() -> timedelta:
    return timedelta(seconds=SILENT_AFTER_REPORTS * settings.MSA_REPORT_INTERVAL_S)


def last_contact_at(incident: Incident) -> datetime:
    """The last position's time, or the alarm's arrival when none came."""
    last: datetime | None = incident.fixes.aggregate(last=Max("fix_at"))["last"]
    return max(last, incident.received_at) if last else incident.received_at


@transaction.atomic(durable=True)
def incident_device_silent_escalate(*, incident: Incident, actor: Actor) -> bool:
    """Escalate a worked live alarm whose device sent no position for three report intervals
    while tracking is open. Idempotent: once per silence (an escalation after the last
    position is the mark)."""
    locked = incident_lock(incident)
    now = clock.now()
    if locked.lane != Lane.LIVE or locked.status not in WORKED_STATES:
        return False
    if not tracking_open(locked, now):
        return False
    since = last_contact_at(locked)
    if now - since < silent_after():
        return False
    already = IncidentEvent.objects.filter(
        incident=locked,
        type=events.IncidentEscalated.type,
        payload__kind=SILENT_KIND,
        at__gt=since,
    ).exists()
    if already:
        return False
    silent_s = round((now - since).total_seconds())
    audit_record(
        actor=actor,
        action=f"incident.escalate_{SILENT_KIND}",
        subject=locked,
        new={"kind": SILENT_KIND, "at": now.isoformat(), "silent_s": silent_s},
    )
    incident_event_append(
        incident=locked,
        event=events.IncidentEscalated(
            incident=locked.reference, kind=SILENT_KIND, at=now.isoformat()
        ),
    )
    recipient = settings.MSA_SUPERVISOR_ALERT_TO or f"supervisor@{locked.centre.code}"
    with in_recipient_language(recipient, locked.centre):
        message_enqueue(
            channel=MessageChannel.SMS if recipient.startswith("+") else MessageChannel.EMAIL,
            recipient=recipient,
            subject=f"MSA {locked.reference}",
            body=gettext("%(reference)s: device silent, no position for %(seconds)s s")  # no names
            % {"reference": locked.reference, "seconds": silent_s},
            actor=actor,
            about=locked,
        )
    log.warning("incident_escalated incident=%s kind=%s", locked.reference, SILENT_KIND)
    return True
