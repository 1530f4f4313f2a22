"""Intake: every ingest channel ends in ``alarm_raise``; one press is one incident."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.db import transaction

from msa.accounts.models import Organisation
from msa.alarms.models import Incident
from msa.alarms.services.call import call_event_append, call_transition_apply
from msa.alarms.services.tracking import (
    FixInput,
    fix_position,
    fix_row,
    tracking_after_call,
    tracking_open,
)
from msa.alarms.states import (
    CALL_MACHINE,
    CALL_ONGOING,
    INCIDENT_MACHINE,
    CallState,
    CallTransitionName,
    Channel,
    IncidentState,
    IncidentTransitionName,
    Lane,
    Trigger,
    call_transition_for,
)
from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError
from msa.core.references import reference_next
from msa.core.transitions import history_start
from msa.devices.models import Device
from msa.realtime import events
from msa.realtime.services import event_append, incident_event_append

log = logging.getLogger("msa.alarms")


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


def alarm_delay_s(incident: Incident) -> int | None:
    """Seconds between the press and its arrival when over 10 minutes (shown prominently)."""
    delay = incident.received_at - incident.pressed_at
    return int(delay.total_seconds()) if delay > DELAY_NOTICE else None


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
    track_until = None if call in CALL_ONGOING else now + tracking_after_call()
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
        first_fix = fix_row(incident, location, channel, now)
        first_fix.save()
    history_start(
        INCIDENT_MACHINE,
        incident,
        transition=IncidentTransitionName.RAISE,
        actor=actor,
        at=now,
    )
    history_start(CALL_MACHINE, incident, transition=CallTransitionName.RAISE, actor=actor, at=now)
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
            position=fix_position(first_fix) if first_fix else None,
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
    # A fallback SMS says the call dropped (a ghost call); a data alarm after an SMS says a
    # call is under way. Either moves the call only through its machine.
    call = None
    if call_state == CallState.GHOST or (
        call_state in {CallState.DIALING, CallState.RINGING}
        and incident.call_state == CallState.NONE
    ):
        call = call_transition_for(call_state, incident.call_state)
    ghost = call == CallTransitionName.END_UNANSWERED
    if changed:
        incident.save(update_fields=changed)
    if call is not None:
        incident = call_transition_apply(incident, call, actor=actor, at=now)
        changed.append("call_state")
    if (
        location is not None
        and location.is_fix
        and tracking_open(incident, now)
        and not incident.fixes.filter(fix_at=location.fix_at).exists()
    ):
        fix = fix_row(incident, location, channel, now)
        fix.save()
        incident_event_append(
            incident=incident,
            event=events.AlarmLocated(incident=incident.reference, positions=[fix_position(fix)]),
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
        call_event_append(incident)
    log.info("alarm_merged incident=%s channel=%s", incident.reference, channel)
    return RaiseResult(incident, created=False, outcome=RaiseOutcome.MERGED)
