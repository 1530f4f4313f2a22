"""Writes about incidents. Every ingest channel ends in ``alarm_raise``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction

from msa.accounts.models import Organisation
from msa.alarms.models import Incident, LocationFix
from msa.alarms.states import (
    INCIDENT_MACHINE,
    OPEN_STATES,
    CallState,
    Channel,
    IncidentState,
    IncidentTransitionName,
    Lane,
    Trigger,
)
from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError, NotFoundError
from msa.core.references import reference_next
from msa.core.transitions import history_start, transition_apply
from msa.devices.models import Device
from msa.realtime import events
from msa.realtime.services import event_append, incident_event_append

log = logging.getLogger("msa.alarms")


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


class RaiseOutcome(StrEnum):
    """What one delivery of a press did: the first to arrive raises, the others join it."""

    RAISED = "raised"  # a new incident
    MERGED = "merged"  # the incident existed; this channel (or the full alarm id) was added
    DUPLICATE = "duplicate"  # nothing new (a repeat, or a replay for a closed incident)


@dataclass(frozen=True, slots=True)
class RaiseResult:
    incident: Incident
    created: bool
    outcome: RaiseOutcome = RaiseOutcome.RAISED


# An SMS and the data alarm of one press share the device and the alarm_ref (the first 8 hex
# digits of alarm_id); they are one press when their press times are this close. Another press
# of the same device whose alarm_id happens to share the 8 hex digits (1 in 4 billion) is
# further apart in time and raises its own incident.
MERGE_WINDOW = timedelta(hours=1)
# protocol.md: "an SMS whose press is older than 10 minutes is raised with its delay shown".
DELAY_NOTICE = timedelta(minutes=10)


def tracking_after_call() -> timedelta:
    return timedelta(seconds=settings.MSA_TRACKING_AFTER_CALL_S)


def tracking_open(incident: Incident, now: datetime) -> bool:
    """Positions are stored during the call and until ``track_until``, never after closing."""
    if incident.status == IncidentState.CLOSED:
        return False
    return incident.track_until is None or now <= incident.track_until


def alarm_delay_s(incident: Incident) -> int | None:
    """Seconds between the press and its arrival when over 10 minutes (shown prominently)."""
    delay = incident.received_at - incident.pressed_at
    return int(delay.total_seconds()) if delay > DELAY_NOTICE else None


def _position(fix: LocationFix) -> events.Position:
    return events.Position(
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        fix_at=fix.fix_at.isoformat(),
        source=fix.source,
    )


def _fix_row(incident: Incident, fix: FixInput, channel: Channel, now: datetime) -> LocationFix:
    return LocationFix(
        incident=incident,
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        fix_at=fix.fix_at,
        source=fix.source,
        speed_mps=fix.speed_mps,
        heading_deg=fix.heading_deg,
        altitude_m=fix.altitude_m,
        channel=str(channel),
        received_at=now,
    )


def _centre_of(case: ProtectionCase | None, label: str) -> Organisation:
    if case is None:
        raise ConfigurationError(f"device {label} is not linked to a case")
    centre = case.police_zone.covered_by
    if centre is None:
        raise ConfigurationError(f"police zone {case.police_zone.code} has no dispatch centre")
    return centre


def _same_press(
    *,
    device: Device | None,
    case: ProtectionCase,
    alarm_id: uuid.UUID | None,
    alarm_ref: str,
    pressed_at: datetime,
) -> Incident | None:
    """The incident this delivery belongs to, if another channel brought it first."""
    if device is not None and alarm_id is not None:
        exact = Incident.objects.filter(device=device, alarm_id=alarm_id).first()
        if exact is not None:
            return exact
    if not alarm_ref:
        return None
    try:
        earliest, latest = pressed_at - MERGE_WINDOW, pressed_at + MERGE_WINDOW
    except OverflowError:  # a press time at the edge of the calendar: no other channel matches
        return None
    candidates = Incident.objects.filter(
        case=case,
        alarm_ref=alarm_ref,
        pressed_at__gte=earliest,
        pressed_at__lte=latest,
    )
    if device is not None:
        candidates = candidates.filter(device=device)
    if alarm_id is not None:
        candidates = candidates.filter(alarm_id__isnull=True)  # another full id: another press
    return candidates.order_by("-received_at").first()


@transaction.atomic(durable=True)
def alarm_raise(
    *,
    device: Device | None,
    alarm_id: uuid.UUID | None,
    trigger: Trigger,
    pressed_at: datetime,
    location: FixInput | None,
    battery: BatteryInput | None,
    call_state: CallState | None,
    channel: Channel,
    actor: Actor,
    alarm_ref: str | None = None,
    case: ProtectionCase | None = None,
    unverified_reason: str = "",
) -> RaiseResult:
    """Raise the incident of one press, or join the one already raised for it.

    Every channel ends here. One press is one incident whichever channel arrives first: the
    data alarm is matched by ``(device, alarm_id)``, an SMS by ``(device, alarm_ref)`` within
    :data:`MERGE_WINDOW` of the press. A later channel is added to ``channels`` (MERGED); a
    repeat adds nothing (DUPLICATE); a closed incident is never reopened nor changed (DUPLICATE,
    logged). ``case`` is needed only without a device (an unverified SMS from the enrolled
    phone number of a case whose device is unknown).

    Writes the incident, its first position, its history, its audit row and its event in
    one transaction; consoles are told after the commit. The device (or case) row is locked so
    that two deliveries of the same press cannot both create an incident.
    """
    if device is not None:
        device = (
            Device.objects.select_for_update(of=("self",))
            .select_related("case__police_zone__covered_by")
            .get(pk=device.pk)
        )
        case = device.case
        label = device.device_id
    elif case is not None:
        case = (
            ProtectionCase.objects.select_for_update(of=("self",))
            .select_related("police_zone__covered_by")
            .get(pk=case.pk)
        )
        label = f"of case {case.reference}"
    else:
        raise ValueError("alarm_raise needs a device or a case")
    centre = _centre_of(case, label)
    assert case is not None  # checked by _centre_of
    ref = alarm_id.hex[:8] if alarm_id is not None else (alarm_ref or "")
    now = clock.now()
    existing = _same_press(
        device=device, case=case, alarm_id=alarm_id, alarm_ref=ref, pressed_at=pressed_at
    )
    if existing is not None:
        return _join(
            existing,
            alarm_id=alarm_id,
            location=location,
            call_state=call_state,
            channel=channel,
            actor=actor,
            now=now,
        )

    zone = case.police_zone
    lane = Lane.TEST if trigger == Trigger.TEST else Lane.LIVE
    call = call_state or CallState.NONE
    track_until = (
        None
        if call in {CallState.DIALING, CallState.RINGING, CallState.ANSWERED}
        else now + tracking_after_call()
    )
    incident = Incident.objects.create(
        reference=reference_next(zone.code, now.year),
        centre=centre,
        case=case,
        device=device,
        alarm_id=alarm_id,
        alarm_ref=ref,
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
        unverified_reason=unverified_reason,
    )
    first_fix = None
    if location is not None and location.is_fix:
        first_fix = _fix_row(incident, location, channel, now)
        first_fix.save()
    history_start(
        INCIDENT_MACHINE,
        incident,
        transition=IncidentTransitionName.RAISE,
        actor=actor,
        at=now,
    )
    delay_s = alarm_delay_s(incident)
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
            "delay_s": delay_s,
            "unverified_reason": unverified_reason or None,
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
            delay_s=delay_s,
            unverified_reason=unverified_reason or None,
            call_state=str(call),
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
    return RaiseResult(incident, created=True, outcome=RaiseOutcome.RAISED)


def _join(
    existing: Incident,
    *,
    alarm_id: uuid.UUID | None,
    location: FixInput | None,
    call_state: CallState | None,
    channel: Channel,
    actor: Actor,
    now: datetime,
) -> RaiseResult:
    """A second delivery of a press: add what it brings, never reopen a closed incident."""
    incident = Incident.objects.select_for_update().get(pk=existing.pk)
    if incident.status == IncidentState.CLOSED:
        log.warning(
            "alarm_replay_for_closed_incident incident=%s channel=%s", incident.reference, channel
        )
        return RaiseResult(incident, created=False, outcome=RaiseOutcome.DUPLICATE)
    changed: list[str] = []
    added_channel = str(channel) not in incident.channels
    if added_channel:
        incident.channels = [*incident.channels, str(channel)]
        changed.append("channels")
    if alarm_id is not None and incident.alarm_id is None:
        incident.alarm_id = alarm_id
        changed.append("alarm_id")
    ghost = call_state == CallState.GHOST and incident.call_state in {
        CallState.NONE,
        CallState.DIALING,
        CallState.RINGING,
    }
    if ghost:
        incident.call_state = CallState.GHOST
        incident.call_ended_at = incident.call_ended_at or now
        incident.track_until = now + tracking_after_call()
        changed += ["call_state", "call_ended_at", "track_until"]
    elif (
        call_state in {CallState.DIALING, CallState.RINGING}
        and incident.call_state == CallState.NONE
    ):
        incident.call_state = call_state  # the data alarm says a call is under way
        incident.track_until = None
        changed += ["call_state", "track_until"]
    if changed:
        incident.save(update_fields=changed)
    if (
        location is not None
        and location.is_fix
        and tracking_open(incident, now)
        and not incident.fixes.filter(fix_at=location.fix_at).exists()
    ):
        fix = _fix_row(incident, location, channel, now)
        fix.save()
        incident_event_append(
            incident=incident,
            event=events.AlarmLocated(incident=incident.reference, positions=[_position(fix)]),
        )
    if not changed:
        return RaiseResult(incident, created=False, outcome=RaiseOutcome.DUPLICATE)
    audit_record(
        actor=actor,
        action="incident.channel_added",
        subject=incident,
        new={"channel": str(channel), "channels": incident.channels, "ghost": ghost},
        at=now,
    )
    if added_channel:
        incident_event_append(
            incident=incident,
            event=events.AlarmChannelAdded(incident=incident.reference, channel=str(channel)),
        )
    if ghost:
        _call_event(incident)
    log.info("alarm_merged incident=%s channel=%s", incident.reference, channel)
    return RaiseResult(incident, created=False, outcome=RaiseOutcome.MERGED)


def _call_event(incident: Incident) -> None:
    incident_event_append(
        incident=incident,
        event=events.AlarmCallChanged(
            incident=incident.reference,
            call_state=str(incident.call_state),
            track_until=incident.track_until.isoformat() if incident.track_until else None,
        ),
    )


def _incident_of(device: Device, alarm_id: uuid.UUID) -> Incident:
    """This device's incident for ``alarm_id``, locked; NotFoundError for any other id."""
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("centre")
        .filter(device=device, alarm_id=alarm_id)
        .first()
    )
    if incident is None:
        raise NotFoundError("no such alarm for this device")
    return incident


@dataclass(frozen=True, slots=True)
class LocationsResult:
    accepted: int
    tracking: bool
    track_until: datetime | None


@transaction.atomic(durable=True)
def alarm_locations_add(
    *, device: Device, alarm_id: uuid.UUID, fixes: Sequence[FixInput], actor: Actor
) -> LocationsResult:
    """Store the positions of an alarm while its tracking window is open.

    Outside the window nothing is stored and ``tracking`` is False. A fix whose ``fix_at``
    the incident already has is stored once. ``accepted`` counts the distinct real fixes of
    this request that the centre now holds (stored now or by an earlier delivery of the same
    batch), so a retried request gets the same answer; fixes at (0, 0) are not counted.
    """
    incident = _incident_of(device, alarm_id)
    now = clock.now()
    if not tracking_open(incident, now):
        return LocationsResult(accepted=0, tracking=False, track_until=incident.track_until)
    by_time: dict[datetime, FixInput] = {}
    for fix in fixes:
        if fix.is_fix:
            by_time.setdefault(fix.fix_at, fix)
    if by_time:
        held = set(
            LocationFix.objects.filter(incident=incident, fix_at__in=list(by_time)).values_list(
                "fix_at", flat=True
            )
        )
        new = [
            _fix_row(incident, fix, Channel.DATA, now)
            for at, fix in by_time.items()
            if at not in held
        ]
        if new:
            LocationFix.objects.bulk_create(new, ignore_conflicts=True)
            incident_event_append(
                incident=incident,
                event=events.AlarmLocated(
                    incident=incident.reference, positions=[_position(f) for f in new]
                ),
            )
    return LocationsResult(accepted=len(by_time), tracking=True, track_until=incident.track_until)


@transaction.atomic(durable=True)
def alarm_call_report(
    *, device: Device, alarm_id: uuid.UUID, event: CallState, at: datetime, actor: Actor
) -> Incident:
    """The phone reports its emergency call. ``ended`` without ``answered`` is a ghost call.

    Tracking runs during the call and for MSA_TRACKING_AFTER_CALL_S after it ended (from the
    moment the phone says it ended, never later than now). Late or repeated reports that would
    move the call backwards are ignored.
    """
    incident = _incident_of(device, alarm_id)
    now = clock.now()
    at = min(at, now)
    state = CallState(incident.call_state)
    finished = {CallState.ENDED, CallState.GHOST}
    changed: list[str] = []
    if event in {CallState.DIALING, CallState.RINGING}:
        if state in {CallState.NONE, CallState.DIALING} and state != event:
            incident.call_state = event
            incident.track_until = None
            changed += ["call_state", "track_until"]
    elif event == CallState.ANSWERED:
        if state not in finished and state != CallState.ANSWERED:
            incident.call_state = CallState.ANSWERED
            incident.call_answered_at = at
            incident.track_until = None
            changed += ["call_state", "call_answered_at", "track_until"]
    elif event == CallState.ENDED:
        if state not in finished:
            answered = state == CallState.ANSWERED or incident.call_answered_at is not None
            incident.call_state = CallState.ENDED if answered else CallState.GHOST
            incident.call_ended_at = at
            incident.track_until = at + tracking_after_call()
            changed += ["call_state", "call_ended_at", "track_until"]
    else:
        raise ValueError(f"not a call event: {event}")
    if changed:
        incident.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="incident.call",
            subject=incident,
            old={"call_state": str(state)},
            new={"call_state": str(incident.call_state), "at": at.isoformat()},
            at=now,
        )
        _call_event(incident)
        if incident.call_state == CallState.GHOST:
            log.warning("ghost_call incident=%s", incident.reference)
    return incident


class CancelPin(StrEnum):
    NORMAL = "normal"
    DURESS = "duress"


@transaction.atomic(durable=True)
def alarm_cancel(
    *, device: Device, alarm_id: uuid.UUID, pin: CancelPin, at: datetime, actor: Actor
) -> Incident:
    """The victim cancels on the phone. The centre always still sees the incident.

    ``normal``: marked cancelled by the victim, the centre decides. ``duress``: the PIN that
    the victim enters when forced to cancel — the incident is escalated at the centre. The
    device's answer does not depend on which (the caller answers both identically).
    """
    incident = _incident_of(device, alarm_id)
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
    open_states = [str(s) for s in OPEN_STATES]
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


@transaction.atomic(durable=True)
def incident_acknowledge(*, incident: Incident, actor: Actor) -> Incident:
    """The operator takes the incident. Of two operators at once, exactly one wins."""
    updated = transition_apply(
        INCIDENT_MACHINE,
        incident,
        IncidentTransitionName.ACKNOWLEDGE,
        actor=actor,
    )
    incident_event_append(
        incident=updated,
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
    incident_event_append(
        incident=locked,
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
