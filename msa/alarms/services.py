"""Writes about incidents. Every ingest channel ends in ``alarm_raise``."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from msa.accounts.models import Organisation
from msa.alarms.models import Incident, IncidentTransition, LocationFix
from msa.alarms.states import (
    INCIDENT_MILESTONES,
    INCIDENT_TABLE,
    CallState,
    Channel,
    IncidentState,
    IncidentTransitionName,
    Lane,
    Trigger,
)
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError
from msa.core.references import reference_next
from msa.core.transitions import StateMachine, history_start, transition_apply
from msa.devices.models import Device
from msa.realtime import events
from msa.realtime.services import event_append

log = logging.getLogger("msa.alarms")

INCIDENT_MACHINE: StateMachine[IncidentState, IncidentTransitionName] = StateMachine(
    name="incident",
    states=IncidentState,
    table=INCIDENT_TABLE,
    history_model=IncidentTransition,
    milestones=INCIDENT_MILESTONES,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FixInput:
    lat: float
    lon: float
    accuracy_m: float
    fix_at: datetime
    source: str
    speed_mps: float | None = None
    heading_deg: float | None = None
    altitude_m: float | None = None

    @property
    def is_fix(self) -> bool:
        """A fix at exactly (0, 0) is what phones send when they have none."""
        return not (self.lat == 0 and self.lon == 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatteryInput:
    phone_pct: int | None
    button_pct: int | None


@dataclass(frozen=True, slots=True)
class RaiseResult:
    incident: Incident
    created: bool


def tracking_after_call() -> timedelta:
    return timedelta(seconds=settings.MSA_TRACKING_AFTER_CALL_S)


def _position(fix: LocationFix) -> events.Position:
    return events.Position(
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        fix_at=fix.fix_at.isoformat(),
        source=fix.source,
    )


def _centre_of(device: Device) -> Organisation:
    case = device.case
    if case is None:
        raise ConfigurationError(f"device {device.device_id} is not linked to a case")
    centre = case.police_zone.covered_by
    if centre is None:
        raise ConfigurationError(f"police zone {case.police_zone.code} has no dispatch centre")
    return centre


@transaction.atomic(durable=True)
def alarm_raise(
    *,
    device: Device,
    alarm_id: uuid.UUID,
    trigger: Trigger,
    pressed_at: datetime,
    location: FixInput | None,
    battery: BatteryInput | None,
    call_state: CallState | None,
    channel: Channel,
    actor: Actor,
) -> RaiseResult:
    """Raise the incident of one press, or return the one already raised for it.

    Writes the incident, its first position, its history, its audit row and its event in
    one transaction; consoles are told after the commit. The device row is locked so
    that two deliveries of the same press cannot both create an incident.
    """
    device = (
        Device.objects.select_for_update(of=("self",))
        .select_related("case__police_zone__covered_by")
        .get(pk=device.pk)
    )
    existing = Incident.objects.filter(device=device, alarm_id=alarm_id).first()
    if existing is not None:
        return RaiseResult(existing, created=False)

    now = clock.now()
    centre = _centre_of(device)
    assert device.case is not None  # checked by _centre_of
    zone = device.case.police_zone
    lane = Lane.TEST if trigger == Trigger.TEST else Lane.LIVE
    call = call_state or CallState.NONE
    track_until = (
        None if call in {CallState.DIALING, CallState.RINGING} else now + (tracking_after_call())
    )
    incident = Incident.objects.create(
        reference=reference_next(zone.code, now.year),
        centre=centre,
        case=device.case,
        device=device,
        alarm_id=alarm_id,
        alarm_ref=alarm_id.hex[:8],
        trigger=trigger,
        lane=lane,
        status=IncidentState.RECEIVED,
        channels=[str(channel)],
        call_state=call,
        pressed_at=pressed_at,
        received_at=now,
        track_until=track_until,
        phone_battery_pct=battery.phone_pct if battery else None,
        button_battery_pct=battery.button_pct if battery else None,
    )
    first_fix = None
    if location is not None and location.is_fix:
        first_fix = LocationFix.objects.create(
            incident=incident,
            lat=location.lat,
            lon=location.lon,
            accuracy_m=location.accuracy_m,
            fix_at=location.fix_at,
            source=location.source,
            speed_mps=location.speed_mps,
            heading_deg=location.heading_deg,
            altitude_m=location.altitude_m,
            channel=str(channel),
            received_at=now,
        )
    history_start(
        INCIDENT_MACHINE,
        incident,
        transition=IncidentTransitionName.RAISE,
        actor=actor,
        at=now,
    )
    audit_record(
        actor=actor,
        action="incident.raise",
        subject=incident,
        new={
            "reference": incident.reference,
            "trigger": str(trigger),
            "lane": str(lane),
            "channel": str(channel),
            "with_position": first_fix is not None,
        },
        at=now,
    )
    event_append(
        centre=centre,
        incident_id=incident.pk,
        event=events.AlarmRaised(
            incident=incident.reference,
            lane=str(lane),
            trigger=str(trigger),
            channel=str(channel),
            status=str(incident.status),
            received_at=now.isoformat(),
            pressed_at=pressed_at.isoformat(),
            position=_position(first_fix) if first_fix else None,
        ),
    )
    log.info(
        "alarm_raised incident=%s channel=%s trigger=%s lane=%s delay_ms=%d",
        incident.reference,
        channel,
        trigger,
        lane,
        max(0, int((now - pressed_at).total_seconds() * 1000)),
    )
    return RaiseResult(incident, created=True)


@transaction.atomic(durable=True)
def incident_acknowledge(*, incident: Incident, actor: Actor) -> Incident:
    """The operator takes the incident. Of two operators at once, exactly one wins."""
    updated = transition_apply(
        INCIDENT_MACHINE,
        incident,
        IncidentTransitionName.ACKNOWLEDGE,
        actor=actor,
    )
    event_append(
        centre=updated.centre,
        incident_id=updated.pk,
        event=events.IncidentStateChanged(
            incident=updated.reference,
            transition=str(IncidentTransitionName.ACKNOWLEDGE),
            status=str(updated.status),
            actor=actor.label,
        ),
    )
    return updated


@transaction.atomic(durable=True)
def tracking_window_close(*, incident: Incident, actor: Actor) -> bool:
    """Mark the end of tracking for an incident whose window has run out. Idempotent."""
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    now = clock.now()
    if locked.track_until is None or locked.track_until > now:
        return False
    if locked.events.filter(type=events.TrackingEnded.type).exists():
        return False
    audit_record(
        actor=actor,
        action="incident.tracking_ended",
        subject=locked,
        new={"track_until": locked.track_until.isoformat()},
    )
    event_append(
        centre=locked.centre,
        incident_id=locked.pk,
        event=events.TrackingEnded(incident=locked.reference, at=locked.track_until.isoformat()),
    )
    return True


@transaction.atomic
def incident_dossier_open(*, incident: Incident, actor: Actor, reason: str = "") -> None:
    """Record that ``actor`` read the dossier of ``incident`` (victim, suspect, order)."""
    audit_record(
        actor=actor,
        action="dossier.read",
        subject=incident.case,
        new={"incident": incident.reference},
        reason=reason or f"open incident {incident.reference}",
    )
