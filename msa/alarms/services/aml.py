"""An AML position of an enrolled victim (docs/interop.md section 1): attached to her case's
open incident, or raising one marked *AML*; always kept apart from the device's own fixes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction

from msa.alarms.models import AmlPosition, Incident
from msa.alarms.services.intake import RaiseOutcome, alarm_raise
from msa.alarms.states import OPEN_STATE_VALUES, Channel, Lane, Trigger
from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.devices.models import Device
from msa.devices.states import DeviceStatus
from msa.realtime import events
from msa.realtime.services import incident_event_append

log = logging.getLogger("msa.alarms")

# A call start or position time further ahead than this is not believed.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlInput:
    lat: float
    lon: float
    radius_m: float | None
    fix_at: datetime | None
    method: str
    confidence_pct: int | None = None
    altitude_m: float | None = None


class AmlOutcome(StrEnum):
    ATTACHED = "attached"  # joined the case's open incident
    RAISED = "raised"  # no incident was open: one was raised, marked AML


@dataclass(frozen=True, slots=True)
class AmlResult:
    outcome: AmlOutcome
    incident: Incident
    position: AmlPosition | None


def _open_incident(case: ProtectionCase) -> Incident | None:
    return (
        Incident.objects.filter(case=case, lane=Lane.LIVE, status__in=list(OPEN_STATE_VALUES))
        .order_by("-received_at")
        .first()
    )


def _case_device(case: ProtectionCase) -> Device | None:
    return (
        Device.objects.filter(case=case, status=DeviceStatus.ACTIVE)
        .order_by("-enrolled_at")
        .first()
    )


def aml_report_attach(
    *,
    case: ProtectionCase,
    position: AmlInput | None,
    shape: str,
    call_at: datetime | None,
    actor: Actor,
) -> AmlResult:
    """Attach one AML report of ``case``'s victim. Without an open live incident one is
    raised through :func:`alarm_raise` (channel ``aml``, no device fix: the AML position is
    stored apart); with one, the AML channel is added to it. A report without a position
    still raises or marks the incident (she called the emergency number)."""
    now = clock.now()
    incident = _open_incident(case)
    outcome = AmlOutcome.ATTACHED
    if incident is None:
        pressed_at = call_at if call_at is not None and call_at <= now + FUTURE_TOLERANCE else now
        raised = alarm_raise(
            device=_case_device(case),
            case=case,
            alarm_id=None,
            # the protocol's trigger list has no "called 112": she acted on her phone herself
            trigger=Trigger.APP,
            pressed_at=pressed_at,
            location=None,
            battery=None,
            call_state=None,
            channel=Channel.AML,
            actor=actor,
        )
        incident = raised.incident
        # Another delivery may have raised it a moment ago (alarm_raise locks and joins it).
        outcome = (
            AmlOutcome.RAISED if raised.outcome == RaiseOutcome.RAISED else AmlOutcome.ATTACHED
        )
    stored = _position_store(incident, position, shape=shape, actor=actor, now=now)
    log.info(
        "aml_attached incident=%s outcome=%s with_position=%s shape=%s",
        incident.reference,
        outcome,
        stored is not None,
        shape,
    )
    return AmlResult(outcome, incident, stored)


@transaction.atomic(durable=True)
def _position_store(
    incident: Incident,
    position: AmlInput | None,
    *,
    shape: str,
    actor: Actor,
    now: datetime,
) -> AmlPosition | None:
    locked = Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)
    added_channel = str(Channel.AML) not in locked.channels
    if added_channel:
        locked.channels = [*locked.channels, str(Channel.AML)]
        locked.save(update_fields=["channels"])
    row = None
    if position is not None and not (position.lat == 0 and position.lon == 0):
        fix_at = position.fix_at
        if fix_at is not None and fix_at > now + FUTURE_TOLERANCE:
            fix_at = None
        row = AmlPosition.objects.create(
            incident=locked,
            lat=position.lat,
            lon=position.lon,
            radius_m=position.radius_m,
            fix_at=fix_at,
            method=position.method[:8],
            confidence_pct=position.confidence_pct,
            altitude_m=position.altitude_m,
            shape=shape[:8],
            received_at=now,
        )
    audit_record(
        actor=actor,
        action="incident.aml_received",
        subject=locked,
        new={"shape": shape, "with_position": row is not None, "channels": locked.channels},
        at=now,
    )
    # The console re-reads the incident on this event; the AML position itself travels only
    # in that audited read, never in the event log (and never as an alarm.located fix).
    incident_event_append(
        incident=locked,
        event=events.AlarmChannelAdded(incident=locked.reference, channel=str(Channel.AML)),
    )
    return row
