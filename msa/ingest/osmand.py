"""The OsmAnd protocol (Traccar Client and similar apps), docs/interop.md section 2.

:func:`osmand_parse` reads every variant of the table: parameters in the query string, or in
a form body when the query is empty, or a JSON object (``location.coords``, the alarm in
``location.extras.alarm`` or ``location.alarm``); timestamps in seconds, milliseconds (over
2^31 - 1) or ISO 8601; ``speed`` in knots (JSON: m/s). :func:`osmand_receive` ends in the same
domain calls as the native API: an alarm raises (or continues) an incident like a button press
and is marked as coming from an unsigned protocol; a position without an alarm is kept only in
the tracking window of the device's open incident, otherwise the request is a heartbeat.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from msa.alarms.services.intake import BatteryInput, alarm_raise
from msa.alarms.services.tracking import FixInput
from msa.alarms.services.unsigned import device_fix_offer
from msa.alarms.states import Channel, Trigger
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError, ValidationError
from msa.devices.models import Device
from msa.devices.selectors import device_by_osmand_id
from msa.devices.services import device_osmand_seen
from msa.devices.states import DeviceStatus
from msa.dispatch.models import Unit
from msa.dispatch.services.osmand import unit_by_osmand_id
from msa.dispatch.services.units import unit_position_record

log = logging.getLogger("msa.ingest.osmand")

KNOT_MPS = 1852 / 3600
MAX_SECONDS = 2**31 - 1
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
UNSIGNED = "unsigned_protocol"


@dataclass(frozen=True, slots=True)
class OsmandReport:
    identifier: str
    fix: FixInput | None
    alarm: str | None
    battery_pct: int | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value) if isinstance(value, int | float) else float(str(value).strip())
    except (ValueError, OverflowError):  # not a number, or an integer beyond a float
        return None
    return number if math.isfinite(number) else None


def osmand_time(value: Any) -> datetime | None:
    """UNIX seconds, milliseconds when larger than 2^31 - 1, or ISO 8601; None if unreadable."""
    if value is None or value == "":
        return None
    number = _number(value)
    try:
        if number is not None:
            at = datetime.fromtimestamp(number / 1000 if number > MAX_SECONDS else number, tz=UTC)
        else:
            text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return at.astimezone(UTC)


def _believed(at: datetime | None, now: datetime) -> datetime:
    """A time before 2000 or more than 5 minutes ahead (a wrong phone clock): now instead."""
    if at is None or at < EARLIEST or at > now + FUTURE_TOLERANCE:
        return now
    return at


def _fix(
    lat: Any,
    lon: Any,
    *,
    at: datetime,
    accuracy: Any = None,
    speed_mps: float | None = None,
    heading: Any = None,
    altitude: Any = None,
) -> FixInput | None:
    la, lo = _number(lat), _number(lon)
    if la is None or lo is None or not (-90 <= la <= 90 and -180 <= lo <= 180):
        return None
    if la == 0 and lo == 0:
        return None
    acc = _number(accuracy)
    head = _number(heading)
    return FixInput(
        lat=la,
        lon=lo,
        accuracy_m=acc if acc is not None and 0 <= acc <= 100_000 else 0.0,
        fix_at=at,
        source="gps",
        speed_mps=speed_mps if speed_mps is not None and speed_mps >= 0 else None,
        heading_deg=head if head is not None and 0 <= head <= 360 else None,
        altitude_m=_number(altitude),
    )


def _pct(value: float | None, *, fraction: bool = False) -> int | None:
    if value is None:
        return None
    pct = value * 100 if fraction else value
    return round(pct) if 0 <= pct <= 100 else None


def _from_params(params: dict[str, str], now: datetime) -> OsmandReport:
    at = _believed(osmand_time(params.get("timestamp")), now)
    lat, lon = params.get("lat"), params.get("lon")
    if (lat is None or lon is None) and "location" in params:
        lat, _, lon = params["location"].partition(",")
    knots = _number(params.get("speed"))
    fix = _fix(
        lat,
        lon,
        at=at,
        accuracy=params.get("accuracy"),
        speed_mps=knots * KNOT_MPS if knots is not None else None,
        heading=params.get("bearing", params.get("heading")),
        altitude=params.get("altitude"),
    )
    alarm = params.get("alarm")
    return OsmandReport(
        identifier=(params.get("id") or params.get("deviceid") or "").strip(),
        fix=fix,
        alarm=(alarm.strip() or "sos") if alarm is not None else None,
        battery_pct=_pct(_number(params.get("batt"))),
    )


def _from_json(body: dict[str, Any], now: datetime) -> OsmandReport:
    location = body.get("location")
    location = location if isinstance(location, dict) else {}
    coords = location.get("coords")
    coords = coords if isinstance(coords, dict) else {}
    extras = location.get("extras")
    extras = extras if isinstance(extras, dict) else {}
    battery = location.get("battery")
    battery = battery if isinstance(battery, dict) else {}
    at = _believed(osmand_time(location.get("timestamp")), now)
    fix = _fix(
        coords.get("latitude"),
        coords.get("longitude"),
        at=at,
        accuracy=coords.get("accuracy"),
        speed_mps=_number(coords.get("speed")),
        heading=coords.get("heading"),
        altitude=coords.get("altitude"),
    )
    alarm = extras.get("alarm", location.get("alarm"))
    identifier = body.get("device_id", body.get("id", ""))
    return OsmandReport(
        identifier=identifier.strip() if isinstance(identifier, str) else "",
        fix=fix,
        alarm=(str(alarm).strip() or "sos") if alarm not in (None, False, "") else None,
        battery_pct=_pct(_number(battery.get("level")), fraction=True),
    )


def osmand_parse(*, query: str, body: bytes, content_type: str) -> OsmandReport:
    """One request's report, whatever the variant (never raises)."""
    now = clock.now()
    if "json" in content_type.lower() and not query:
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            return _from_json(parsed, now)
    text = query or body.decode("utf-8", errors="replace")
    try:
        params = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=100))
    except ValueError:
        params = {}
    return _from_params(params, now)


def osmand_sender(identifier: str) -> Device | Unit | None:
    """The enrolled OsmAnd device, or the police unit, this identifier names."""
    return device_by_osmand_id(identifier) or unit_by_osmand_id(identifier)


def osmand_receive(*, sender: Device | Unit, report: OsmandReport) -> str:
    """What the request did: ``alarm``, ``position``, ``heartbeat`` or ``unit``."""
    if isinstance(sender, Unit):
        return _unit(sender, report)
    device = sender
    actor = Actor.device(device.device_id)
    if report.alarm is not None:
        try:
            alarm_raise(
                device=device,
                alarm_id=None,
                alarm_ref="",
                trigger=Trigger.BUTTON,
                pressed_at=report.fix.fix_at if report.fix else clock.now(),
                location=report.fix,
                battery=(
                    BatteryInput(phone_pct=report.battery_pct, button_pct=None)
                    if report.battery_pct is not None
                    else None
                ),
                call_state=None,
                channel=Channel.OSMAND,
                actor=actor,
                unverified_reason=UNSIGNED,
            )
        except ConfigurationError as exc:  # a device no longer linked to a case
            log.error("osmand_alarm_not_raised error=%s", exc.message)  # noqa: TRY400
            return "heartbeat"
        return "alarm"
    if (
        report.fix is not None
        and device.status == DeviceStatus.ACTIVE
        and device_fix_offer(device=device, fix=report.fix, channel=Channel.OSMAND)
    ):
        return "position"
    device_osmand_seen(device=device, phone_pct=report.battery_pct)
    return "heartbeat"


def _unit(unit: Unit, report: OsmandReport) -> str:
    if report.fix is not None:
        try:
            unit_position_record(
                unit=unit,
                lat=report.fix.lat,
                lon=report.fix.lon,
                accuracy_m=report.fix.accuracy_m or None,
                fix_at=report.fix.fix_at,
                source="osmand",
                actor=Actor.gateway(f"osmand:{unit.call_sign}"),
            )
        except ValidationError:
            return "unit"
    return "unit"
