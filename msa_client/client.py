"""The device side of the MSA protocol over HTTP: :class:`DeviceClient`.

Rules a vendor app must keep, and that this class implements:

- **One ``alarm_id`` per press** (a UUID4 made when the button is pressed), reused by every
  retry of that press and by its fallback SMS, so that the centre makes one incident of them.
- **Serialise once, sign those bytes, send those bytes.** The body is compact JSON
  (``separators=(",", ":")``, UTF-8); the signature covers its SHA-256.
- **Retry the alarm until an answer**, with exponential backoff, on timeouts, connection
  errors, 429 (honouring ``Retry-After``) and 5xx. The same body again is harmless.
- **Fall back to SMS within 5 s of the press**: at once on a timeout, a connection error or a
  503, and in any case when no answer came within 5 s. The first attempt's timeout is cut so
  that it ends before that deadline, and a watchdog thread bounds it in wall-clock time (an
  ``httpx`` timeout is per read, not per request). After the SMS the data alarm is still
  retried: the centre merges both into one incident, and only the data path carries tracking.
- **Clock skew**: a ``401 clock_skew`` answer carries ``server_time``; the client sets its
  offset from it and retries once at once. The offset then applies to every time it sends.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from msa_client.interfaces import Clock, Sleep, SmsError, SmsTransport
from msa_client.models import (
    AlarmAnswer,
    ApiError,
    Battery,
    CallAnswer,
    CancelAnswer,
    DeviceStatus,
    HeartbeatAnswer,
    Location,
    LocationsAnswer,
    MsaClientError,
    NetworkError,
)
from msa_protocol import (
    API_BASE_PATH,
    DEVICE_ID_RE,
    MAX_BODY_BYTES,
    MAX_FIXES_PER_REQUEST,
    SMS_FALLBACK_AFTER_S,
    CallEvent,
    EnrolmentQr,
    SmsReason,
    Trigger,
    decode_key,
    format_fallback_sms,
    format_time,
    parse_time,
    signed_headers,
)

__all__ = ["Backoff", "DeviceClient", "compact_json", "system_clock"]

logger = logging.getLogger("msa_client")

JsonObject = dict[str, Any]
_T = TypeVar("_T")

SMS_MARGIN_S = 0.5
"""Time kept free before the 5 s deadline to hand the SMS to the transport."""
MIN_ATTEMPT_S = 0.2
WATCHDOG_GRACE_S = 0.1
HEARTBEAT_CLOCK_CORRECTION_S = 30.0


def system_clock() -> datetime:
    """The real wall clock, aware, in UTC."""
    return datetime.now(UTC)


def compact_json(payload: JsonObject) -> bytes:
    """The bytes the protocol signs: compact separators, UTF-8, no NaN/Infinity."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry number ``n`` (0-based): ``min(max_s, initial_s * factor**n)``."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, retry: int) -> float:
        return float(min(self.max_s, self.initial_s * self.factor ** min(retry, 64)))


class DeviceClient:
    """A device's connection to its centre.

    ``base_url`` is the centre's origin (and path prefix, if any) from the enrolment QR code;
    ``key`` the 32-byte key (or its base64url text). ``sms`` and ``sms_number`` are needed for
    the fallback SMS; without them the fallback is logged as impossible. ``clock`` and ``sleep``
    are injectable so that every timer can be driven by a test.
    """

    def __init__(
        self,
        base_url: str,
        device_id: str,
        key: bytes | str,
        *,
        http: httpx.Client | None = None,
        clock: Clock | None = None,
        sms: SmsTransport | None = None,
        sms_number: str | None = None,
        sleep: Sleep = time.sleep,
        timeout_s: float = 10.0,
        fallback_after_s: float = SMS_FALLBACK_AFTER_S,
        backoff: Backoff | None = None,
        give_up_after_s: float = 2 * 3600.0,
        watchdog: bool = True,
    ) -> None:
        if not DEVICE_ID_RE.fullmatch(device_id):
            raise ValueError(f"invalid device id {device_id!r}")
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query:
            raise ValueError(f"invalid base URL {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._path_prefix = urlsplit(self.base_url).path
        self.device_id = device_id
        self._key = decode_key(key) if isinstance(key, str) else key
        if len(self._key) != 32:
            raise ValueError("a device key is 32 bytes")
        self._http = http if http is not None else httpx.Client()
        self._clock: Clock = clock if clock is not None else system_clock
        self._sms = sms
        self.sms_number = sms_number
        self.sleep = sleep
        self.timeout_s = timeout_s
        self.fallback_after_s = fallback_after_s
        self.backoff = backoff if backoff is not None else Backoff()
        self.give_up_after_s = give_up_after_s
        self._watchdog = watchdog
        self.sms_record: list[tuple[datetime, str]] = []
        """Every fallback SMS this client handed to its transport: (device time, text)."""
        self.clock_offset = timedelta(0)
        """Added to the device clock for every time sent (corrected by ``clock_skew``)."""

    @classmethod
    def from_enrolment(cls, qr: EnrolmentQr, **kwargs: Any) -> DeviceClient:
        """A client for the centre and device of an enrolment QR code."""
        kwargs.setdefault("sms_number", qr.sms_number)
        return cls(qr.base_url, qr.device_id, qr.key, **kwargs)

    # ----------------------------------------------------------------------------------------
    # time
    # ----------------------------------------------------------------------------------------

    def device_time(self) -> datetime:
        """The device's own clock, uncorrected (used for deadlines and elapsed time)."""
        return self._clock()

    def now(self) -> datetime:
        """The device clock corrected by the offset learnt from the centre."""
        return self._clock() + self.clock_offset

    def correct_clock(self, server_time: datetime) -> None:
        """Set the offset so that :meth:`now` reads ``server_time`` at this moment."""
        self.clock_offset = server_time - self._clock()
        logger.info("clock_corrected offset_s=%.1f", self.clock_offset.total_seconds())

    # ----------------------------------------------------------------------------------------
    # one exchange
    # ----------------------------------------------------------------------------------------

    def _path(self, endpoint: str) -> str:
        return f"{self._path_prefix}{API_BASE_PATH}{endpoint}"

    def _exchange(
        self,
        endpoint: str,
        payload: JsonObject,
        *,
        timeout_s: float,
        bounded: bool = False,
    ) -> tuple[int, JsonObject]:
        """POST one signed request; return (status, JSON answer) for 2xx, raise otherwise."""
        body = compact_json(payload)
        if len(body) > MAX_BODY_BYTES:
            raise ValueError(f"request body of {len(body)} bytes is over the 64 KiB limit")
        path = self._path(endpoint)
        headers = signed_headers(
            self.device_id, self._key, "POST", path, body, int(self.now().timestamp())
        )
        headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            "POST",
            f"{self.base_url}{API_BASE_PATH}{endpoint}",
            content=body,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
        )
        try:
            response = (
                self._send_bounded(request, timeout_s) if bounded else self._http.send(request)
            )
        except httpx.TimeoutException as exc:
            raise NetworkError(f"timeout: {exc}") from exc
        except httpx.TransportError as exc:
            raise NetworkError(f"connection error: {exc}") from exc
        return _read_answer(response)

    def _send_bounded(self, request: httpx.Request, limit_s: float) -> httpx.Response:
        """``http.send`` that gives up after ``limit_s`` seconds of wall-clock time.

        A request abandoned by the watchdog keeps running in its daemon thread; its answer is
        ignored, which is safe because every retry carries the same idempotent body.
        """
        if not self._watchdog:
            return self._http.send(request)
        outcome: list[httpx.Response | Exception] = []
        done = threading.Event()

        def run() -> None:
            try:
                outcome.append(self._http.send(request))
            except Exception as exc:  # noqa: BLE001 - handed to the waiting thread
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=run, name="msa-alarm-request", daemon=True).start()
        if not done.wait(limit_s + WATCHDOG_GRACE_S):
            raise httpx.TimeoutException(
                "no answer within the SMS fallback budget", request=request
            )
        result = outcome[0]
        if isinstance(result, Exception):
            raise result
        return result

    def _call(self, endpoint: str, build: Callable[[], JsonObject]) -> tuple[int, JsonObject]:
        """One request with the clock-skew rule: correct the offset and retry once."""
        try:
            return self._exchange(endpoint, build(), timeout_s=self.timeout_s)
        except ApiError as exc:
            if exc.code != "clock_skew" or exc.server_time is None:
                raise
            self.correct_clock(exc.server_time)
        return self._exchange(endpoint, build(), timeout_s=self.timeout_s)

    # ----------------------------------------------------------------------------------------
    # the alarm
    # ----------------------------------------------------------------------------------------

    def raise_alarm(
        self,
        trigger: Trigger | str,
        location: Location | None,
        battery: Battery | None = None,
        call_state: str | None = None,
        alarm_id: uuid.UUID | str | None = None,
        *,
        pressed_at: datetime | None = None,
        between_attempts: Callable[[], object] | None = None,
    ) -> AlarmAnswer:
        """Raise the alarm of one press and return the centre's answer.

        ``pressed_at`` defaults to now (device clock); ``alarm_id`` to a new UUID4 — pass the
        same one again only for the same press. ``call_state`` is ``"dialing"``, ``"none"`` or
        ``None``. ``between_attempts`` is called repeatedly while waiting for a retry (the
        alarm session samples positions and call events there).

        Sends the fallback SMS (reason ``N``) when the data path fails as described in the
        module docstring, and keeps retrying for ``give_up_after_s`` from the press. Raises
        :class:`ApiError` at once for a definitive refusal (400, 401, 404, 413: the SMS has
        then been sent too, because the centre does not know of the press), and the last
        :class:`MsaClientError` when giving up.
        """
        if call_state not in {None, "dialing", "none"}:
            raise ValueError("call_state is 'dialing', 'none' or None")
        started = self._clock()
        delivery = _PressDelivery(
            self,
            alarm_id=_as_uuid(alarm_id) if alarm_id is not None else uuid.uuid4(),
            trigger=Trigger(trigger),
            pressed_at=pressed_at if pressed_at is not None else started,
            started=started,
            fix=location if location is not None and location.is_fix else None,
            battery=battery,
            call_state=call_state,
        )
        return delivery.run(between_attempts)

    def _wait_until(self, wake: datetime, tick: Callable[[], object] | None) -> None:
        while True:
            if tick is not None:
                tick()
            left = (wake - self._clock()).total_seconds()
            if left <= 0:
                return
            self.sleep(min(left, 1.0) if tick is not None else left)

    # ----------------------------------------------------------------------------------------
    # fallback SMS
    # ----------------------------------------------------------------------------------------

    def fallback_sms_text(
        self,
        *,
        alarm_id: uuid.UUID | str,
        pressed_at: datetime,
        location: Location | None,
        trigger: Trigger | str,
        reason: SmsReason | str,
    ) -> str:
        """The fallback SMS of a press; ``pressed_at`` is on the device clock (the offset
        learnt from the centre is applied here)."""
        fix = location if location is not None and location.is_fix else None
        return format_fallback_sms(
            key=self._key,
            device_id=self.device_id,
            alarm_id=_as_uuid(alarm_id),
            pressed_at_unix=int((pressed_at + self.clock_offset).timestamp()),
            lat=None if fix is None else fix.lat,
            lon=None if fix is None else fix.lon,
            accuracy_m=None if fix is None else fix.accuracy_m,
            trigger=Trigger(trigger).value,
            reason=SmsReason(reason).value,
        )

    def send_fallback_sms(
        self,
        *,
        alarm_id: uuid.UUID | str,
        pressed_at: datetime,
        location: Location | None,
        trigger: Trigger | str,
        reason: SmsReason | str,
    ) -> str:
        """Send the fallback SMS to the centre's number; return its text.

        Raises :class:`SmsError` when no transport or number is configured or sending failed.
        """
        text = self.fallback_sms_text(
            alarm_id=alarm_id,
            pressed_at=pressed_at,
            location=location,
            trigger=trigger,
            reason=reason,
        )
        if self._sms is None or not self.sms_number:
            raise SmsError("no SMS transport or centre SMS number configured")
        self._sms.send(self.sms_number, text)
        self.sms_record.append((self._clock(), text))
        logger.warning("fallback_sms_sent reason=%s", SmsReason(reason).value)
        return text

    def try_fallback_sms(self, **kwargs: Any) -> bool:
        """:meth:`send_fallback_sms`, logging a failure instead of raising; ``True`` if sent."""
        try:
            self.send_fallback_sms(**kwargs)
        except SmsError as exc:
            logger.error("fallback_sms_failed error=%s", exc)  # noqa: TRY400 - no traceback
            return False
        return True

    # ----------------------------------------------------------------------------------------
    # the other endpoints
    # ----------------------------------------------------------------------------------------

    def send_locations(
        self, alarm_id: uuid.UUID | str, fixes: Sequence[Location]
    ) -> LocationsAnswer:
        """Send 1 to 100 fixes, oldest first (use :class:`~msa_client.session.PositionBuffer`
        to keep and batch a backlog)."""
        if not 1 <= len(fixes) <= MAX_FIXES_PER_REQUEST:
            raise ValueError(f"send 1 to {MAX_FIXES_PER_REQUEST} fixes per request")
        payload = {"fixes": [fix.to_json() for fix in fixes]}
        _, data = self._call(f"/alarms/{_as_uuid(alarm_id)}/locations", lambda: payload)
        return _parse(LocationsAnswer.from_json, data)

    def call_event(
        self, alarm_id: uuid.UUID | str, event: CallEvent | str, at: datetime | None = None
    ) -> CallAnswer:
        """Report a call state; ``at`` is on the device clock (defaults to now)."""
        kind = CallEvent(event)
        moment = at if at is not None else self._clock()

        def build() -> JsonObject:
            return {"event": kind.value, "at": format_time(moment + self.clock_offset)}

        _, data = self._call(f"/alarms/{_as_uuid(alarm_id)}/call", build)
        return _parse(CallAnswer.from_json, data)

    def cancel(
        self, alarm_id: uuid.UUID | str, pin: str, at: datetime | None = None
    ) -> CancelAnswer:
        """Cancel on the phone. ``pin`` is ``"normal"`` or ``"duress"``; the app must show the
        same thing for both, as the centre answers both identically."""
        if pin not in {"normal", "duress"}:
            raise ValueError("pin is 'normal' or 'duress'")
        moment = at if at is not None else self._clock()

        def build() -> JsonObject:
            return {"at": format_time(moment + self.clock_offset), "pin": pin}

        _, data = self._call(f"/alarms/{_as_uuid(alarm_id)}/cancel", build)
        return _parse(CancelAnswer.from_json, data)

    def heartbeat(self, status: DeviceStatus) -> HeartbeatAnswer:
        """Tell the centre the device is alive (never a position). Also corrects the clock
        offset when the centre's ``server_time`` is more than 30 s away from :meth:`now`."""
        _, data = self._call("/heartbeat", lambda: status.to_json(self.now()))
        answer = _parse(HeartbeatAnswer.from_json, data)
        drift = abs((answer.server_time - self.now()).total_seconds())
        if drift > HEARTBEAT_CLOCK_CORRECTION_S:
            self.correct_clock(answer.server_time)
        return answer

    def close(self) -> None:
        self._http.close()


class _PressDelivery:
    """The delivery of one press: attempts, backoff, the 5 s SMS deadline, the skew retry."""

    def __init__(
        self,
        client: DeviceClient,
        *,
        alarm_id: uuid.UUID,
        trigger: Trigger,
        pressed_at: datetime,
        started: datetime,
        fix: Location | None,
        battery: Battery | None,
        call_state: str | None,
    ) -> None:
        self.client = client
        self.alarm_id = alarm_id
        self.trigger = trigger
        self.pressed_at = pressed_at
        self.fix = fix
        self.battery = battery
        self.call_state = call_state
        self.deadline = started + timedelta(seconds=client.fallback_after_s)
        self.give_up_at = started + timedelta(seconds=client.give_up_after_s)
        self.sms_done = False
        self.attempts = 0
        self.skew_retried = False
        self.last_error: MsaClientError | None = None
        self.retry_after: float | None = None
        self.retry_now = False

    def payload(self) -> JsonObject:
        payload: JsonObject = {
            "alarm_id": str(self.alarm_id),
            "trigger": self.trigger.value,
            "pressed_at": format_time(self.pressed_at + self.client.clock_offset),
            "location": None if self.fix is None else self.fix.to_json(),
        }
        if self.battery is not None:
            payload["battery"] = self.battery.to_json()
        if self.call_state is not None:
            payload["call"] = {"state": self.call_state}
        return payload

    def fallback(self) -> None:
        if not self.sms_done:
            self.sms_done = self.client.try_fallback_sms(
                alarm_id=self.alarm_id,
                pressed_at=self.pressed_at,
                location=self.fix,
                trigger=self.trigger,
                reason=SmsReason.NO_DATA,
            )

    def run(self, between_attempts: Callable[[], object] | None) -> AlarmAnswer:
        client = self.client
        retries = 0
        while True:
            answer = self.attempt()
            if answer is not None:
                return answer
            if self.retry_now:  # the clock was corrected: retry at once, once
                continue
            now = client.device_time()
            if now >= self.give_up_at:
                self.fallback()
                logger.error("alarm_given_up attempts=%d sms=%s", self.attempts, self.sms_done)
                assert self.last_error is not None
                raise self.last_error
            delay = client.backoff.delay(retries)
            retries += 1
            if self.retry_after is not None:
                delay = max(delay, self.retry_after)
            wake = min(now + timedelta(seconds=delay), self.give_up_at)
            if not self.sms_done and now < self.deadline < wake:
                # the SMS must not wait for the backoff: wake at the deadline, send it, then
                # keep honouring the backoff (and Retry-After) for the data alarm
                client._wait_until(self.deadline, between_attempts)
                self.fallback()
            client._wait_until(wake, between_attempts)

    def attempt(self) -> AlarmAnswer | None:
        """One attempt: the answer, or ``None`` to retry (at once when ``retry_now``)."""
        client = self.client
        now = client.device_time()
        if not self.sms_done and now >= self.deadline:
            self.fallback()
        pending = not self.sms_done and now < self.deadline
        remaining = (self.deadline - now).total_seconds()
        budget = max(MIN_ATTEMPT_S, remaining - SMS_MARGIN_S) if pending else client.timeout_s
        self.attempts += 1
        self.retry_after = None
        self.retry_now = False
        try:
            status, data = client._exchange(
                "/alarms", self.payload(), timeout_s=budget, bounded=pending
            )
            answer = AlarmAnswer.from_json(data, created=status == 201)
        except NetworkError as exc:
            logger.warning("alarm_attempt_failed attempt=%d error=network", self.attempts)
            self.last_error = exc
            self.fallback()
            return None
        except ApiError as exc:
            logger.warning("alarm_attempt_failed attempt=%d code=%s", self.attempts, exc.code)
            self.last_error = exc
            if exc.code == "clock_skew" and exc.server_time is not None and not self.skew_retried:
                self.skew_retried = True
                client.correct_clock(exc.server_time)
                self.retry_now = True
                return None
            if exc.status == 503 or not exc.retryable:
                self.fallback()
            if not exc.retryable:
                raise
            self.retry_after = exc.retry_after
            return None
        except ValueError as exc:  # a 2xx we cannot read: ask again, it is idempotent
            self.last_error = ApiError(0, "bad_answer", str(exc))
            return None
        logger.info(
            "alarm_sent attempt=%d created=%s sms=%s", self.attempts, answer.created, self.sms_done
        )
        return replace(answer, sms_sent=self.sms_done, attempts=self.attempts)


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _parse(parser: Callable[[JsonObject], _T], data: JsonObject) -> _T:
    try:
        return parser(data)
    except ValueError as exc:
        raise ApiError(200, "bad_answer", f"unreadable answer: {exc}") from exc


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _read_answer(response: httpx.Response) -> tuple[int, JsonObject]:
    status = response.status_code
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if 200 <= status < 300:
        if not isinstance(data, dict):
            raise ApiError(status, "bad_answer", "the answer is not a JSON object")
        return status, data
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        code = "unavailable" if status == 503 else "unexpected"
        raise ApiError(status, code, f"HTTP {status} without an MSA error body")
    server_time = None
    # protocol.md: a clock_skew body "carries server_time"; read it at the top or in "error".
    raw_time = data.get("server_time") if isinstance(data, dict) else None
    raw_time = raw_time if raw_time is not None else error.get("server_time")
    if isinstance(raw_time, str):
        try:
            server_time = parse_time(raw_time)
        except ValueError:
            server_time = None
    fields = error.get("fields")
    raise ApiError(
        status,
        str(error.get("code", "unexpected")),
        str(error.get("message", "")),
        fields=fields if isinstance(fields, dict) else None,
        retry_after=_retry_after(response),
        server_time=server_time,
    )
