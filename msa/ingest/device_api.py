"""The native device API, ``/api/device/v1/`` — protocol.md, to the letter.

This adapter only turns bytes into one domain call and the domain's answer back into
bytes. The order of checks is fixed: size, device, signature, revocation, clock, then
the body. Nothing is acknowledged to the phone before the transaction committed.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Status
from pydantic import Field
from pydantic import ValidationError as PydanticValidationError

from msa.alarms.selectors import last_test_alarm_at
from msa.alarms.services.call import alarm_call_report
from msa.alarms.services.intake import BatteryInput, RaiseResult, alarm_raise
from msa.alarms.services.tracking import FixInput, alarm_locations_add
from msa.alarms.services.victim import alarm_cancel
from msa.alarms.states import CallState, Channel
from msa.core import clock
from msa.core.actors import Actor
from msa.core.api import (
    AS_LITERAL,
    EARLIEST,
    AnyTime,
    ApiError,
    CleanText,
    MachineApi,
    Number,
    PreparsedJson,
    Time,
    Wire,
    read_json_object,
)
from msa.core.api import ErrorOut as EnvelopeOut
from msa.core.errors import ConfigurationError, NotFoundError
from msa.devices.models import Device
from msa.devices.selectors import device_for_request
from msa.devices.services import HeartbeatInput, device_heartbeat_record
from msa.devices.states import DeviceStatus
from msa.ingest.ratelimit import heartbeat_rate_hit, rate_limit_hit
from msa.ingest.selectors import device_with_followup, repeat_press_alarm_is_open
from msa_protocol import (
    FUTURE_FIX_TOLERANCE_S,
    HEADER_DEVICE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    MAX_BODY_BYTES,
    MAX_FIXES_PER_REQUEST,
    AlarmCallState,
    CallEvent,
    CancelPin,
    LocationPermission,
    LocationSource,
    Trigger,
    format_time,
    verify_signature,
)

log = logging.getLogger("msa.ingest.device")

FUTURE_FIX_TOLERANCE = timedelta(seconds=FUTURE_FIX_TOLERANCE_S)
PREFIX = "/api/device/v1/"  # where msa.urls mounts it


# --- request bodies ---------------------------------------------------------------------


class LocationIn(Wire):
    lat: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-90, le=90)]
    lon: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-180, le=180)]
    # 0 to 100 km: a cell position can be kilometres off; beyond that it is no position
    accuracy_m: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=100_000)]
    fix_at: Time
    source: Annotated[LocationSource, AS_LITERAL]
    speed_mps: Number | None = None
    heading_deg: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=360)] | None = (
        None
    )
    altitude_m: Number | None = None

    def to_input(self) -> FixInput:
        return FixInput(
            lat=self.lat,
            lon=self.lon,
            accuracy_m=self.accuracy_m,
            fix_at=self.fix_at,
            source=self.source,
            speed_mps=self.speed_mps,
            heading_deg=self.heading_deg,
            altitude_m=self.altitude_m,
        )


Percent = Annotated[int, Field(strict=True, ge=0, le=100)]


class BatteryIn(Wire):
    phone_pct: Percent
    button_pct: Percent | None = None


class CallIn(Wire):
    state: Annotated[AlarmCallState, AS_LITERAL]


class AlarmIn(Wire):
    alarm_id: uuid.UUID
    trigger: Annotated[Trigger, AS_LITERAL]
    # Any year: a press is never refused for its time (see _press_time).
    pressed_at: AnyTime
    location: LocationIn | None = None
    battery: BatteryIn | None = None
    call: CallIn | None = None


class AlarmOut(Wire):
    alarm_id: uuid.UUID
    incident: str
    report_interval_s: int
    track_until: str | None


class ErrorOut(EnvelopeOut):
    server_time: str | None = Field(
        None, description="Only with clock_skew: the centre's time, to correct the app's clock."
    )


class LocationsIn(Wire):
    # The 1..100 bounds are checked by the endpoint: over 100 is 413 too_large, not 400.
    fixes: list[LocationIn] = Field(
        ..., description="1 to 100 fixes, oldest first (more than 100: 413 too_large)"
    )


class LocationsOut(Wire):
    accepted: int = Field(
        ...,
        description="How many distinct real fixes of this request the centre holds (stored now "
        "or by an earlier delivery of the same fixes); fixes at (0, 0) are not counted.",
    )
    continue_: bool = Field(..., alias="continue")
    report_interval_s: int
    track_until: str | None


class CallEventIn(Wire):
    event: Annotated[CallEvent, AS_LITERAL]
    at: Time


class CallOut(Wire):
    alarm_id: uuid.UUID
    track_until: str | None


class CancelIn(Wire):
    at: Time
    pin: Annotated[CancelPin, AS_LITERAL]


class CancelOut(Wire):
    alarm_id: uuid.UUID
    status: Literal["cancelled"]


class ButtonIn(Wire):
    connected: bool = Field(..., strict=True)
    last_seen_at: Time | None = None


class PermissionsIn(Wire):
    location: Annotated[LocationPermission, AS_LITERAL]
    sms: bool = Field(..., strict=True)
    notifications: bool = Field(..., strict=True)


class NetworkIn(Wire):
    data: bool = Field(..., strict=True)


class HeartbeatIn(Wire):
    at: Time
    battery: BatteryIn
    button: ButtonIn
    permissions: PermissionsIn
    network: NetworkIn
    app_version: Annotated[CleanText, Field(max_length=40)]


class HeartbeatOut(Wire):
    next_heartbeat_s: int
    server_time: str
    last_test_alarm: str | None


# --- authentication ---------------------------------------------------------------------


def _header(request: HttpRequest, name: str) -> str:
    return request.headers.get(name, "").strip()


class DeviceSignatureAuth:
    """``X-MSA-Device`` / ``X-MSA-Timestamp`` / ``X-MSA-Signature`` as protocol.md says."""

    openapi_type = "apiKey"

    def __call__(self, request: HttpRequest) -> Device:
        length = request.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", "the body is over 64 KiB")
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", "the body is over 64 KiB")

        device_id = _header(request, HEADER_DEVICE)
        followup = _followup_alarm_id(request.path)
        own_press_open = False
        device: Device | None = None
        if device_id and followup is not None:
            # a follow-up: the device and its alarm's incident in one statement (used only
            # once the signature holds: by the rate limit, and by a position, which decides
            # again under the incident's lock)
            found = device_with_followup(device_id, followup)
            if found is not None:
                device, own_press_open = found.device, found.own_press_open
                request.msa_followup = found.incident  # type: ignore[attr-defined]
        elif device_id:
            device = device_for_request(device_id)
        if device is None:
            raise ApiError(401, "unknown_device", "this device is not enrolled")
        timestamp = _header(request, HEADER_TIMESTAMP)
        if not verify_signature(
            device.secret(),
            request.method or "",
            request.path,
            timestamp,
            body,
            received=_header(request, HEADER_SIGNATURE),
        ):
            raise ApiError(401, "invalid_signature", "the request signature does not match")
        if device.status == DeviceStatus.REVOKED:
            if request.method == "POST" and request.path.endswith("/alarms"):
                _revoked_press_record(request, device)
            raise ApiError(401, "device_revoked", "this device was revoked")
        now = clock.now()
        # ASCII digits (the signature checked it), but perhaps thousands of them: a time more
        # than 15 digits long is as far off as any.
        sent = int(timestamp) if len(timestamp) <= 15 else None
        if sent is None or abs(sent - int(now.timestamp())) > settings.MSA_DEVICE_CLOCK_SKEW_S:
            raise ApiError(
                401,
                "clock_skew",
                "the request timestamp is outside the accepted window",
                extra={"server_time": format_time(now)},
            )

        wait = _rate_limit(request, device, followup, own_press_open)
        if wait is not None:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests from this device: retry later",
                headers={"Retry-After": str(wait)},
            )
        read_json_object(request, max_bytes=MAX_BODY_BYTES)
        return device


def _followup_alarm_id(path: str) -> uuid.UUID | None:
    """The alarm id of a follow-up (``/alarms/{alarm_id}/…``: positions, call, cancel), if the
    path names one that is a UUID."""
    parts = path.removeprefix(PREFIX).split("/")
    if len(parts) != 3 or parts[0] != "alarms":
        return None
    try:
        return uuid.UUID(parts[1])
    except ValueError:
        return None


def _rate_limit(
    request: HttpRequest,
    device: Device,
    followup: uuid.UUID | None,
    own_press_open: bool,
) -> int | None:
    """design.md section 7: no filter applies to alarms. A new press and every follow-up of an
    open alarm (positions, call, cancel) are never counted; heartbeats have their own bucket;
    the follow-ups of other alarm ids share the general one (msa.ingest.ratelimit)."""
    path = request.path.removeprefix(PREFIX)
    if path == "heartbeat":
        return heartbeat_rate_hit(device.pk, _header(request, HEADER_SIGNATURE))
    if path == "alarms":
        return None
    if followup is not None and (own_press_open or repeat_press_alarm_is_open(device, followup)):
        return None
    return rate_limit_hit(device.pk)


def _revoked_press_record(request: HttpRequest, device: Device) -> None:
    """A press signed with a revoked device's key is answered ``device_revoked`` as
    protocol.md says, and still shown to the centre, flagged ``device_revoked``: a press is
    never dropped (the suspect may hold the phone, or the victim an old one). A body that is
    not a valid alarm records nothing; the answer is the same."""
    try:
        payload = AlarmIn.model_validate(read_json_object(request, max_bytes=MAX_BODY_BYTES))
    except (ApiError, PydanticValidationError):
        return
    try:
        _alarm_raise(device, payload)
    except ConfigurationError as exc:  # a device no longer linked to a case: nobody to show
        log.error("revoked_press_not_raised error=%s", exc.message)  # noqa: TRY400


class DeviceApi(MachineApi):
    security_schemes: ClassVar[dict[str, Any]] = {
        "device": {
            "type": "apiKey",
            "in": "header",
            "name": HEADER_DEVICE,
            "description": "The device_id issued at enrolment.",
        },
        "timestamp": {
            "type": "apiKey",
            "in": "header",
            "name": HEADER_TIMESTAMP,
            "description": "Unix seconds when sent; within +-300 s of the centre (clock_skew).",
        },
        "signature": {
            "type": "apiKey",
            "in": "header",
            "name": HEADER_SIGNATURE,
            "description": 'hex(HMAC-SHA256(key, METHOD "\\n" PATH "\\n" TIMESTAMP "\\n" '
            "hex(SHA-256(body)))) - docs/protocol.md",
        },
    }


api = DeviceApi(
    title="MSA device API",
    version="1",
    description="The device protocol v1 (docs/protocol.md): what a phone app speaks to raise "
    "a stalking alarm at an MSA centre.",
    urls_namespace="device_v1",
    log=log,
    log_event="device_request",
    unavailable_message="the centre cannot store this now: send the SMS",
    not_found_message="the alarm id is not one of this device's alarms",
    database_deadline=True,
    parser=PreparsedJson(),
    auth=DeviceSignatureAuth(),
)


def _check_not_future(fix: LocationIn | None, path: str) -> None:
    if fix is not None and fix.fix_at > clock.now() + FUTURE_FIX_TOLERANCE:
        raise ApiError(
            400,
            "validation_error",
            "the request has invalid fields",
            fields={path: "more than 300 s in the future"},
        )


def _track_until(value: datetime | None) -> str | None:
    return format_time(value) if value else None


ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    413: ErrorOut,
    429: ErrorOut,
    503: ErrorOut,
}
ALARM_ERRORS: dict[int, Any] = {**ERRORS, 404: ErrorOut}  # endpoints under /alarms/{alarm_id}/


@api.post(
    "/alarms",
    # never rate limited (design.md section 7: no filter applies to alarms)
    response={200: AlarmOut, 201: AlarmOut, **{k: v for k, v in ERRORS.items() if k != 429}},
    summary="Raise an alarm",
    description="201 when this request told the centre of the press, 200 when it already knew "
    "it (the same alarm_id again, or its fallback SMS first). Never rate limited.",
)
def post_alarm(request: HttpRequest, payload: AlarmIn) -> Status[dict[str, Any]]:
    device: Device = request.auth  # type: ignore[attr-defined]
    _check_not_future(payload.location, "location.fix_at")
    result = _alarm_raise(device, payload)
    incident = result.incident
    return Status(
        201 if result.created else 200,
        {
            "alarm_id": payload.alarm_id,
            "incident": incident.reference,
            "report_interval_s": settings.MSA_REPORT_INTERVAL_S,
            "track_until": _track_until(incident.track_until),
        },
    )


def _press_time(pressed_at: datetime) -> datetime:
    """A press time before 2000 or more than 300 s ahead is not believed (a phone's clock that
    was wrong when it was pressed): the arrival time stands for it, as for the SMS."""
    now = clock.now()
    return pressed_at if EARLIEST <= pressed_at <= now + FUTURE_FIX_TOLERANCE else now


def _alarm_raise(device: Device, payload: AlarmIn) -> RaiseResult:
    return alarm_raise(
        device=device,
        alarm_id=payload.alarm_id,
        trigger=payload.trigger,
        pressed_at=_press_time(payload.pressed_at),
        location=payload.location.to_input() if payload.location else None,
        battery=(
            BatteryInput(phone_pct=payload.battery.phone_pct, button_pct=payload.battery.button_pct)
            if payload.battery
            else None
        ),
        call_state=CallState(payload.call.state) if payload.call else None,
        channel=Channel.DATA,
        actor=Actor.device(device.device_id),
    )


def _alarm_uuid(alarm_id: str) -> uuid.UUID:
    """Any text that is not a UUID is not one of this device's alarms either."""
    try:
        return uuid.UUID(alarm_id)
    except ValueError:
        raise NotFoundError("not an alarm id") from None


@api.post(
    "/alarms/{alarm_id}/locations",
    response={200: LocationsOut, **ALARM_ERRORS},
    summary="Position updates",
    description="Stored during the call and until track_until; afterwards (or once the "
    "centre closed the incident) the answer is continue: false and nothing is stored. "
    "A fix whose fix_at was already stored is stored once.",
    by_alias=True,
)
def post_locations(request: HttpRequest, alarm_id: str, payload: LocationsIn) -> dict[str, Any]:
    device: Device = request.auth  # type: ignore[attr-defined]
    if len(payload.fixes) > MAX_FIXES_PER_REQUEST:
        raise ApiError(413, "too_large", "more than 100 fixes in one request")
    if not payload.fixes:
        raise ApiError(
            400,
            "validation_error",
            "the request has invalid fields",
            fields={"fixes": "1 to 100 fixes"},
        )
    for index, fix in enumerate(payload.fixes):
        _check_not_future(fix, f"fixes.{index}.fix_at")
    result = alarm_locations_add(
        device=device,
        alarm_id=_alarm_uuid(alarm_id),
        fixes=[fix.to_input() for fix in payload.fixes],
        actor=Actor.device(device.device_id),
        seen=getattr(request, "msa_followup", None),
    )
    return {
        "accepted": result.accepted,
        "continue": result.tracking,
        "report_interval_s": settings.MSA_REPORT_INTERVAL_S,
        "track_until": _track_until(result.track_until),
    }


@api.post(
    "/alarms/{alarm_id}/call",
    response={200: CallOut, **ALARM_ERRORS},
    summary="Call state",
    description="An ended without a prior answered is a ghost call.",
)
def post_call(request: HttpRequest, alarm_id: str, payload: CallEventIn) -> dict[str, Any]:
    device: Device = request.auth  # type: ignore[attr-defined]
    ident = _alarm_uuid(alarm_id)
    incident = alarm_call_report(
        device=device,
        alarm_id=ident,
        event=CallState(payload.event),
        at=payload.at,
        actor=Actor.device(device.device_id),
    )
    return {"alarm_id": ident, "track_until": _track_until(incident.track_until)}


@api.post(
    "/alarms/{alarm_id}/cancel",
    response={200: CancelOut, **ALARM_ERRORS},
    summary="The victim cancels on the phone",
    description="normal: marked cancelled by the victim (the centre still decides); duress: "
    "escalated at the centre. The answer is the same in both cases, byte for byte.",
)
def post_cancel(request: HttpRequest, alarm_id: str, payload: CancelIn) -> HttpResponse:
    device: Device = request.auth  # type: ignore[attr-defined]
    ident = _alarm_uuid(alarm_id)
    alarm_cancel(
        device=device,
        alarm_id=ident,
        pin=payload.pin,
        at=payload.at,
        actor=Actor.device(device.device_id),
    )
    # Built by hand so that nothing in it can depend on the PIN.
    body = json.dumps({"alarm_id": str(ident), "status": "cancelled"}, separators=(",", ":"))
    return HttpResponse(body, status=200, content_type="application/json")


@api.post(
    "/heartbeat",
    response={200: HeartbeatOut, **ERRORS},
    summary="The device is alive",
    description="Never a position. last_test_alarm is when the centre last received a test "
    "alarm of this device.",
)
def post_heartbeat(request: HttpRequest, payload: HeartbeatIn) -> dict[str, Any]:
    device: Device = request.auth  # type: ignore[attr-defined]
    now = device_heartbeat_record(
        device=device,
        beat=HeartbeatInput(
            at=payload.at,
            phone_pct=payload.battery.phone_pct,
            button_pct=payload.battery.button_pct,
            button_connected=payload.button.connected,
            button_last_seen_at=payload.button.last_seen_at,
            permissions={
                "location": payload.permissions.location,
                "sms": payload.permissions.sms,
                "notifications": payload.permissions.notifications,
            },
            network_data=payload.network.data,
            app_version=payload.app_version,
        ),
    )
    last_test = last_test_alarm_at(device)
    return {
        "next_heartbeat_s": settings.MSA_HEARTBEAT_INTERVAL_S,
        "server_time": format_time(now),
        "last_test_alarm": _track_until(last_test),
    }
