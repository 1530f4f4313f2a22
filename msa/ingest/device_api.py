"""The native device API, ``/api/device/v1/`` — protocol.md, to the letter.

This adapter only turns bytes into one domain call and the domain's answer back into
bytes. The order of checks is fixed: size, device, signature, revocation, clock, then
the body. Nothing is acknowledged to the phone before the transaction committed.
"""

from __future__ import annotations

import hmac
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

from msa.alarms.selectors import last_test_alarm_at
from msa.alarms.services import (
    BatteryInput,
    CancelPin,
    FixInput,
    alarm_call_report,
    alarm_cancel,
    alarm_locations_add,
    alarm_raise,
)
from msa.alarms.states import CallState, Channel, Trigger
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError, NotFoundError
from msa.devices.models import Device, DeviceStatus
from msa.devices.selectors import device_by_protocol_id
from msa.devices.services import HeartbeatInput, device_heartbeat_record
from msa.ingest.ratelimit import rate_limit_hit
from msa_client.protocol import MAX_FIXES_PER_REQUEST, signature

log = logging.getLogger("msa.ingest.device")

MAX_BODY_BYTES = 64 * 1024
FUTURE_FIX_TOLERANCE = timedelta(seconds=300)


class ProtocolError(Exception):
    """An answer of protocol.md's error table."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.extra = extra or {}
        self.headers = headers or {}


def error_response(exc: ProtocolError) -> HttpResponse:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.fields is not None:
        error["fields"] = exc.fields
    body = {"error": error, **exc.extra}
    response = HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status=exc.status,
        content_type="application/json",
    )
    for name, value in exc.headers.items():
        response[name] = value
    return response


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- request bodies ---------------------------------------------------------------------


def _time_must_be_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 time string")  # noqa: TRY004 - pydantic wants ValueError
    return value


def _utc_representable(value: datetime) -> datetime:
    # 0001-01-01T00:00:00+01:00 is in year 0 in UTC: no database can store it
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None


Time = Annotated[
    AwareDatetime, BeforeValidator(_time_must_be_text), AfterValidator(_utc_representable)
]


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here (400), not in the database (503)
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


CleanText = Annotated[str, Field(strict=True), AfterValidator(_no_nul)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class LocationIn(Schema):
    lat: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-90, le=90)]
    lon: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-180, le=180)]
    accuracy_m: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]
    fix_at: Time
    source: Literal["gps", "network", "fused", "cell"]
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


class BatteryIn(Schema):
    phone_pct: Percent
    button_pct: Percent | None = None


class CallIn(Schema):
    state: Literal["dialing", "none"]


class AlarmIn(Schema):
    alarm_id: uuid.UUID
    trigger: Literal["button", "app", "duress", "test"]
    pressed_at: Time
    location: LocationIn | None = None
    battery: BatteryIn | None = None
    call: CallIn | None = None


class AlarmOut(Schema):
    alarm_id: uuid.UUID
    incident: str
    report_interval_s: int
    track_until: str | None


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(Schema):
    error: ErrorBody
    server_time: str | None = Field(
        None, description="Only with clock_skew: the centre's time, to correct the app's clock."
    )


class LocationsIn(Schema):
    # The 1..100 bounds are checked by the endpoint: over 100 is 413 too_large, not 400.
    fixes: list[LocationIn] = Field(
        ..., description="1 to 100 fixes, oldest first (more than 100: 413 too_large)"
    )


class LocationsOut(Schema):
    accepted: int = Field(
        ...,
        description="How many distinct real fixes of this request the centre holds (stored now "
        "or by an earlier delivery of the same fixes); fixes at (0, 0) are not counted.",
    )
    continue_: bool = Field(..., alias="continue")
    report_interval_s: int
    track_until: str | None


class CallEventIn(Schema):
    event: Literal["dialing", "ringing", "answered", "ended"]
    at: Time


class CallOut(Schema):
    alarm_id: uuid.UUID
    track_until: str | None


class CancelIn(Schema):
    at: Time
    pin: Literal["normal", "duress"]


class CancelOut(Schema):
    alarm_id: uuid.UUID
    status: Literal["cancelled"]


class ButtonIn(Schema):
    connected: bool = Field(..., strict=True)
    last_seen_at: Time | None = None


class PermissionsIn(Schema):
    location: Literal["always", "while_in_use", "denied"]
    sms: bool = Field(..., strict=True)
    notifications: bool = Field(..., strict=True)


class NetworkIn(Schema):
    data: bool = Field(..., strict=True)


class HeartbeatIn(Schema):
    at: Time
    battery: BatteryIn
    button: ButtonIn
    permissions: PermissionsIn
    network: NetworkIn
    app_version: Annotated[CleanText, Field(max_length=40)]


class HeartbeatOut(Schema):
    next_heartbeat_s: int
    server_time: str
    last_test_alarm: str | None


# --- authentication ---------------------------------------------------------------------


class PreparsedJson(Parser):
    """The body was read and parsed during authentication; hand that result on."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        parsed: dict[str, Any] = request.msa_json  # type: ignore[attr-defined]
        return parsed


def _header(request: HttpRequest, name: str) -> str:
    return request.headers.get(name, "").strip()


class DeviceSignatureAuth:
    """``X-MSA-Device`` / ``X-MSA-Timestamp`` / ``X-MSA-Signature`` as protocol.md says."""

    openapi_type = "apiKey"

    def __call__(self, request: HttpRequest) -> Device:
        length = request.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise ProtocolError(413, "too_large", "the body is over 64 KiB")
        body = request.body
        if len(body) > MAX_BODY_BYTES:
            raise ProtocolError(413, "too_large", "the body is over 64 KiB")

        device_id = _header(request, "X-MSA-Device")
        device = device_by_protocol_id(device_id) if device_id else None
        if device is None:
            raise ProtocolError(401, "unknown_device", "this device is not enrolled")
        timestamp = _header(request, "X-MSA-Timestamp")
        sent = _header(request, "X-MSA-Signature").lower()
        try:
            expected = signature(
                device.secret(), request.method or "", request.path, timestamp, body
            )
        except ValueError:  # a newline in the (decoded) path: nothing a phone signs
            expected = ""
        if not expected or not timestamp.isdigit() or not hmac.compare_digest(sent, expected):
            raise ProtocolError(401, "invalid_signature", "the request signature does not match")
        if device.status == DeviceStatus.REVOKED:
            raise ProtocolError(401, "device_revoked", "this device was revoked")
        now = clock.now()
        skew = abs(int(timestamp) - int(now.timestamp()))
        if skew > settings.MSA_DEVICE_CLOCK_SKEW_S:
            raise ProtocolError(
                401,
                "clock_skew",
                "the request timestamp is outside the accepted window",
                extra={"server_time": rfc3339(now)},
            )

        if not (request.method == "POST" and request.path.endswith("/alarms")):
            # design.md section 7: no filter applies to alarms, so a new press is never refused;
            # everything else a device sends is rate limited.
            wait = rate_limit_hit(device.pk)
            if wait is not None:
                raise ProtocolError(
                    429,
                    "rate_limited",
                    "too many requests from this device: retry later",
                    headers={"Retry-After": str(wait)},
                )
        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ProtocolError(400, "malformed", "the body is not JSON") from None
        if not isinstance(parsed, dict):
            raise ProtocolError(400, "malformed", "the body is not a JSON object")
        request.msa_json = parsed  # type: ignore[attr-defined]
        return device


class DocumentedApi(NinjaAPI):
    """A NinjaAPI whose OpenAPI document also names its authentication scheme."""

    security_schemes: ClassVar[dict[str, Any]] = {}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        if self.security_schemes:
            schema.setdefault("components", {})["securitySchemes"] = self.security_schemes
            schema["security"] = [{key: [] for key in self.security_schemes}]
        return schema


class DeviceApi(DocumentedApi):
    security_schemes: ClassVar[dict[str, Any]] = {
        "device": {
            "type": "apiKey",
            "in": "header",
            "name": "X-MSA-Device",
            "description": "The device_id issued at enrolment.",
        },
        "timestamp": {
            "type": "apiKey",
            "in": "header",
            "name": "X-MSA-Timestamp",
            "description": "Unix seconds when sent; within +-300 s of the centre (clock_skew).",
        },
        "signature": {
            "type": "apiKey",
            "in": "header",
            "name": "X-MSA-Signature",
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
    docs_url=None,
    parser=PreparsedJson(),
    auth=DeviceSignatureAuth(),
)


@api.exception_handler(ProtocolError)
def _protocol_error(request: HttpRequest, exc: ProtocolError) -> HttpResponse:
    if exc.status >= 500:
        log.warning("device_request_unavailable path=%s code=%s", request.path, exc.code)
    return error_response(exc)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    # ninja prefixes body errors with ("body", "<parameter name>")
    if len(parts) >= 2 and parts[0] == "body":
        parts = parts[2:]
    return ".".join(parts) or "$"


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return validation_error_response(exc)


def validation_error_response(exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for err in exc.errors:
        fields.setdefault(_field_path(err.get("loc", ())), str(err.get("msg", "invalid")))
    return error_response(
        ProtocolError(400, "validation_error", "the request has invalid fields", fields=fields),
    )


@api.exception_handler(DatabaseError)
def _database_down(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    log.error("device_request_db_error path=%s error=%s", request.path, type(exc).__name__)
    return error_response(
        ProtocolError(503, "unavailable", "the centre cannot store this now: send the SMS"),
    )


@api.exception_handler(NotFoundError)
def _not_found(request: HttpRequest, exc: NotFoundError) -> HttpResponse:
    return error_response(
        ProtocolError(404, "not_found", "the alarm id is not one of this device's alarms")
    )


@api.exception_handler(ConfigurationError)
def _misconfigured(request: HttpRequest, exc: ConfigurationError) -> HttpResponse:
    log.error("device_request_misconfigured path=%s error=%s", request.path, exc.message)
    return error_response(
        ProtocolError(503, "unavailable", "the centre cannot store this now: send the SMS"),
    )


def _check_not_future(fix: LocationIn | None, path: str) -> None:
    if fix is not None and fix.fix_at > clock.now() + FUTURE_FIX_TOLERANCE:
        raise ProtocolError(
            400,
            "validation_error",
            "the request has invalid fields",
            fields={path: "more than 300 s in the future"},
        )


def _track_until(value: datetime | None) -> str | None:
    return rfc3339(value) if value else None


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
    result = alarm_raise(
        device=device,
        alarm_id=payload.alarm_id,
        trigger=Trigger(payload.trigger),
        pressed_at=payload.pressed_at,
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
        raise ProtocolError(413, "too_large", "more than 100 fixes in one request")
    if not payload.fixes:
        raise ProtocolError(
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
        pin=CancelPin(payload.pin),
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
        "server_time": rfc3339(now),
        "last_test_alarm": _track_until(last_test),
    }
