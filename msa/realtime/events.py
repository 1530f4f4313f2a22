"""Typed live events. Each is a frozen dataclass; its wire form is ``to_wire()``.

Payloads name incidents by reference and carry operational facts only (state, channel,
position): never a name, an address or a phone number. A console that needs the dossier
asks for it through an audited, scoped view.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Any, ClassVar

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` for what events hold (text, numbers, None, lists and positions),
    without its deep copy of every value: the events are frozen, their strings immutable."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if is_dataclass(value):
        cls = type(value)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(value))
        return {name: _plain(getattr(value, name)) for name in names}
    raise TypeError(f"an event holds no {type(value).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    type: ClassVar[str]
    incident: str  # the human reference, e.g. GNT-2026-00042

    def data(self) -> dict[str, Any]:
        """The event's fields as JSON values (what ``dataclasses.asdict`` gives)."""
        result: dict[str, Any] = _plain(self)
        return result


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    lat: float
    lon: float
    accuracy_m: float
    fix_at: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRaised(Event):
    type: ClassVar[str] = "alarm.raised"
    lane: str
    trigger: str
    channel: str
    status: str
    received_at: str
    pressed_at: str
    position: Position | None
    # Seconds from the press to its arrival when over 10 minutes (a late SMS): shown
    # prominently; None otherwise.
    delay_s: int | None = None
    # Why an SMS alarm could not be verified (bad_mac, missing_mac, ...): None when verified.
    unverified_reason: str | None = None
    call_state: str = "none"
    # What the operator must weigh before acting: device_revoked, case_ended (None: nothing).
    flags: list[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmChannelAdded(Event):
    type: ClassVar[str] = "alarm.channel_added"
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmLocated(Event):
    type: ClassVar[str] = "alarm.located"
    positions: list[Position]


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentStateChanged(Event):
    type: ClassVar[str] = "incident.state_changed"
    transition: str
    status: str
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackingEnded(Event):
    type: ClassVar[str] = "alarm.tracking_ended"
    at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentNoted(Event):
    type: ClassVar[str] = "incident.noted"
    note_id: int
    actor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitDispatched(Event):
    type: ClassVar[str] = "unit.dispatched"
    dispatch_id: int
    unit: str  # call sign
    eta_s: int | None
    status: str  # the incident's


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchProgressed(Event):
    type: ClassVar[str] = "dispatch.progressed"
    dispatch_id: int
    unit: str
    transition: str
    dispatch_status: str
    status: str  # the incident's


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeRecorded(Event):
    type: ClassVar[str] = "incident.outcome"
    outcome: str
    violence_before_arrival: bool | None
    victim_injured: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentEscalated(Event):
    """A timer ran out: ack (supervisor alerted), backup (offered), dispatch, on_scene."""

    type: ClassVar[str] = "incident.escalated"
    kind: str
    at: str
    backup_centre: str = ""  # the backup centre's code, for kind=backup


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackingChanged(Event):
    type: ClassVar[str] = "alarm.tracking_changed"
    track_until: str | None
    change: str  # stop | extend


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmCallChanged(Event):
    """The phone reported its emergency call (``ghost``: it ended before it was answered)."""

    type: ClassVar[str] = "alarm.call_changed"
    call_state: str
    track_until: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmVictimCancelled(Event):
    """The victim cancelled on the phone with her normal PIN; the centre still decides."""

    type: ClassVar[str] = "alarm.victim_cancelled"
    at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmDuress(Event):
    """The alarm was cancelled on the phone with the duress PIN: escalate."""

    type: ClassVar[str] = "alarm.duress"
    at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRevoked(Event):
    """The device of this open incident was revoked (e.g. the suspect holds the phone)."""

    type: ClassVar[str] = "alarm.device_revoked"
    at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRepeatPress(Event):
    """Another press of the same device while this incident is open: joined, not a new one."""

    type: ClassVar[str] = "alarm.repeat_press"
    channel: str
    trigger: str
    at: str
    count: int  # presses joined to this incident so far


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmRetryDiffers(Event):
    """A retry of the press carried another trigger than the one stored (kept, never lowered)."""

    type: ClassVar[str] = "alarm.retry_differs"
    stored: str
    received: str
    at: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentReassigned(Event):
    """A supervisor took the incident over or handed it to another operator (labels only)."""

    type: ClassVar[str] = "incident.reassigned"
    owner: str  # the operator who works it now
    previous: str  # who worked it before ("" when nobody)
    actor: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        AlarmRaised,
        AlarmChannelAdded,
        AlarmLocated,
        IncidentStateChanged,
        TrackingEnded,
        IncidentNoted,
        UnitDispatched,
        DispatchProgressed,
        OutcomeRecorded,
        IncidentEscalated,
        TrackingChanged,
        AlarmCallChanged,
        AlarmVictimCancelled,
        AlarmDuress,
        DeviceRevoked,
        AlarmRepeatPress,
        AlarmRetryDiffers,
        IncidentReassigned,
    )
}


def wire(seq: int, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """What a console receives: the sequence number, the type and the event's fields."""
    return {"seq": seq, "type": event_type, "data": data}
