"""The conformance kit: every rule of the device protocol v1 (docs/protocol.md) checked against
a running centre, one result per rule (docs/conformance.md).

Standard library, ``httpx`` and :mod:`msa_protocol` only: no Django, nothing of the server, so
that an app vendor or a member state runs it from any machine. It raises test alarms only
(trigger ``test``: the test lane, never the dispatch queue) and cancels them with the normal
PIN. The rate-limit rule sends heartbeats until one is answered 429 (at most
``rate_limit_max``): the device's heartbeats are refused until the ``Retry-After`` it was
told. The duress PIN escalates even a test alarm at the centre, so its rule runs only when
asked (``duress_pin=True``, ``--duress-pin``): against a test centre, never a live one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from msa_protocol import (
    API_BASE_PATH,
    MAX_BODY_BYTES,
    MAX_FIXES_PER_REQUEST,
    SMS_INBOUND_PATH,
    format_fallback_sms,
    format_time,
    signature,
    signed_headers,
)

TIMEOUT_S = 10.0
STRANGER = "+32000000000"  # a number no case enrols (not even a possible one)
SHOWN = 160  # characters of what was sent and what came back, per line
RATE_LIMIT_MAX = 50  # heartbeats the rate-limit rule sends at most before it gives up


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    passed: bool
    sent: str
    got: str
    why: str = ""

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL"
        why = f" ({self.why})" if self.why and not self.passed else ""
        return f"{mark} {self.rule}{why} | sent: {self.sent} | got: {self.got}"


@dataclass
class Exchange:
    method: str
    path: str
    body: bytes
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    def sent(self) -> str:
        return _short(f"{self.method} {self.path} {self.body.decode('utf-8', 'replace')}")

    def got(self) -> str:
        return _short(f"{self.status} {self.text}")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


class RuleFailedError(Exception):
    pass


def _expect(condition: bool, why: str) -> None:
    if not condition:
        raise RuleFailedError(why)


class Kit:
    """One run against ``base_url`` with one enrolled device (and optionally the gateway's
    token). :meth:`run` yields one :class:`RuleResult` per rule, in protocol.md's order."""

    def __init__(
        self,
        base_url: str,
        *,
        device_id: str,
        key: bytes,
        sms_gateway_token: str | None = None,
        client: httpx.Client | None = None,
        duress_pin: bool = False,
        rate_limit_max: int = RATE_LIMIT_MAX,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.device_id = device_id
        self.key = key
        self.sms_token = sms_gateway_token
        self.http = client or httpx.Client(timeout=TIMEOUT_S)
        self.alarm_id = uuid.uuid4()
        self.incident: str | None = None
        self._sms_ids = iter(range(1, 1_000))
        self._run_tag = uuid.uuid4().hex[:8]
        self.duress_pin = duress_pin
        self.rate_limit_max = rate_limit_max
        self._normal_cancel: Exchange | None = None

    # --- requests ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        try:
            response = self.http.request(
                method, self.base + path, content=body, headers=headers or {}
            )
        except httpx.HTTPError as exc:
            return Exchange(method, path, body, 0, f"no answer: {type(exc).__name__}")
        return Exchange(
            method, path, body, response.status_code, response.text, dict(response.headers)
        )

    def signed(
        self,
        path: str,
        payload: Any,
        *,
        raw: bytes | None = None,
        at: int | None = None,
        device_id: str | None = None,
        tamper: bool = False,
    ) -> Exchange:
        full = API_BASE_PATH.rstrip("/") + path
        body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
        now = int(time.time()) if at is None else at
        headers = signed_headers(device_id or self.device_id, self.key, "POST", full, body, now)
        if tamper:
            headers["X-MSA-Signature"] = signature(self.key, "POST", full, str(now), body + b" ")
        headers["Content-Type"] = "application/json"
        return self.request("POST", full, body, headers=headers)

    def sms(self, payload: dict[str, Any], *, token: str | None = None) -> Exchange:
        headers = {
            "Authorization": f"Bearer {token if token is not None else self.sms_token}",
            "Content-Type": "application/json",
        }
        return self.request("POST", SMS_INBOUND_PATH, json.dumps(payload).encode(), headers=headers)

    # --- building blocks -----------------------------------------------------------------

    def location(self, **changes: Any) -> dict[str, Any]:
        fix = {
            "lat": 51.054342,
            "lon": 3.717424,
            "accuracy_m": 12,
            "fix_at": format_time(datetime.now(UTC) - timedelta(seconds=2)),
            "source": "gps",
        }
        fix.update(changes)
        return fix

    def alarm(self, alarm_id: uuid.UUID | None = None, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "alarm_id": str(alarm_id or self.alarm_id),
            "trigger": "test",
            "pressed_at": format_time(datetime.now(UTC)),
            "location": self.location(),
        }
        body.update(changes)
        return body

    def sms_body(
        self, text: str, *, sender: str = STRANGER, message_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": message_id or f"conformance-{self._run_tag}-{next(self._sms_ids)}",
            "from": sender,
            "to": "+0",
            "text": text,
            "received_at": format_time(datetime.now(UTC)),
        }

    # --- the rules -------------------------------------------------------------------------

    def rules(self) -> list[tuple[str, Callable[[], Exchange]]]:
        rules: list[tuple[str, Callable[[], Exchange]]] = [
            ("openapi.served_unsigned", self.r_openapi),
            ("auth.unknown_device_401", self.r_unknown_device),
            ("auth.invalid_signature_401", self.r_invalid_signature),
            ("auth.clock_skew_401_with_server_time", self.r_clock_skew),
            ("body.not_json_400_malformed", self.r_not_json),
            ("body.not_object_400_malformed", self.r_not_object),
            ("body.over_64KiB_413_too_large", self.r_too_large),
            ("alarm.missing_field_400_validation_error", self.r_missing_field),
            ("alarm.naive_time_400_validation_error", self.r_naive_time),
            ("alarm.lat_out_of_range_400_validation_error", self.r_lat_range),
            ("alarm.fix_in_future_400_validation_error", self.r_future_fix),
            ("alarm.new_press_201", self.r_alarm_201),
            ("alarm.same_press_again_200_same_incident", self.r_alarm_200),
            ("locations.one_fix_accepted", self.r_locations),
            ("locations.zero_zero_is_no_fix", self.r_zero_zero),
            ("locations.no_fixes_400_validation_error", self.r_no_fixes),
            ("locations.over_100_fixes_413_too_large", self.r_too_many_fixes),
            ("alarm.unknown_alarm_id_404_not_found", self.r_not_found),
            ("call.dialing_answered", self.r_call),
            ("cancel.normal_answer_exact", self.r_cancel),
        ]
        if self.duress_pin:
            rules.append(("cancel.duress_answer_same_bytes_as_normal", self.r_cancel_duress))
        rules.append(("heartbeat.answer_and_last_test_alarm", self.r_heartbeat))
        if self.sms_token:
            rules += [
                ("sms.wrong_token_401", self.r_sms_token),
                ("sms.malformed_body_400", self.r_sms_malformed),
                ("sms.valid_mac_raised", self.r_sms_raised),
                ("sms.redelivery_duplicate", self.r_sms_duplicate),
                ("sms.then_data_alarm_one_incident", self.r_sms_then_data),
                ("sms.bad_mac_unknown_sender_rejected", self.r_sms_rejected),
            ]
        if self.rate_limit_max > 0:
            # last: it leaves the device's heartbeats refused until Retry-After
            rules.append(("rate_limit.429_with_retry_after", self.r_rate_limit))
        return rules

    def run(self) -> Iterator[RuleResult]:
        for name, rule in self.rules():
            self._last: Exchange | None = None
            try:
                exchange = rule()
            except RuleFailedError as exc:
                last = self._last
                yield RuleResult(
                    name,
                    passed=False,
                    sent=last.sent() if last else "-",
                    got=last.got() if last else "-",
                    why=str(exc),
                )
            else:
                yield RuleResult(name, passed=True, sent=exchange.sent(), got=exchange.got())

    def _seen(self, exchange: Exchange) -> Exchange:
        self._last = exchange
        return exchange

    def _error(self, exchange: Exchange, status: int, code: str) -> Exchange:
        self._seen(exchange)
        _expect(exchange.status == status, f"expected {status}, got {exchange.status}")
        body = exchange.json()
        _expect(
            isinstance(body, dict) and isinstance(body.get("error"), dict),
            'the error body is not {"error": {...}}',
        )
        error = body["error"]
        _expect(error.get("code") == code, f"expected code {code}, got {error.get('code')}")
        _expect(isinstance(error.get("message"), str) and error["message"], "no error message")
        if code == "validation_error":
            _expect(isinstance(error.get("fields"), dict) and error["fields"], "no fields")
        return exchange

    # each rule: send, check, return the exchange shown on the line

    def r_openapi(self) -> Exchange:
        ex = self._seen(self.request("GET", API_BASE_PATH.rstrip("/") + "/openapi.json"))
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        doc = ex.json()
        _expect(isinstance(doc, dict) and "openapi" in doc, "not an OpenAPI document")
        paths = " ".join(doc.get("paths", {}))
        for part in ("/alarms", "/locations", "/call", "/cancel", "/heartbeat"):
            _expect(part in paths, f"{part} is not described")
        return ex

    def r_unknown_device(self) -> Exchange:
        ex = self.signed(
            "/alarms", self.alarm(), device_id="conformance-nobody-" + self._run_tag[:6]
        )
        return self._error(ex, 401, "unknown_device")

    def r_invalid_signature(self) -> Exchange:
        return self._error(
            self.signed("/alarms", self.alarm(), tamper=True), 401, "invalid_signature"
        )

    def r_clock_skew(self) -> Exchange:
        ex = self._error(
            self.signed("/heartbeat", self.heartbeat(), at=int(time.time()) - 3600),
            401,
            "clock_skew",
        )
        _expect(isinstance(ex.json().get("server_time"), str), "no server_time in the body")
        return ex

    def r_not_json(self) -> Exchange:
        return self._error(self.signed("/alarms", None, raw=b"not json"), 400, "malformed")

    def r_not_object(self) -> Exchange:
        return self._error(self.signed("/alarms", None, raw=b"[1, 2]"), 400, "malformed")

    def r_too_large(self) -> Exchange:
        raw = b'{"pad":"' + b"x" * (MAX_BODY_BYTES + 16) + b'"}'
        ex = self._error(self.signed("/alarms", None, raw=raw), 413, "too_large")
        ex.body = raw[:40] + b"... (64 KiB + 26 bytes)"
        return ex

    def r_missing_field(self) -> Exchange:
        body = self.alarm(uuid.uuid4())
        del body["trigger"]
        return self._error(self.signed("/alarms", body), 400, "validation_error")

    def r_naive_time(self) -> Exchange:
        body = self.alarm(uuid.uuid4(), pressed_at="2026-03-14T08:15:02")
        return self._error(self.signed("/alarms", body), 400, "validation_error")

    def r_lat_range(self) -> Exchange:
        body = self.alarm(uuid.uuid4(), location=self.location(lat=91.0))
        return self._error(self.signed("/alarms", body), 400, "validation_error")

    def r_future_fix(self) -> Exchange:
        future = format_time(datetime.now(UTC) + timedelta(seconds=900))
        body = self.alarm(uuid.uuid4(), location=self.location(fix_at=future))
        return self._error(self.signed("/alarms", body), 400, "validation_error")

    def _alarm_answer(self, ex: Exchange, status: int) -> dict[str, Any]:
        self._seen(ex)
        _expect(ex.status == status, f"expected {status}, got {ex.status}")
        answer: dict[str, Any] = ex.json() or {}
        _expect(isinstance(answer, dict), "the answer is not a JSON object")
        for key in ("alarm_id", "incident", "report_interval_s", "track_until"):
            _expect(key in answer, f"no {key} in the answer")
        _expect(bool(isinstance(answer["incident"], str) and answer["incident"]), "no reference")
        return answer

    def r_alarm_201(self) -> Exchange:
        ex = self.signed("/alarms", self.alarm())
        answer = self._alarm_answer(ex, 201)
        _expect(answer["alarm_id"] == str(self.alarm_id), "another alarm_id in the answer")
        self.incident = answer["incident"]
        return ex

    def r_alarm_200(self) -> Exchange:
        ex = self.signed("/alarms", self.alarm())
        answer = self._alarm_answer(ex, 200)
        _expect(answer["incident"] == self.incident, "the same press became another incident")
        return ex

    def _locations(self, fixes: list[dict[str, Any]]) -> Exchange:
        return self.signed(f"/alarms/{self.alarm_id}/locations", {"fixes": fixes})

    def r_locations(self) -> Exchange:
        ex = self._seen(self._locations([self.location(fix_at=format_time(datetime.now(UTC)))]))
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        answer = ex.json() or {}
        _expect(answer.get("accepted") == 1, f"accepted is {answer.get('accepted')}, not 1")
        _expect(isinstance(answer.get("continue"), bool), "continue is not a boolean")
        _expect("report_interval_s" in answer and "track_until" in answer, "fields missing")
        return ex

    def r_zero_zero(self) -> Exchange:
        at = format_time(datetime.now(UTC) - timedelta(seconds=1))
        ex = self._seen(self._locations([self.location(lat=0.0, lon=0.0, fix_at=at)]))
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        _expect((ex.json() or {}).get("accepted") == 0, "a fix at (0, 0) was counted")
        return ex

    def r_no_fixes(self) -> Exchange:
        return self._error(self._locations([]), 400, "validation_error")

    def r_too_many_fixes(self) -> Exchange:
        fixes = [self.location() for _ in range(MAX_FIXES_PER_REQUEST + 1)]
        ex = self._error(self._locations(fixes), 413, "too_large")
        ex.body = b'{"fixes": [... 101 fixes ...]}'
        return ex

    def r_not_found(self) -> Exchange:
        other = uuid.uuid4()
        at = format_time(datetime.now(UTC))
        for path, body in (
            (f"/alarms/{other}/locations", {"fixes": [self.location()]}),
            (f"/alarms/{other}/call", {"event": "dialing", "at": at}),
            (f"/alarms/{other}/cancel", {"at": at, "pin": "normal"}),
        ):
            ex = self._error(self.signed(path, body), 404, "not_found")
        return ex

    def r_call(self) -> Exchange:
        at = format_time(datetime.now(UTC))
        ex = self._seen(
            self.signed(f"/alarms/{self.alarm_id}/call", {"event": "dialing", "at": at})
        )
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        answer = ex.json() or {}
        _expect(answer.get("alarm_id") == str(self.alarm_id), "another alarm_id")
        _expect("track_until" in answer, "no track_until")
        return ex

    def r_cancel(self) -> Exchange:
        at = format_time(datetime.now(UTC))
        ex = self._seen(self.signed(f"/alarms/{self.alarm_id}/cancel", {"at": at, "pin": "normal"}))
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        _expect(
            ex.json() == {"alarm_id": str(self.alarm_id), "status": "cancelled"},
            "the answer is not exactly {alarm_id, status: cancelled}",
        )
        self._normal_cancel = ex
        return ex

    def r_cancel_duress(self) -> Exchange:
        normal = self._normal_cancel
        _expect(normal is not None, "no normal cancel answer to compare with (its rule failed)")
        assert normal is not None
        other = uuid.uuid4()
        self._alarm_answer(self.signed("/alarms", self.alarm(other)), 201)
        at = format_time(datetime.now(UTC))
        ex = self._seen(self.signed(f"/alarms/{other}/cancel", {"at": at, "pin": "duress"}))
        _expect(ex.status == normal.status, f"status {ex.status}, {normal.status} for normal")
        _expect(
            ex.text == normal.text.replace(str(self.alarm_id), str(other)),
            "the body differs from the normal PIN's answer",
        )
        for header in ("content-type", "content-length"):
            _expect(
                ex.headers.get(header) == normal.headers.get(header),
                f"{header} differs from the normal PIN's answer",
            )
        return ex

    def heartbeat(self) -> dict[str, Any]:
        return {
            "at": format_time(datetime.now(UTC)),
            "battery": {"phone_pct": 80, "button_pct": None},
            "button": {"connected": False, "last_seen_at": None},
            "permissions": {"location": "always", "sms": True, "notifications": True},
            "network": {"data": True},
            "app_version": "msa-conformance",
        }

    def r_heartbeat(self) -> Exchange:
        ex = self._seen(self.signed("/heartbeat", self.heartbeat()))
        _expect(
            ex.status != 429,
            "429: a run less than Retry-After seconds ago used up this device's heartbeats",
        )
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        answer = ex.json() or {}
        _expect(isinstance(answer.get("next_heartbeat_s"), int), "no next_heartbeat_s")
        _expect(isinstance(answer.get("server_time"), str), "no server_time")
        _expect(
            isinstance(answer.get("last_test_alarm"), str),
            "last_test_alarm is empty after a test alarm",
        )
        return ex

    # --- the fallback SMS ------------------------------------------------------------------

    def _fallback(self, alarm_id: uuid.UUID, *, mac_ok: bool = True) -> str:
        return format_fallback_sms(
            key=self.key if mac_ok else bytes(32),
            device_id=self.device_id,
            alarm_id=alarm_id,
            pressed_at_unix=int(time.time()),
            lat=51.05434,
            lon=3.71742,
            accuracy_m=12,
            trigger="test",
            reason="N",
        )

    def r_sms_token(self) -> Exchange:
        ex = self.sms(self.sms_body(self._fallback(uuid.uuid4())), token="msa_wrong")  # noqa: S106 - a wrong token on purpose
        self._seen(ex)
        _expect(ex.status == 401, f"expected 401, got {ex.status}")
        return ex

    def r_sms_malformed(self) -> Exchange:
        ex = self._seen(self.sms({"id": "x"}))
        _expect(ex.status == 400, f"expected 400, got {ex.status}")
        return ex

    def r_sms_raised(self) -> Exchange:
        self._sms_alarm = uuid.uuid4()
        self._sms_message = self.sms_body(self._fallback(self._sms_alarm))
        ex = self._seen(self.sms(self._sms_message))
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        answer = ex.json() or {}
        _expect(answer.get("result") in {"raised", "merged"}, f"result {answer.get('result')}")
        _expect(isinstance(answer.get("incident"), str), "no incident")
        self._sms_incident = answer["incident"]
        return ex

    def r_sms_duplicate(self) -> Exchange:
        ex = self._seen(self.sms(self._sms_message))
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        _expect((ex.json() or {}).get("result") == "duplicate", "a redelivery was not a duplicate")
        return ex

    def r_sms_then_data(self) -> Exchange:
        ex = self.signed("/alarms", self.alarm(self._sms_alarm))
        answer = self._alarm_answer(ex, 200)
        _expect(answer["incident"] == self._sms_incident, "the SMS and the data alarm split")
        return ex

    def r_sms_rejected(self) -> Exchange:
        ex = self._seen(self.sms(self.sms_body(self._fallback(uuid.uuid4(), mac_ok=False))))
        _expect(ex.status == 200, f"expected 200, got {ex.status}")
        answer = ex.json() or {}
        _expect(answer.get("result") == "rejected", f"result {answer.get('result')}")
        _expect(answer.get("incident") is None, "a rejected SMS named an incident")
        return ex

    # --- the rate limit --------------------------------------------------------------------

    def r_rate_limit(self) -> Exchange:
        """Heartbeats, each signed at another second (so none is a replay of another), until
        one is answered 429; it must be ``rate_limited`` with a ``Retry-After``."""
        now = int(time.time())
        for sent in range(1, self.rate_limit_max + 1):
            ex = self.signed("/heartbeat", self.heartbeat(), at=now - sent)
            if ex.status != 200:
                break
            self._seen(ex)
        else:
            raise RuleFailedError(f"no 429 after {self.rate_limit_max} heartbeats")
        self._error(ex, 429, "rate_limited")
        retry_after = ex.headers.get("retry-after", "")
        _expect(bool(retry_after), "no Retry-After header")
        _expect(
            retry_after.isdigit() or retry_after.endswith(" GMT"),
            f"Retry-After {retry_after!r} is neither seconds nor an HTTP date",
        )
        ex.body = f"(heartbeat {sent} of a burst) ".encode() + ex.body
        ex.text = f"Retry-After: {retry_after} {ex.text}"
        return ex
