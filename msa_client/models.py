"""The data exchanged with an MSA centre, as typed dataclasses (protocol.md, version 1).

Requests are built from :class:`Location`, :class:`Battery` and :class:`DeviceStatus`, whose
``to_json()`` gives the exact JSON object of the protocol. Answers are parsed into
:class:`AlarmAnswer`, :class:`LocationsAnswer`, :class:`CallAnswer`, :class:`CancelAnswer` and
:class:`HeartbeatAnswer`; an error answer becomes :class:`ApiError`, no answer at all
:class:`NetworkError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from msa_protocol import LOCATION_SOURCES, format_time, parse_time

__all__ = [
    "AlarmAnswer",
    "ApiError",
    "Battery",
    "ButtonStatus",
    "CallAnswer",
    "CancelAnswer",
    "DeviceStatus",
    "HeartbeatAnswer",
    "Location",
    "LocationsAnswer",
    "MsaClientError",
    "NetworkError",
    "Permissions",
]

JsonObject = dict[str, Any]


def _finite(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")


def _number(value: float) -> float | int:
    """Write integral floats as JSON integers (``12`` rather than ``12.0``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


@dataclass(frozen=True, slots=True)
class Location:
    """One position fix (protocol.md, "Location object").

    ``fix_at`` is when the fix was measured (aware datetime), not when it is sent; the centre
    drops a fix that repeats a ``fix_at`` it already stored, and refuses one more than 300 s in
    the future. A fix at exactly (0, 0) is what broken GPS stacks report: it means "no fix", and
    :attr:`is_fix` is ``False`` for it.
    """

    lat: float
    lon: float
    accuracy_m: float
    fix_at: datetime
    source: str = "gps"
    speed_mps: float | None = None
    heading_deg: float | None = None
    altitude_m: float | None = None

    def __post_init__(self) -> None:
        _finite(self.lat, "lat")
        _finite(self.lon, "lon")
        _finite(self.accuracy_m, "accuracy_m")
        if not -90 <= self.lat <= 90:
            raise ValueError("lat must be in [-90, 90]")
        if not -180 <= self.lon <= 180:
            raise ValueError("lon must be in [-180, 180]")
        if self.accuracy_m < 0:
            raise ValueError("accuracy_m must be >= 0")
        if self.fix_at.tzinfo is None or self.fix_at.utcoffset() is None:
            raise ValueError("fix_at must be an aware datetime")
        if self.source not in LOCATION_SOURCES:
            raise ValueError(f"source must be one of {sorted(LOCATION_SOURCES)}")
        if self.speed_mps is not None:
            _finite(self.speed_mps, "speed_mps")
        if self.altitude_m is not None:
            _finite(self.altitude_m, "altitude_m")
        if self.heading_deg is not None:
            _finite(self.heading_deg, "heading_deg")
            if not 0 <= self.heading_deg <= 360:
                raise ValueError("heading_deg must be in [0, 360]")

    @property
    def is_fix(self) -> bool:
        """``False`` for the meaningless position (0, 0)."""
        return not (self.lat == 0 and self.lon == 0)

    def to_json(self) -> JsonObject:
        """The protocol's Location object. Optional fields that are ``None`` are left out
        (the centre reads a missing optional field as ``null``), which keeps the body of the
        signature test vector byte for byte."""
        out: JsonObject = {
            "lat": _number(self.lat),
            "lon": _number(self.lon),
            "accuracy_m": _number(self.accuracy_m),
            "fix_at": format_time(self.fix_at),
            "source": self.source,
        }
        for name in ("speed_mps", "heading_deg", "altitude_m"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _number(value)
        return out


def _percent(value: int | None, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"{name} must be an integer in [0, 100]")


@dataclass(frozen=True, slots=True)
class Battery:
    """Battery levels in percent; ``button_pct`` is ``None`` without a paired button."""

    phone_pct: int
    button_pct: int | None = None

    def __post_init__(self) -> None:
        _percent(self.phone_pct, "phone_pct")
        _percent(self.button_pct, "button_pct")

    def to_json(self) -> JsonObject:
        return {"phone_pct": self.phone_pct, "button_pct": self.button_pct}


@dataclass(frozen=True, slots=True)
class ButtonStatus:
    connected: bool
    last_seen_at: datetime | None = None

    def to_json(self) -> JsonObject:
        seen = None if self.last_seen_at is None else format_time(self.last_seen_at)
        return {"connected": self.connected, "last_seen_at": seen}


@dataclass(frozen=True, slots=True)
class Permissions:
    location: str = "always"  # "always" | "while_in_use" | "denied"
    sms: bool = True
    notifications: bool = True

    def __post_init__(self) -> None:
        if self.location not in {"always", "while_in_use", "denied"}:
            raise ValueError("location permission is 'always', 'while_in_use' or 'denied'")

    def to_json(self) -> JsonObject:
        return {"location": self.location, "sms": self.sms, "notifications": self.notifications}


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """What a heartbeat reports. Never a position: the heartbeat must not track the victim."""

    battery: Battery
    button: ButtonStatus
    permissions: Permissions
    data: bool
    app_version: str

    def to_json(self, at: datetime) -> JsonObject:
        return {
            "at": format_time(at),
            "battery": self.battery.to_json(),
            "button": self.button.to_json(),
            "permissions": self.permissions.to_json(),
            "network": {"data": self.data},
            "app_version": self.app_version,
        }


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


class MsaClientError(Exception):
    """Base of the errors raised by :mod:`msa_client`."""


class NetworkError(MsaClientError):
    """No answer: a timeout or a connection error."""


class ApiError(MsaClientError):
    """An error answer of the centre: ``{"error": {"code", "message", "fields"}}``.

    ``retry_after`` comes from the ``Retry-After`` header (429); ``server_time`` from a
    ``clock_skew`` answer.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        server_time: datetime | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields: dict[str, Any] = dict(fields or {})
        self.retry_after = retry_after
        self.server_time = server_time

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (429, 5xx, an unreadable 2xx)."""
        return self.status == 429 or self.status >= 500 or self.code == "bad_answer"


def _get(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ValueError(f"answer field {name!r} is missing or of the wrong type")
    return value


def _opt_time(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    return None if value is None else parse_time(_get(data, name, str))


@dataclass(frozen=True, slots=True)
class AlarmAnswer:
    """Answer to ``POST /alarms``.

    ``created`` is ``True`` for 201 (this request told the centre), ``False`` for 200 (the centre
    already knew the press, e.g. from the fallback SMS). ``sms_sent`` and ``attempts`` describe
    what the client did to get here.
    """

    alarm_id: str
    incident: str
    report_interval_s: int
    track_until: datetime | None
    created: bool
    sms_sent: bool = False
    attempts: int = 1

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, created: bool) -> AlarmAnswer:
        return cls(
            alarm_id=_get(data, "alarm_id", str),
            incident=_get(data, "incident", str),
            report_interval_s=_get(data, "report_interval_s", int),
            track_until=_opt_time(data, "track_until"),
            created=created,
        )


@dataclass(frozen=True, slots=True)
class LocationsAnswer:
    """Answer to ``POST /alarms/{id}/locations``; ``continue_tracking`` is JSON ``continue``."""

    accepted: int
    continue_tracking: bool
    report_interval_s: int
    track_until: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LocationsAnswer:
        return cls(
            accepted=_get(data, "accepted", int),
            continue_tracking=_get(data, "continue", bool),
            report_interval_s=_get(data, "report_interval_s", int),
            track_until=_opt_time(data, "track_until"),
        )


@dataclass(frozen=True, slots=True)
class CallAnswer:
    alarm_id: str
    track_until: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallAnswer:
        return cls(alarm_id=_get(data, "alarm_id", str), track_until=_opt_time(data, "track_until"))


@dataclass(frozen=True, slots=True)
class CancelAnswer:
    """Identical for the normal and the duress PIN, by design."""

    alarm_id: str
    status: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CancelAnswer:
        return cls(alarm_id=_get(data, "alarm_id", str), status=_get(data, "status", str))


@dataclass(frozen=True, slots=True)
class HeartbeatAnswer:
    next_heartbeat_s: int
    server_time: datetime
    last_test_alarm: datetime | None = field(default=None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HeartbeatAnswer:
        return cls(
            next_heartbeat_s=_get(data, "next_heartbeat_s", int),
            server_time=parse_time(_get(data, "server_time", str)),
            last_test_alarm=_opt_time(data, "last_test_alarm"),
        )
