"""The incident's emergency call: its state changes only through ``CALL_MACHINE``.

The phone reports ``dialing``, ``ringing``, ``answered`` and ``ended``; ``ended`` without
``answered`` is a ghost call, and so is a fallback SMS that says the call dropped. A report
that the table refuses (late, repeated or backwards) changes nothing: the phone gets the same
answer as for the first delivery.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction

from msa.alarms.models import Incident
from msa.alarms.services.tracking import (
    device_incident_lock,
    tracking_after_call,
    tracking_closed,
)
from msa.alarms.states import CALL_MACHINE, CallState, CallTransitionName, call_transition_for
from msa.core import clock
from msa.core.actors import Actor
from msa.core.transitions import transition_apply
from msa.devices.models import Device
from msa.realtime import events
from msa.realtime.services import incident_event_append

log = logging.getLogger("msa.alarms")

CALL_EVENTS_REPORTED = frozenset(
    {CallState.DIALING, CallState.RINGING, CallState.ANSWERED, CallState.ENDED}
)


def call_changes(
    incident: Incident, transition: CallTransitionName, at: datetime
) -> dict[str, Any]:
    """The fields a call transition writes with the new state: the call's times and the end
    of tracking (none while the call is on; MSA_TRACKING_AFTER_CALL_S after it ended).

    A tracking window that has closed stays closed: a late ``dialing`` or ``ended`` moves the
    call but not ``track_until``."""
    changes: dict[str, Any]
    if transition == CallTransitionName.ANSWER:
        changes = {"call_answered_at": at, "track_until": None}
    elif transition in {CallTransitionName.END, CallTransitionName.END_UNANSWERED}:
        changes = {
            "call_ended_at": incident.call_ended_at or at,
            "track_until": at + tracking_after_call(),
        }
    else:
        changes = {"track_until": None}
    if tracking_closed(incident, clock.now()):
        del changes["track_until"]
    return changes


def call_transition_apply(
    incident: Incident, transition: CallTransitionName, *, actor: Actor, at: datetime
) -> Incident:
    """Apply one allowed call transition in the caller's transaction; return the updated row."""
    updated = transition_apply(
        CALL_MACHINE,
        incident,
        transition,
        actor=actor,
        changes=call_changes(incident, transition, at),
    )
    if updated.call_state == CallState.GHOST:
        log.warning("ghost_call incident=%s", updated.reference)
    return updated


def call_event_append(incident: Incident) -> None:
    """Tell the consoles the call state and the end of tracking."""
    incident_event_append(
        incident=incident,
        event=events.AlarmCallChanged(
            incident=incident.reference,
            call_state=str(incident.call_state),
            track_until=incident.track_until.isoformat() if incident.track_until else None,
        ),
    )


@transaction.atomic(durable=True)
def alarm_call_report(
    *, device: Device, alarm_id: uuid.UUID, event: CallState, at: datetime, actor: Actor
) -> Incident:
    """The phone reports its emergency call. ``ended`` without ``answered`` is a ghost call.

    Tracking runs during the call and for MSA_TRACKING_AFTER_CALL_S after it ended (from the
    moment the phone says it ended, never later than now). Late or repeated reports that would
    move the call backwards are ignored.
    """
    if event not in CALL_EVENTS_REPORTED:
        raise ValueError(f"not a call event: {event}")
    incident = device_incident_lock(device, alarm_id)
    at = min(at, clock.now())
    transition = call_transition_for(event, incident.call_state)
    if transition is None:
        return incident
    updated = call_transition_apply(incident, transition, actor=actor, at=at)
    call_event_append(updated)
    return updated
