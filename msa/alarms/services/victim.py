"""What the victim's phone says after the press (cancel, duress), and a revoked device.

The centre always still sees the incident: the phone never decides for it.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import transaction

from msa.alarms.models import Incident
from msa.alarms.services.tracking import device_incident_lock
from msa.alarms.states import OPEN_STATE_VALUES
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.devices.models import Device
from msa.realtime import events
from msa.realtime.services import incident_event_append
from msa_protocol import CancelPin

log = logging.getLogger("msa.alarms")


@transaction.atomic(durable=True)
def alarm_cancel(
    *, device: Device, alarm_id: uuid.UUID, pin: CancelPin, at: datetime, actor: Actor
) -> Incident:
    """The victim cancels on the phone. The centre always still sees the incident.

    ``normal``: marked cancelled by the victim, the centre decides. ``duress``: the PIN that
    the victim enters when forced to cancel — the incident is escalated at the centre. The
    device's answer does not depend on which (the caller answers both identically).
    """
    incident = device_incident_lock(device, alarm_id)
    now = clock.now()
    if pin == CancelPin.DURESS:
        if incident.duress_at is None:
            incident.duress_at = now
            incident.save(update_fields=["duress_at"])
            audit_record(
                actor=actor,
                action="incident.duress",
                subject=incident,
                new={"at": at.isoformat()},
                at=now,
            )
            incident_event_append(
                incident=incident,
                event=events.AlarmDuress(incident=incident.reference, at=now.isoformat()),
            )
            log.warning("alarm_duress incident=%s", incident.reference)
    elif incident.victim_cancelled_at is None:
        incident.victim_cancelled_at = now
        incident.save(update_fields=["victim_cancelled_at"])
        audit_record(
            actor=actor,
            action="incident.victim_cancelled",
            subject=incident,
            new={"at": at.isoformat()},
            at=now,
        )
        incident_event_append(
            incident=incident,
            event=events.AlarmVictimCancelled(incident=incident.reference, at=now.isoformat()),
        )
    return incident


def incidents_flag_device_revoked(*, device: Device, actor: Actor, now: datetime) -> int:
    """Mark the open incidents of a revoked device (in the caller's transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("incidents_flag_device_revoked runs in the revocation's transaction")
    flagged = 0
    open_states = list(OPEN_STATE_VALUES)
    for incident in (
        Incident.objects.select_for_update(of=("self",))
        .select_related("centre")
        .filter(device=device, status__in=open_states, device_revoked_at__isnull=True)
    ):
        incident.device_revoked_at = now
        incident.save(update_fields=["device_revoked_at"])
        audit_record(
            actor=actor,
            action="incident.device_revoked",
            subject=incident,
            new={"device": device.device_id},
            at=now,
        )
        incident_event_append(
            incident=incident,
            event=events.DeviceRevoked(incident=incident.reference, at=now.isoformat()),
        )
        flagged += 1
    return flagged
