"""Intake: every ingest channel ends in ``alarm_raise``; one press is one incident."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from msa.accounts.models import Organisation
from msa.alarms.models import Incident, RepeatPress
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
    OPEN_STATE_VALUES,
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
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError
from msa.core.references import reference_next
from msa.core.sql import JoinedRead, Statement, concrete, insert_rows, placeholders
from msa.core.transitions import history_first
from msa.devices.models import Device
from msa.devices.states import DeviceStatus
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue
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
    REPEAT = "repeat"  # another press while the device's incident was open: joined it
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
# Repeat presses are counted over this window for the supervisor's alert.
REPEAT_ALERT_WINDOW = timedelta(minutes=1)
# How serious a trigger is: a retry never lowers what the centre holds.
TRIGGER_RANK = {Trigger.TEST: 0, Trigger.BUTTON: 1, Trigger.APP: 1, Trigger.DURESS: 2}


def alarm_delay_s(incident: Incident) -> int | None:
    """Seconds between the press and its arrival when over 10 minutes (shown prominently)."""
    delay = incident.received_at - incident.pressed_at
    return int(delay.total_seconds()) if delay > DELAY_NOTICE else None


# Every data press starts here: the device locked (PostgreSQL; SQLite has one writer), with its
# case, the case's zone and the zone's centre, in one statement prepared once (msa.core.sql).
# Through the ORM the joined query cost more to build than to run; four statements one by one
# cost three round trips more.
_DEVICE_LOCKED: JoinedRead[Device] = JoinedRead(
    {"d": Device, "c": ProtectionCase, "z": Organisation, "cic": Organisation},
    "SELECT {d.all}, {c.all}, {z.all}, {cic.all} FROM {d} "
    "LEFT JOIN {c} ON {c.id} = {d.case} "
    "LEFT JOIN {z} ON {z.id} = {c.police_zone} "
    "LEFT JOIN {cic} ON {cic.id} = {z.covered_by} "
    "WHERE {d.id} = %s{for_update}",
    values=1,
)


def _device_locked(pk: int) -> Device:
    """The device row locked to commit, with its case, zone and centre loaded (what
    :func:`_centre_of` and the incident need)."""
    rows = _DEVICE_LOCKED.read(pk)
    if rows is None:
        raise Device.DoesNotExist(f"device {pk}")
    device, case, zone, centre = rows["d"], rows["c"], rows["z"], rows["cic"]
    assert isinstance(device, Device)
    if not isinstance(case, ProtectionCase):  # no case: _centre_of refuses it
        return device
    assert isinstance(zone, Organisation)  # a case's zone is a foreign key
    zone.covered_by = centre  # type: ignore[assignment] # an Organisation, or None
    case.police_zone = zone
    device.case = case
    return device


def _centre_of(case: ProtectionCase | None, label: str) -> Organisation:
    if case is None:
        raise ConfigurationError(f"device {label} is not linked to a case")
    centre = case.police_zone.covered_by
    if centre is None:
        raise ConfigurationError(f"police zone {case.police_zone.code} has no dispatch centre")
    return centre


@dataclass(frozen=True, slots=True)
class _Match:
    incident: Incident
    repeat: RepeatPress | None = None  # matched a repeat press joined to the incident
    exact: bool = False  # matched by the full alarm_id: a retry of the same request


def _same_press(
    *,
    device: Device | None,
    case: ProtectionCase,
    alarm_id: uuid.UUID | None,
    alarm_ref: str,
    pressed_at: datetime,
) -> _Match | None:
    """The incident this delivery belongs to, if another channel brought it first (or it
    joined an incident as a repeat press)."""
    if device is not None and alarm_id is not None:
        exact = Incident.objects.filter(device=device, alarm_id=alarm_id).first()
        if exact is not None:
            return _Match(exact, exact=True)
        repeat = (
            RepeatPress.objects.select_related("incident")
            .filter(device=device, alarm_id=alarm_id)
            .first()
        )
        if repeat is not None:
            return _Match(repeat.incident, repeat, exact=True)
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
    repeats = RepeatPress.objects.select_related("incident").filter(
        incident__case=case, alarm_ref=alarm_ref, pressed_at__gte=earliest, pressed_at__lte=latest
    )
    if device is not None:
        candidates = candidates.filter(device=device)
        repeats = repeats.filter(device=device)
    if alarm_id is not None:
        candidates = candidates.filter(alarm_id__isnull=True)  # another full id: another press
        repeats = repeats.filter(alarm_id__isnull=True)
    incident = candidates.order_by("-received_at").first()
    if incident is not None:
        return _Match(incident)
    repeat = repeats.order_by("-received_at").first()
    return _Match(repeat.incident, repeat) if repeat is not None else None


@dataclass(frozen=True, slots=True)
class _Lookup:
    """What the press matched, and the device's open live incidents where they were read in
    the same statement (a data press; ``None``: not read), of which a press that matches
    nothing joins the newest."""

    match: _Match | None
    open_live: list[Incident] | None = None


def _press_match(
    *,
    device: Device | None,
    case: ProtectionCase,
    alarm_id: uuid.UUID | None,
    alarm_ref: str,
    pressed_at: datetime,
) -> _Lookup:
    """:func:`_same_press`; for a press with its full alarm id in two statements instead of
    four, the device's open live incident read with it (:func:`_same_data_press`: every data
    press is on the hot path)."""
    if device is not None and alarm_id is not None and alarm_ref:
        try:
            earliest, latest = pressed_at - MERGE_WINDOW, pressed_at + MERGE_WINDOW
        except OverflowError:  # the calendar's edge: _same_press matches it exactly only
            pass
        else:
            found = _SAME_DATA_PRESS.instances_and(
                alarm_id,
                case.pk,
                alarm_ref,
                earliest,
                latest,
                Lane.LIVE,
                *OPEN_STATE_VALUES,
                device.pk,
            )
            match = _same_data_press(
                [incident for incident, (matched, _) in found if matched],
                device=device,
                case=case,
                alarm_id=alarm_id,
                alarm_ref=alarm_ref,
                earliest=earliest,
                latest=latest,
            )
            return _Lookup(match, [incident for incident, (_, live) in found if live])
    return _Lookup(
        _same_press(
            device=device, case=case, alarm_id=alarm_id, alarm_ref=alarm_ref, pressed_at=pressed_at
        )
    )


# Every data press asks these first (prepared once: msa.core.sql): the incidents, then the
# repeat presses, of this device that are this press exactly (its alarm id) or by its ref
# within the merge window (a fallback SMS of it, which carries no alarm id).
_SAME_DATA_PRESS = Statement(
    Incident,
    # the device's incidents that are this press (``matched``) or open and live: a press that
    # matches nothing joins the newest of those (_open_incident), read in the same round trip
    "SELECT {all}, matched, open_live FROM (SELECT {all}, ({alarm_id} = %s OR ({case} = %s "  # noqa: S608 - field names checked by Statement, placeholders
    "AND {alarm_ref} = %s AND {pressed_at} >= %s AND {pressed_at} <= %s "
    "AND {alarm_id} IS NULL)) AS matched, ({lane} = %s AND {status} IN "
    f"({placeholders(len(OPEN_STATE_VALUES))})) AS open_live FROM {{table}} "
    "WHERE {device} = %s) AS mine WHERE matched OR open_live",
    writes=[
        "alarm_id",
        "case",
        "alarm_ref",
        "pressed_at",
        "pressed_at",
        "lane",
        *["status"] * len(OPEN_STATE_VALUES),
        "device",
    ],
    reads=concrete(Incident),
)
_SAME_DATA_REPEAT = Statement(
    RepeatPress,
    "SELECT {all} FROM {table} WHERE {device} = %s AND ({alarm_id} = %s OR ("
    "{alarm_ref} = %s AND {pressed_at} >= %s AND {pressed_at} <= %s AND {alarm_id} IS NULL "
    "AND {incident} IN (SELECT {incidents.id} FROM {incidents} WHERE {incidents.case} = %s)))",
    writes=["device", "alarm_id", "alarm_ref", "pressed_at", "pressed_at", None],
    reads=concrete(RepeatPress),
    others={"incidents": Incident},
)
_DEVICE_OPEN_LIVE = Statement(
    Incident,
    "SELECT {all} FROM {table} WHERE {device} = %s AND {lane} = %s AND {status} IN "  # noqa: S608 - placeholders only
    f"({placeholders(len(OPEN_STATE_VALUES))}) ORDER BY {{received_at}} DESC LIMIT 1",
    writes=["device", "lane", *["status"] * len(OPEN_STATE_VALUES)],
    reads=concrete(Incident),
)


def _same_data_press(
    incidents: list[Incident],
    *,
    device: Device,
    case: ProtectionCase,
    alarm_id: uuid.UUID,
    alarm_ref: str,
    earliest: datetime,
    latest: datetime,
) -> _Match | None:
    """:func:`_same_press` for a press with its full alarm id, given ``incidents``, the
    device's that match it exactly or by its ref within the window: then the repeat presses
    that do; the same precedence as there (an exact incident, an exact repeat, the newest
    incident by ref, then repeat)."""
    exact = [i for i in incidents if i.alarm_id == alarm_id]
    if exact:
        return _Match(min(exact, key=lambda i: i.pk), exact=True)
    repeats = _SAME_DATA_REPEAT.instances(device.pk, alarm_id, alarm_ref, earliest, latest, case.pk)
    exact_repeats = [r for r in repeats if r.alarm_id == alarm_id]
    if exact_repeats:
        repeat = min(exact_repeats, key=lambda r: r.pk)
        return _Match(repeat.incident, repeat, exact=True)
    if incidents:
        return _Match(max(incidents, key=lambda i: (i.received_at, i.pk)))
    if repeats:
        repeat = max(repeats, key=lambda r: (r.received_at, r.pk))
        return _Match(repeat.incident, repeat)
    return None


def _open_incident(
    *,
    device: Device | None,
    case: ProtectionCase,
    channel: Channel,
    trigger: Trigger,
    lookup: _Lookup,
) -> Incident | None:
    """The open live incident a new press joins as a repeat press: the device's own (read
    with the press's match when ``lookup`` holds it), or, for an unverified SMS from the
    victim's number, the case's. Test presses always raise their own incident (the test
    lane), and never join a live one."""
    if trigger == Trigger.TEST:
        return None
    if channel != Channel.UNVERIFIED_SMS and device is not None:  # every data press
        if lookup.open_live is not None:  # read with the match: the newest, as below
            return max(lookup.open_live, key=lambda i: (i.received_at, i.pk), default=None)
        return _DEVICE_OPEN_LIVE.instance(device.pk, Lane.LIVE.value, *OPEN_STATE_VALUES)
    open_live = Incident.objects.filter(status__in=OPEN_STATE_VALUES, lane=Lane.LIVE, case=case)
    return open_live.order_by("-received_at").first()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Flags:
    """What the centre must be shown about the press's origin (never a reason to drop it)."""

    device_revoked: bool
    case_ended: bool


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
        device = _device_locked(device.pk)
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
    flags = _Flags(
        device_revoked=device is not None and device.status == DeviceStatus.REVOKED,
        case_ended=case.status == CaseState.ENDED,
    )
    lookup = _press_match(
        device=device, case=case, alarm_id=alarm_id, alarm_ref=ref, pressed_at=pressed_at
    )
    if lookup.match is not None:
        return _join(
            lookup.match,
            alarm_id=alarm_id,
            trigger=trigger,
            location=location,
            call_state=call_state,
            channel=channel,
            actor=actor,
            now=now,
        )
    joined = _open_incident(
        device=device, case=case, channel=channel, trigger=trigger, lookup=lookup
    )
    if joined is not None:
        return _repeat_press(
            joined,
            device=device,
            alarm_id=alarm_id,
            alarm_ref=ref,
            trigger=trigger,
            pressed_at=pressed_at,
            location=location,
            channel=channel,
            flags=flags,
            actor=actor,
            now=now,
        )

    zone = case.police_zone
    lane = Lane.TEST if trigger == Trigger.TEST else Lane.LIVE
    if case.is_probe:  # the centre's path-monitoring probe (msa.worker.probe)
        lane = Lane.PROBE
    call = call_state or CallState.NONE
    track_until = None if call in CALL_ONGOING else now + tracking_after_call()
    incident = Incident(
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
        device_revoked_at=now if flags.device_revoked else None,
        case_ended_at=now if flags.case_ended else None,
    )
    first_fix = None
    if location is not None and location.is_fix:
        first_fix = fix_row(incident, location, channel, now)
    # The zone's reference counter is locked from here to the commit: on PostgreSQL the
    # incident, its first position and its first transitions are one statement.
    insert_rows(
        incident,
        *([(first_fix, "incident")] if first_fix is not None else []),
        (
            history_first(
                INCIDENT_MACHINE,
                incident,
                transition=IncidentTransitionName.RAISE,
                actor=actor,
                at=now,
            ),
            "subject",
        ),
        (
            history_first(
                CALL_MACHINE, incident, transition=CallTransitionName.RAISE, actor=actor, at=now
            ),
            "subject",
        ),
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
            "flags": incident.flags or None,
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
            flags=incident.flags or None,
        ),
    )
    log.info(
        "alarm_raised incident=%s channel=%s trigger=%s lane=%s flags=%s delay_ms=%d",
        incident.reference,
        channel,
        trigger,
        lane,
        ",".join(incident.flags) or "-",
        max(0, int((now - pressed_at).total_seconds() * 1000)),
    )
    return RaiseResult(incident, created=True, outcome=RaiseOutcome.RAISED)


def _fix_add(
    incident: Incident, location: FixInput | None, channel: Channel, now: datetime
) -> None:
    """Store the position a delivery brings, while the tracking window is open."""
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


def _trigger_raise(incident: Incident, trigger: Trigger, *, actor: Actor, now: datetime) -> None:
    """A later delivery says the press is more serious than stored: the centre takes the more
    serious (a test becomes live, anything becomes duress); nothing is ever lowered."""
    changed: list[str] = []
    if trigger != Trigger.TEST and incident.lane == Lane.TEST:
        incident.lane = Lane.LIVE
        changed.append("lane")
    duress = trigger == Trigger.DURESS and incident.duress_at is None
    if duress:
        incident.duress_at = now
        changed.append("duress_at")
    if not changed:
        return
    incident.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="incident.trigger_raised",
        subject=incident,
        new={"trigger": str(trigger), "lane": str(incident.lane), "duress": duress},
        at=now,
    )
    if duress:
        incident_event_append(
            incident=incident,
            event=events.AlarmDuress(incident=incident.reference, at=now.isoformat()),
        )
        log.warning("alarm_duress incident=%s", incident.reference)


def _retry_differs(
    incident: Incident, stored: str, trigger: Trigger, *, actor: Actor, now: datetime
) -> None:
    """A retry of the same alarm id with another trigger: flagged for the operator; a more
    serious trigger raises the incident, a less serious one changes nothing else."""
    if incident.retry_differs_at is None:
        incident.retry_differs_at = now
        incident.save(update_fields=["retry_differs_at"])
    audit_record(
        actor=actor,
        action="incident.retry_differs",
        subject=incident,
        old={"trigger": stored},
        new={"trigger": str(trigger)},
        at=now,
    )
    incident_event_append(
        incident=incident,
        event=events.AlarmRetryDiffers(
            incident=incident.reference, stored=stored, received=str(trigger), at=now.isoformat()
        ),
    )
    log.warning(
        "alarm_retry_differs incident=%s stored=%s received=%s", incident.reference, stored, trigger
    )
    if TRIGGER_RANK[trigger] > TRIGGER_RANK[Trigger(stored)]:
        _trigger_raise(incident, trigger, actor=actor, now=now)


def _join(
    match: _Match,
    *,
    alarm_id: uuid.UUID | None,
    trigger: Trigger,
    location: FixInput | None,
    call_state: CallState | None,
    channel: Channel,
    actor: Actor,
    now: datetime,
) -> RaiseResult:
    """A second delivery of a press: add what it brings, never reopen a closed incident,
    never lower what is stored."""
    incident = Incident.objects.select_for_update().get(pk=match.incident.pk)
    if incident.status == IncidentState.CLOSED:
        log.warning(
            "alarm_replay_for_closed_incident incident=%s channel=%s", incident.reference, channel
        )
        return RaiseResult(incident, created=False, outcome=RaiseOutcome.DUPLICATE)
    stored = match.repeat.trigger if match.repeat is not None else incident.trigger
    # An SMS carries the trigger too: any delivery of the press that says otherwise is flagged.
    retry_differs = stored != str(trigger)
    if retry_differs:
        _retry_differs(incident, stored, trigger, actor=actor, now=now)
    changed: list[str] = []
    added_channel = str(channel) not in incident.channels
    if added_channel:
        incident.channels = [*incident.channels, str(channel)]
        changed.append("channels")
    if match.repeat is not None:
        if alarm_id is not None and match.repeat.alarm_id is None:
            match.repeat.alarm_id = alarm_id
            match.repeat.save(update_fields=["alarm_id"])
    elif alarm_id is not None and incident.alarm_id is None:
        incident.alarm_id = alarm_id
        changed.append("alarm_id")
    # A fallback SMS says the call dropped (a ghost call); a data alarm after an SMS says a
    # call is under way. Either moves the call only through its machine, and never reopens a
    # tracking window that has closed (call_changes).
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
    _fix_add(incident, location, channel, now)
    if not changed:
        outcome = RaiseOutcome.MERGED if retry_differs else RaiseOutcome.DUPLICATE
        return RaiseResult(incident, created=False, outcome=outcome)
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


def _repeat_press(
    open_incident: Incident,
    *,
    device: Device | None,
    alarm_id: uuid.UUID | None,
    alarm_ref: str,
    trigger: Trigger,
    pressed_at: datetime,
    location: FixInput | None,
    channel: Channel,
    flags: _Flags,
    actor: Actor,
    now: datetime,
) -> RaiseResult:
    """Another press while the incident is open: joined to it, counted, on its timeline.

    Its alarm id names the incident from now on (the phone's follow-ups of that press find
    it); a duress press raises the incident to duress; more than
    ``MSA_REPEAT_PRESS_ALERT_PER_MIN`` presses in a minute alert the supervisor once."""
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("centre")
        .get(pk=open_incident.pk)
    )
    RepeatPress.objects.create(
        incident=incident,
        device=device,
        alarm_id=alarm_id,
        alarm_ref=alarm_ref,
        trigger=trigger,
        channel=str(channel),
        pressed_at=pressed_at,
        received_at=now,
    )
    count = incident.repeat_presses.count()
    late: list[str] = []
    if flags.device_revoked and incident.device_revoked_at is None:
        incident.device_revoked_at = now
        late.append("device_revoked_at")
    if flags.case_ended and incident.case_ended_at is None:
        incident.case_ended_at = now
        late.append("case_ended_at")
    if late:
        incident.save(update_fields=late)
    audit_record(
        actor=actor,
        action="incident.repeat_press",
        subject=incident,
        new={"channel": str(channel), "trigger": str(trigger), "count": count},
        at=now,
    )
    incident_event_append(
        incident=incident,
        event=events.AlarmRepeatPress(
            incident=incident.reference,
            channel=str(channel),
            trigger=str(trigger),
            at=now.isoformat(),
            count=count,
        ),
    )
    _trigger_raise(incident, trigger, actor=actor, now=now)
    _fix_add(incident, location, channel, now)
    _repeat_alert(incident, device=device, actor=actor, now=now)
    log.info(
        "alarm_repeat_press incident=%s channel=%s count=%d", incident.reference, channel, count
    )
    return RaiseResult(incident, created=True, outcome=RaiseOutcome.REPEAT)


def _repeat_alert(
    incident: Incident, *, device: Device | None, actor: Actor, now: datetime
) -> None:
    """More than N presses within a minute: the supervisor is alerted, once per incident."""
    if incident.repeat_alerted_at is not None:
        return
    since = now - REPEAT_ALERT_WINDOW
    presses = incident.repeat_presses.filter(received_at__gte=since).count()
    presses += 1 if incident.received_at >= since else 0
    if presses <= settings.MSA_REPEAT_PRESS_ALERT_PER_MIN:
        return
    incident.repeat_alerted_at = now
    incident.save(update_fields=["repeat_alerted_at"])
    recipient = settings.MSA_SUPERVISOR_ALERT_TO or f"supervisor@{incident.centre.code}"
    with in_recipient_language(recipient, incident.centre):
        message_enqueue(
            channel=MessageChannel.SMS if recipient.startswith("+") else MessageChannel.EMAIL,
            recipient=recipient,
            subject=f"MSA {incident.reference}",
            # the reference and the fact only: no names
            body=gettext("%(reference)s: %(presses)s presses within a minute")
            % {"reference": incident.reference, "presses": presses},
            actor=actor,
            about=incident,
        )
    audit_record(
        actor=actor,
        action="incident.escalate_repeat_presses",
        subject=incident,
        new={"presses": presses, "device": device.device_id if device else None},
        at=now,
    )
    incident_event_append(
        incident=incident,
        event=events.IncidentEscalated(
            incident=incident.reference, kind="repeat_presses", at=now.isoformat()
        ),
    )
    log.warning("incident_escalated incident=%s kind=repeat_presses", incident.reference)
