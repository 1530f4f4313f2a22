"""Positions of an alarm and its tracking window (during the call and for a while after)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from msa.alarms.models import Incident, LocationFix, RepeatPress
from msa.alarms.selectors import TRACKED_INCIDENT
from msa.alarms.states import Channel, IncidentState
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import NotFoundError
from msa.core.sql import Statement, concrete, inserting, placeholders
from msa.devices.models import Device
from msa.realtime import events
from msa.realtime.models import EventStream
from msa.realtime.services import (
    appending_after,
    incident_event_append,
    incident_event_append_after,
    incident_event_append_at_once,
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


def tracking_after_call() -> timedelta:
    return timedelta(seconds=settings.MSA_TRACKING_AFTER_CALL_S)


def tracking_closed(incident: Incident, now: datetime) -> bool:
    """The window ran out: from then on nothing (a late call report, a retry) reopens it."""
    return incident.track_until is not None and now > incident.track_until


def tracking_open(incident: Incident, now: datetime) -> bool:
    """Positions are stored during the call and until ``track_until``, never after closing."""
    if incident.status == IncidentState.CLOSED:
        return False
    return incident.track_until is None or now <= incident.track_until


def fix_position(fix: LocationFix | FixInput) -> events.Position:
    return events.Position(
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        fix_at=fix.fix_at.isoformat(),
        source=fix.source,
    )


# What a stored fix takes of its FixInput, under the same names.
_FIX_FIELDS = (
    "lat",
    "lon",
    "accuracy_m",
    "fix_at",
    "source",
    "speed_mps",
    "heading_deg",
    "altitude_m",
)

# A position every 10 s of every live incident: prepared once (msa.core.sql). The unique
# (incident, fix_at) makes a fix delivered twice a no-op, and RETURNING says which were new.
_INSERT_FIX = inserting(
    LocationFix,
    ("incident", *_FIX_FIELDS, "channel", "received_at"),
    on_conflict="({incident}, {fix_at}) DO NOTHING",
)


# PostgreSQL: a position of one fix (every 10 s of every live incident) stores it and, when it
# is new, appends its event in one statement, one round trip (msa.realtime.services).
_FIX_COLUMNS = ("incident", *_FIX_FIELDS, "channel", "received_at")
_INSERT_FIX_INTO = (
    "INSERT INTO {fix} (" + ", ".join("{fix." + name + "}" for name in _FIX_COLUMNS) + ")"
)
_FIX_UNLESS_HELD = " ON CONFLICT ({fix.incident}, {fix.fix_at}) DO NOTHING RETURNING 1"
_FIX_THEN_EVENT = appending_after(
    _INSERT_FIX_INTO + f" VALUES ({placeholders(len(_FIX_COLUMNS))})" + _FIX_UNLESS_HELD,
    writes=[f"fix.{name}" for name in _FIX_COLUMNS],
    others={"fix": LocationFix},
)


def fix_row(incident: Incident, fix: FixInput, channel: Channel, now: datetime) -> LocationFix:
    values = {name: getattr(fix, name) for name in _FIX_FIELDS}
    return LocationFix(incident=incident, **values, channel=str(channel), received_at=now)


def _fix_stored(incident_id: int, fix: FixInput, now: datetime) -> bool:
    """:func:`fix_row` stored (a fix sent over data), from its values: no model instance for a
    row nobody reads back. False when the incident holds a fix of that time already."""
    values = (getattr(fix, name) for name in _FIX_FIELDS)
    return _INSERT_FIX.one(incident_id, *values, str(Channel.DATA), now) is not None


# PostgreSQL, a position of one fix for an incident that only its own centre follows (every
# 10 s of every live incident): the incident read without a lock, then the fix and its event in
# one statement that is its own transaction, stored only if, under the incident's row lock
# taken by that statement, the incident is still as read (its status, window and centre) and
# its centre's stream exists. Three round trips where the transaction took five (BEGIN, the
# lock, the write, COMMIT): docs/performance.md, step 27. When a condition does not hold,
# nothing is written and the position goes the locked way.
_INCIDENT_AS_READ = (
    " WHERE EXISTS (SELECT 1 FROM {guard} WHERE {guard.id} = %s"
    " AND {guard.status} = %s AND {guard.track_until} IS NOT DISTINCT FROM %s"
    " AND {guard.centre} = %s AND {guard.backup_centre} IS NULL FOR UPDATE)"
    " AND EXISTS (SELECT 1 FROM {stream} WHERE {stream.centre} = %s)"
)
_GUARDED_FIX_THEN_EVENT = appending_after(
    _INSERT_FIX_INTO
    + f" SELECT {placeholders(len(_FIX_COLUMNS))}"
    + _INCIDENT_AS_READ
    + _FIX_UNLESS_HELD,
    writes=[
        *(f"fix.{name}" for name in _FIX_COLUMNS),
        "guard.id",
        "guard.status",
        "guard.track_until",
        "guard.centre",
        "stream.centre",
    ],
    others={"fix": LocationFix, "guard": Incident, "stream": EventStream},
)


# Every follow-up of an alarm (positions every 10 s, call, cancel) starts here: prepared once
# (msa.core.sql). The incident's row is locked to commit on PostgreSQL.
_BY_DEVICE_ALARM = "FROM {table} WHERE {device} = %s AND {alarm_id} = %s{for_update}"
_DEVICE_INCIDENT_LOCKED = Statement(
    Incident,
    "SELECT {all} " + _BY_DEVICE_ALARM,
    writes=["device", "alarm_id"],
    reads=concrete(Incident),
)


def device_incident_lock(device: Device, alarm_id: uuid.UUID) -> Incident:
    """This device's incident for ``alarm_id``, locked; NotFoundError for any other id.

    The alarm id of a repeat press names the incident it joined."""
    incident = _DEVICE_INCIDENT_LOCKED.instance(device.pk, alarm_id)
    return incident if incident is not None else _repeat_incident_lock(device, alarm_id)


def _repeat_incident_lock(device: Device, alarm_id: uuid.UUID) -> Incident:
    """The incident a repeat press of ``alarm_id`` joined, locked; NotFoundError if none."""
    repeat = (
        RepeatPress.objects.filter(device=device, alarm_id=alarm_id)
        .values_list("incident_id", flat=True)
        .first()
    )
    incident = (
        Incident.objects.select_for_update().filter(pk=repeat).first()
        if repeat is not None
        else None
    )
    if incident is None:
        raise NotFoundError("no such alarm for this device")
    return incident


# A position needs of its incident only what says whether tracking is open and where its
# event goes: six columns of forty (each date of the others parsed for nothing, every 10 s of
# every live incident). The other fields are deferred: reading one would cost a query, which
# the hot path's statement count test catches.
_TRACKED_INCIDENT_LOCKED = Statement(
    Incident,
    "SELECT {pk}, {reference}, {centre}, {backup_centre}, {status}, {track_until} "
    + _BY_DEVICE_ALARM,
    writes=["device", "alarm_id"],
    reads=["id", "reference", "centre", "backup_centre", "status", "track_until"],
)


def _tracked_incident_lock(device: Device, alarm_id: uuid.UUID) -> Incident:
    """:func:`device_incident_lock`, reading only what :func:`alarm_locations_add` needs."""
    incident = _TRACKED_INCIDENT_LOCKED.instance(device.pk, alarm_id)
    return incident if incident is not None else _repeat_incident_lock(device, alarm_id)


@dataclass(frozen=True, slots=True)
class LocationsResult:
    accepted: int
    tracking: bool
    track_until: datetime | None


def alarm_locations_add(
    *,
    device: Device,
    alarm_id: uuid.UUID,
    fixes: Sequence[FixInput],
    actor: Actor,
    seen: Incident | None = None,
) -> LocationsResult:
    """Store the positions of an alarm while its tracking window is open, in a transaction
    of its own (a durable one, or the one statement of :func:`_one_fix_at_once`).

    Outside the window nothing is stored and ``tracking`` is False. A fix whose ``fix_at``
    the incident already has is stored once. ``accepted`` counts the distinct real fixes of
    this request that the centre now holds (stored now or by an earlier delivery of the same
    batch), so a retried request gets the same answer; fixes at (0, 0) are not counted.

    ``seen``: the incident of ``alarm_id`` as the caller read it just before, without a lock
    (``msa.alarms.selectors.tracked_incident_of``): trusted for nothing but saving that read,
    every decision is taken again under the incident's lock.
    """
    done = _one_fix_at_once(device, alarm_id, fixes, seen)
    if done is not None:
        return done
    return _locations_add_locked(device=device, alarm_id=alarm_id, fixes=fixes, actor=actor)


def _one_fix_at_once(
    device: Device, alarm_id: uuid.UUID, fixes: Sequence[FixInput], seen: Incident | None
) -> LocationsResult | None:
    """PostgreSQL, outside any transaction, one real fix for an incident in its window that
    only its own centre follows: stored with its event by ``_GUARDED_FIX_THEN_EVENT``. None:
    nothing was written (another backend, another kind of position, or a guard that did not
    hold: the incident changed since it was read, a fix of that time is there already, the
    centre has no stream yet): :func:`_locations_add_locked` answers."""
    conn = transaction.get_connection()
    if conn.vendor != "postgresql" or conn.in_atomic_block:
        return None
    real = [fix for fix in fixes if fix.is_fix]
    if not real or any(fix.fix_at != real[0].fix_at for fix in real):
        return None
    incident = seen
    if incident is None or incident.alarm_id != alarm_id or incident.device_id != device.pk:
        incident = TRACKED_INCIDENT.instance(device.pk, alarm_id)
    now = clock.now()
    if incident is None or incident.backup_centre_id or not tracking_open(incident, now):
        return None
    fix = real[0]
    stored = incident_event_append_at_once(
        _GUARDED_FIX_THEN_EVENT,
        incident.pk,
        *(getattr(fix, name) for name in _FIX_FIELDS),
        str(Channel.DATA),
        now,
        incident.pk,
        incident.status,
        incident.track_until,
        incident.centre_id,
        incident.centre_id,
        incident=incident,
        event=_located(incident, [fix]),
    )
    if not stored:
        return None
    return LocationsResult(accepted=1, tracking=True, track_until=incident.track_until)


@transaction.atomic(durable=True)
def _locations_add_locked(
    *, device: Device, alarm_id: uuid.UUID, fixes: Sequence[FixInput], actor: Actor
) -> LocationsResult:
    """:func:`alarm_locations_add` in a transaction, the incident locked to its commit."""
    incident = _tracked_incident_lock(device, alarm_id)
    now = clock.now()
    if not tracking_open(incident, now):
        return LocationsResult(accepted=0, tracking=False, track_until=incident.track_until)
    by_time: dict[datetime, FixInput] = {}
    for fix in fixes:
        if fix.is_fix:
            by_time.setdefault(fix.fix_at, fix)
    if len(by_time) == 1:
        (fix,) = by_time.values()
        values = (getattr(fix, name) for name in _FIX_FIELDS)
        stored = incident_event_append_after(
            _FIX_THEN_EVENT,
            incident.pk,
            *values,
            str(Channel.DATA),
            now,
            incident=incident,
            event=_located(incident, [fix]),
        )
        if stored is not None:
            return LocationsResult(accepted=1, tracking=True, track_until=incident.track_until)
    # One statement per fix: stored unless the incident holds a fix of that time already.
    new = [fix for fix in by_time.values() if _fix_stored(incident.pk, fix, now)]
    if new:
        incident_event_append(incident=incident, event=_located(incident, new))
    return LocationsResult(accepted=len(by_time), tracking=True, track_until=incident.track_until)


def _located(incident: Incident, fixes: Sequence[FixInput]) -> events.AlarmLocated:
    return events.AlarmLocated(
        incident=incident.reference, positions=[fix_position(fix) for fix in fixes]
    )


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
