"""What every machine API shares: the device API, the SMS webhook, the unit AVL feed and the
centre's integration feed.

- **One error envelope**, the device protocol's (docs/protocol.md, "Conventions"):
  ``{"error": {"code": "<code>", "message": "<text for a person>", "fields": {...}}}``, with
  ``fields`` only for ``validation_error``. Every error of a :class:`MachineApi` has this shape:
  the ones its code raises (:class:`ApiError`), invalid bodies, failed authentication, the
  domain's :class:`~msa.core.errors.NotFoundError` and
  :class:`~msa.core.errors.ValidationError`, and a database that cannot answer (503).
- **A documented API**: the OpenAPI document names its security schemes, and the document and
  the API's index are public (the description is no secret; every operation keeps its check).
- **The types of request bodies**: :data:`Time` (an RFC 3339 string with a zone, representable
  in UTC), :data:`CleanText` (no NUL), :data:`Number` (finite).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
)
from pydantic_core import core_schema

from msa.core.errors import ConfigurationError, NotFoundError, ValidationError
from msa.core.permissions import public

__all__ = [
    "AS_LITERAL",
    "EARLIEST",
    "AnyTime",
    "ApiError",
    "CleanText",
    "ErrorBody",
    "ErrorOut",
    "MachineApi",
    "Number",
    "PreparsedJson",
    "Time",
    "error_response",
    "read_json_object",
    "validation_error_response",
]

# --- the error envelope -------------------------------------------------------------------


class ApiError(Exception):
    """An error answer: ``status``, and the envelope's ``code``, ``message`` and ``fields``.

    ``extra`` adds top-level members next to ``"error"`` (``server_time`` of ``clock_skew``);
    ``headers`` adds response headers (``Retry-After``).
    """

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


def error_response(exc: ApiError) -> HttpResponse:
    """The envelope as compact JSON, the status and the headers of ``exc``."""
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


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    # ninja prefixes body errors with ("body", "<parameter name>")
    if len(parts) >= 2 and parts[0] == "body":
        parts = parts[2:]
    return ".".join(parts) or "$"


def validation_error_response(exc: NinjaValidationError) -> HttpResponse:
    """400 ``validation_error``, ``fields`` mapping each JSON path to its first problem."""
    fields: dict[str, str] = {}
    for err in exc.errors:
        fields.setdefault(_field_path(err.get("loc", ())), str(err.get("msg", "invalid")))
    return error_response(
        ApiError(400, "validation_error", "the request has invalid fields", fields=fields),
    )


class Wire(BaseModel):
    """A request or answer body of a machine API: a plain pydantic model. Ninja's ``Schema``
    reads every field of its input through a ``DjangoGetter`` (made for ORM objects): on a
    heartbeat that was about a tenth of the request (docs/performance.md, step 9)."""


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorOut(Schema):
    # the error envelope in the OpenAPI documents (no docstring: it would become their text)
    error: ErrorBody


_HTTP_ERROR_CODES = {
    400: "malformed",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
}


# --- bodies -------------------------------------------------------------------------------


def read_json_object(request: HttpRequest, *, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object: 413 ``too_large`` over ``max_bytes``, 400 ``malformed``
    when it is not JSON or not an object. Also kept for :class:`PreparsedJson`."""
    if len(request.body) > max_bytes:
        raise ApiError(413, "too_large", f"the body is over {max_bytes // 1024} KiB")
    try:
        parsed = json.loads(request.body)
    except RecursionError:  # nested deeper than the parser goes (30,000 brackets)
        raise ApiError(400, "malformed", "the body is nested too deep") from None
    except ValueError:  # not JSON, not UTF-8, or an integer over 4,300 digits
        raise ApiError(400, "malformed", "the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "malformed", "the body is not a JSON object")
    request.msa_json = parsed  # type: ignore[attr-defined]
    return parsed


class PreparsedJson(Parser):
    """The body was read and parsed during authentication (:func:`read_json_object`), after
    the caller was known: hand that result on instead of parsing it again."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        parsed: dict[str, Any] = request.msa_json  # type: ignore[attr-defined]
        return parsed


def _time_must_be_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 time string")  # noqa: TRY004 - pydantic wants ValueError
    return value


# No device, gateway or unit of this system reports a time outside these years.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _utc_in_range(value: datetime) -> datetime:
    # 0001-01-01T00:00:00+01:00 is in year 0 in UTC: no database can store it
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError("must be between the years 2000 and 2099")
    return utc


def _utc_representable(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None


Time = Annotated[AwareDatetime, BeforeValidator(_time_must_be_text), AfterValidator(_utc_in_range)]
"""An RFC 3339 time string with a zone (naive times are refused) in the years 2000 to 2099, as
an aware UTC datetime."""
AnyTime = Annotated[
    AwareDatetime, BeforeValidator(_time_must_be_text), AfterValidator(_utc_representable)
]
"""Like :data:`Time` in any year UTC can hold: for a press time, which never refuses a press
(the caller decides what an unbelievable one stands for)."""


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it here (400), not in the database (503)
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


CleanText = Annotated[str, Field(strict=True), AfterValidator(_no_nul)]
"""A JSON string without NUL characters."""
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite JSON number."""


@dataclass(frozen=True, slots=True)
class AsLiteral:
    """``Annotated[SomeStrEnum, AS_LITERAL]``: validate and describe a ``StrEnum`` field as the
    ``Literal`` of its values would be (inline ``enum`` in the OpenAPI document, the same
    error messages), then hand on the enum member: the list is written once, in its enum."""

    def __get_pydantic_core_schema__(
        self, source: type[StrEnum], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        values = [member.value for member in source]
        return core_schema.no_info_after_validator_function(
            source, core_schema.literal_schema(values)
        )


AS_LITERAL = AsLiteral()


# --- a database that cannot answer: 503 at once ----------------------------------------------


def _deadline_set(ms: int | None) -> None:
    """Bound how long this connection waits for a lock (``None``: back to the default).

    SQLite: the busy timeout (a writer holding the lock); PostgreSQL: ``lock_timeout`` and
    ``statement_timeout`` for the session (reset before the pooled connection goes back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            default_ms = int(float(connection.settings_dict["OPTIONS"].get("timeout", 5)) * 1000)
            cursor.execute(f"PRAGMA busy_timeout = {int(ms if ms is not None else default_ms)}")
        elif connection.vendor == "postgresql":
            # One round trip for both (no parameters: the simple query protocol takes two
            # statements); four round trips were a third of a heartbeat's on PostgreSQL.
            if ms is None:
                cursor.execute("RESET lock_timeout; RESET statement_timeout")
            else:
                cursor.execute(f"SET lock_timeout = {int(ms)}; SET statement_timeout = {int(ms)}")


_machine_thread = threading.local()


class LockTaken(Exception):  # noqa: N818 - a signal to the caller, not a failure to report
    """A machine request met a database error while told not to wait for a lock
    (:func:`machine_no_wait`): it is not answered (no 503, nothing logged as a failure), and
    its transaction was rolled back; the caller runs it again where it may wait."""


@contextmanager
def machine_no_wait() -> Iterator[None]:
    """For the block, this thread answers machine requests without waiting for a database lock:
    their deadline is 0 (SQLite's busy timeout) and a database error ends them with
    :class:`LockTaken` instead of 503 (``msa.ingest.machine_asgi``'s attempt on the event
    loop, which must never wait for another writer)."""
    was = (getattr(_machine_thread, "on", False), getattr(_machine_thread, "no_wait", False))
    _machine_thread.on = _machine_thread.no_wait = True
    try:
        yield
    finally:
        _machine_thread.on, _machine_thread.no_wait = was


def _no_wait() -> bool:
    return bool(getattr(_machine_thread, "no_wait", False))


def machine_thread_dedicate() -> None:
    """Say that this thread serves machine requests only (``msa.ingest.machine_asgi``'s pool):
    its connection, kept between requests, then keeps the machine deadline instead of setting
    it and putting the default back for every request (two statements, on PostgreSQL two
    round trips, each)."""
    _machine_thread.on = True


def machine_deadline_forget() -> None:
    """The kept connection goes: the next one gets the deadline again (a pooled PostgreSQL
    connection may come back as the same object, with the defaults)."""
    _machine_thread.deadline_for = None


def machine_deadline_clear() -> bool:
    """Put the defaults back on this thread's kept PostgreSQL connection before it returns to
    the pool (staff pages must not inherit a 1.5 s statement timeout). False when it could not
    be done: the caller must then not hand the connection on."""
    try:
        _deadline_set(None)
    except DatabaseError:
        return False
    return True


def _deadline_kept(ms: int) -> None:
    """The deadline on this thread's own connection, set once per connection: a connection
    opened again (after an error, say) is a new object and gets it again."""
    connection.ensure_connection()
    if getattr(_machine_thread, "deadline_for", None) is not connection.connection:
        _deadline_set(ms)
        _machine_thread.deadline_for = connection.connection


def with_database_deadline(
    view: Callable[..., HttpResponseBase], *, on_error: Callable[[HttpRequest], HttpResponse]
) -> Callable[..., HttpResponseBase]:
    """Run ``view`` with the database's lock waits bounded by ``MSA_MACHINE_DB_TIMEOUT_MS``, so
    that a locked database answers 503 within 2 s (the phone falls back to SMS at 5 s; the
    default waits were 20 s). ``on_error`` answers when the database cannot even be asked."""

    @functools.wraps(view)
    def bounded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        keep = getattr(_machine_thread, "on", False)
        try:
            if keep:
                _deadline_kept(0 if _no_wait() else int(settings.MSA_MACHINE_DB_TIMEOUT_MS))
            else:
                _deadline_set(int(settings.MSA_MACHINE_DB_TIMEOUT_MS))
        except DatabaseError:
            return on_error(request)
        try:
            return view(request, *args, **kwargs)
        finally:
            if not keep:
                try:
                    _deadline_set(None)
                except DatabaseError:
                    connection.close()  # a broken or aborted connection is not handed on

    return bounded


# --- the API ------------------------------------------------------------------------------


class MachineApi(NinjaAPI):
    """A NinjaAPI for machines: the one error envelope for every error, a public description
    that names the security schemes (``security_schemes``), no interactive docs page.

    ``log`` and ``log_event`` name the log lines of failures (``<log_event>_db_error`` ...);
    ``unavailable_message`` is the message of 503 ``unavailable`` (what the caller should do);
    ``not_found_message`` the message of 404 ``not_found``. ``database_deadline``: every
    operation waits for a locked database at most ``MSA_MACHINE_DB_TIMEOUT_MS``, then 503.
    """

    security_schemes: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        *,
        log: logging.Logger,
        log_event: str,
        unavailable_message: str,
        not_found_message: str = "not found",
        database_deadline: bool = False,
        **kwargs: Any,
    ) -> None:
        self.database_deadline = database_deadline
        self.log = log
        self.log_event = log_event
        self.unavailable_message = unavailable_message
        self.not_found_message = not_found_message
        kwargs.setdefault("docs_url", None)
        super().__init__(**kwargs)

    def set_default_exception_handlers(self) -> None:
        super().set_default_exception_handlers()  # Exception: re-raised for Django (a 500)
        self.exception_handler(ApiError)(self._api_error)
        self.exception_handler(NinjaValidationError)(self._validation_error)
        self.exception_handler(HttpError)(self._http_error)
        self.exception_handler(Http404)(self._not_found)
        self.exception_handler(NotFoundError)(self._not_found)
        self.exception_handler(ValidationError)(self._domain_validation_error)
        self.exception_handler(DatabaseError)(self._database_down)
        self.exception_handler(ConfigurationError)(self._misconfigured)

    def _api_error(self, request: HttpRequest, exc: ApiError) -> HttpResponse:
        if exc.status >= 500:
            self.log.warning(
                "%s_unavailable path=%s code=%s", self.log_event, request.path, exc.code
            )
        return error_response(exc)

    def _validation_error(self, request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        return validation_error_response(exc)

    def _http_error(self, request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc, AuthenticationError):
            return error_response(ApiError(401, "invalid_token", "the bearer token is not valid"))
        code = _HTTP_ERROR_CODES.get(exc.status_code, "error")
        return error_response(ApiError(exc.status_code, code, str(exc)))

    def _not_found(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(ApiError(404, "not_found", self.not_found_message))

    def _domain_validation_error(self, request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(ApiError(400, exc.code, exc.message, fields=exc.fields))

    def _database_down(self, request: HttpRequest, exc: DatabaseError) -> HttpResponse:
        if _no_wait():
            raise LockTaken from exc
        self.log.error(
            "%s_db_error path=%s error=%s", self.log_event, request.path, type(exc).__name__
        )
        return error_response(ApiError(503, "unavailable", self.unavailable_message))

    def _misconfigured(self, request: HttpRequest, exc: ConfigurationError) -> HttpResponse:
        self.log.error(
            "%s_misconfigured path=%s error=%s", self.log_event, request.path, exc.message
        )
        return error_response(ApiError(503, "unavailable", self.unavailable_message))

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        if self.security_schemes:
            schema.setdefault("components", {})["securitySchemes"] = self.security_schemes
            schema["security"] = [{key: [] for key in self.security_schemes}]
        return schema

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for entry in urls:
            if not isinstance(entry, URLPattern):
                continue
            if entry.name in {"openapi-json", "api-root"}:
                public(entry.callback)
            elif self.database_deadline:
                entry.callback = with_database_deadline(entry.callback, on_error=self._no_database)
        return urls

    def _no_database(self, request: HttpRequest) -> HttpResponse:
        if _no_wait():
            raise LockTaken
        self.log.error("%s_db_error path=%s error=deadline", self.log_event, request.path)
        return error_response(ApiError(503, "unavailable", self.unavailable_message))
