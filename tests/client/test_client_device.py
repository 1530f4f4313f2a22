"""DeviceClient against a scripted centre (httpx.MockTransport) on a fake clock."""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import msa_protocol as p
from msa_client.client import Backoff, DeviceClient
from msa_client.models import (
    ApiError,
    Battery,
    ButtonStatus,
    DeviceStatus,
    Location,
    NetworkError,
    Permissions,
)
from msa_client.testing import FakeClock, RecordingSmsTransport

KEY = bytes(range(32))
ALARM_ID = uuid.UUID("5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21")
PRESS = datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
FIX = Location(
    lat=51.054342,
    lon=3.717424,
    accuracy_m=12,
    fix_at=datetime(2026, 3, 14, 8, 15, 0, tzinfo=UTC),
    source="gps",
)
VECTOR_BODY = (
    b'{"alarm_id":"5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21","trigger":"button",'
    b'"pressed_at":"2026-03-14T08:15:02Z","location":{"lat":51.054342,"lon":3.717424,'
    b'"accuracy_m":12,"fix_at":"2026-03-14T08:15:00Z","source":"gps"}}'
)
SMS_NUMBER = "+3292000112"


def stamped(sent_at: datetime | None) -> datetime:
    """When a RecordingSmsTransport on a clock sent an SMS (never None with a clock)."""
    assert sent_at is not None
    return sent_at


def alarm_answer(status=201, alarm_id=ALARM_ID):
    return httpx.Response(
        status,
        json={
            "alarm_id": str(alarm_id),
            "incident": "GNT-2026-00042",
            "report_interval_s": 10,
            "track_until": None,
        },
    )


def error(status, code, message="nope", **extra):
    body = {"error": {"code": code, "message": message}} | extra
    return httpx.Response(status, json=body)


class Centre:
    """Plays the centre: answers from a script of callables, records every request with the
    fake time it arrived, and checks every signature."""

    def __init__(self, clock, *answers):
        self.clock = clock
        self.answers = list(answers)
        self.requests = []

    def __call__(self, request):
        body = request.read()
        headers = request.headers
        assert p.verify_signature(
            KEY,
            request.method,
            request.url.path,
            headers["X-MSA-Timestamp"],
            body,
            received=headers["X-MSA-Signature"],
        )
        assert headers["X-MSA-Device"] == "dev-7KQ2"
        assert headers["Content-Type"] == "application/json"
        self.requests.append((self.clock.elapsed(), request, body))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer(request) if callable(answer) else answer

    @property
    def times(self):
        return [t for t, _, _ in self.requests]

    def bodies(self):
        return [json.loads(body) for _, _, body in self.requests]


def make_client(clock, centre, sms=None, **kwargs):
    return DeviceClient(
        "https://msa.gent.example",
        "dev-7KQ2",
        KEY,
        http=httpx.Client(transport=httpx.MockTransport(centre)),
        clock=clock,
        sms=sms if sms is not None else RecordingSmsTransport(clock),
        sms_number=SMS_NUMBER,
        sleep=clock.sleep,
        **kwargs,
    )


# -- the test vector, produced by the client ---------------------------------------------------


def test_raise_alarm_sends_exactly_the_test_vector_bytes_and_signature():
    clock = FakeClock(PRESS + timedelta(seconds=1))
    centre = Centre(clock, alarm_answer())
    client = make_client(clock, centre)
    answer = client.raise_alarm("button", FIX, alarm_id=ALARM_ID, pressed_at=PRESS)
    _, request, body = centre.requests[0]
    assert body == VECTOR_BODY
    assert request.url.path == "/api/device/v1/alarms"
    assert request.headers["X-MSA-Timestamp"] == "1773476103"
    assert request.headers["X-MSA-Signature"] == (
        "7e1b621d2d2ac43da1e39db780f3b1247a068e5ad719f3909a5e6839036794d3"
    )
    assert (answer.incident, answer.created, answer.sms_sent, answer.attempts) == (
        "GNT-2026-00042",
        True,
        False,
        1,
    )


def test_raise_alarm_optional_parts_and_200_means_already_known():
    clock = FakeClock(PRESS)
    centre = Centre(clock, alarm_answer(200))
    client = make_client(clock, centre)
    answer = client.raise_alarm(
        p.Trigger.DURESS, None, Battery(phone_pct=80, button_pct=None), "dialing"
    )
    body = centre.bodies()[0]
    uuid.UUID(body["alarm_id"])  # a fresh UUID per press
    assert body["trigger"] == "duress"
    assert body["location"] is None
    assert body["battery"] == {"phone_pct": 80, "button_pct": None}
    assert body["call"] == {"state": "dialing"}
    assert answer.created is False


def test_a_fix_at_0_0_is_sent_as_no_location():
    clock = FakeClock(PRESS)
    centre = Centre(clock, alarm_answer())
    zero = Location(lat=0, lon=0, accuracy_m=5, fix_at=PRESS)
    make_client(clock, centre).raise_alarm("button", zero)
    assert centre.bodies()[0]["location"] is None


def test_a_path_prefix_is_part_of_the_signed_path():
    clock = FakeClock(PRESS)
    centre = Centre(clock, alarm_answer())
    client = DeviceClient(
        "https://police.example/msa",
        "dev-7KQ2",
        p.encode_key(KEY),
        http=httpx.Client(transport=httpx.MockTransport(centre)),
        clock=clock,
    )
    client.raise_alarm("test", None)
    assert centre.requests[0][1].url.path == "/msa/api/device/v1/alarms"


# -- retries and the 5 s SMS fallback -----------------------------------------------------


def test_retry_with_exponential_backoff_honours_retry_after_and_sms_at_5_s():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)
    centre = Centre(
        clock,
        error(500, "internal"),
        error(502, "bad_gateway"),
        httpx.Response(
            429,
            headers={"Retry-After": "7"},
            json={"error": {"code": "rate_limited", "message": "slow down"}},
        ),
        alarm_answer(),
    )
    client = make_client(clock, centre, sms=sms)
    answer = client.raise_alarm("button", FIX, alarm_id=ALARM_ID)
    # 0.5 s, then 1 s, then max(2 s backoff, 7 s Retry-After)
    assert centre.times == [0.0, 0.5, 1.5, 8.5]
    # no answer within 5 s: the SMS left at exactly 5 s, the backoff was kept after it
    assert [(stamped(t) - PRESS).total_seconds() for t, _, _ in sms.sent] == [5.0]
    to, text = sms.sent[0][1:]
    assert to == SMS_NUMBER
    assert text.startswith("MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.05434 3.71742 12 BN ")
    assert p.verify_sms_mac(KEY, text)
    assert (answer.sms_sent, answer.attempts) == (True, 4)
    # every attempt carries the same body: one alarm_id per press
    assert len({b["alarm_id"] for b in centre.bodies()}) == 1


def test_backoff_is_capped():
    backoff = Backoff(initial_s=0.5, factor=2, max_s=30)
    assert [backoff.delay(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30


def test_timeout_sends_the_sms_within_5_s_and_keeps_retrying_the_data_alarm():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)
    budgets = []

    def never_answers(request):
        budget = request.extensions["timeout"]["read"]
        budgets.append(budget)
        clock.advance(budget)  # the centre stays silent for the whole timeout
        raise httpx.ReadTimeout("silence", request=request)

    centre = Centre(clock, never_answers, never_answers, alarm_answer(200))
    answer = make_client(clock, centre, sms=sms).raise_alarm("button", FIX, alarm_id=ALARM_ID)
    assert budgets[0] <= p.SMS_FALLBACK_AFTER_S - 0.5
    sent_at = (stamped(sms.sent[0][0]) - PRESS).total_seconds()
    assert sent_at <= 5.0
    assert len(sms.sent) == 1  # once per press, however many retries
    assert answer.sms_sent
    assert answer.created is False  # the centre had the SMS first
    assert len(centre.requests) == 3


def test_connection_error_sends_the_sms_at_once():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)

    def refused(request):
        raise httpx.ConnectError("refused", request=request)

    centre = Centre(clock, refused, refused, refused, alarm_answer())
    answer = make_client(clock, centre, sms=sms).raise_alarm("app", None, alarm_id=ALARM_ID)
    assert [t for t, _, _ in sms.sent] == [PRESS]
    assert sms.texts[0].split(" ")[4:8] == ["-", "-", "-", "AN"]
    assert centre.times == [0.0, 0.5, 1.5, 3.5]
    assert answer.attempts == 4


def test_503_sends_the_sms_at_once():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)
    centre = Centre(clock, error(503, "unavailable"), alarm_answer())
    make_client(clock, centre, sms=sms).raise_alarm("button", FIX, alarm_id=ALARM_ID)
    assert [t for t, _, _ in sms.sent] == [PRESS]


def test_503_without_an_msa_body_also_falls_back():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)
    centre = Centre(clock, httpx.Response(503, text="<html>down</html>"), alarm_answer())
    make_client(clock, centre, sms=sms).raise_alarm("button", FIX)
    assert len(sms.sent) == 1


def test_slow_failures_still_give_the_sms_by_5_s():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)

    def slow_500(request):
        clock.advance(2.0)
        return error(500, "internal")

    centre = Centre(clock, slow_500, slow_500, slow_500, alarm_answer())
    make_client(clock, centre, sms=sms).raise_alarm("button", FIX)
    assert (stamped(sms.sent[0][0]) - PRESS).total_seconds() <= 5.0


def test_the_watchdog_bounds_a_hanging_request_in_wall_clock_time():
    clock = FakeClock(PRESS)  # the fake time stands still: only the watchdog can help
    sms = RecordingSmsTransport(clock)
    release = threading.Event()
    calls = []

    def hangs_then_answers(request):
        calls.append(request)
        if len(calls) == 1:
            release.wait(5)
            raise httpx.ReadTimeout("late", request=request)
        return alarm_answer()

    centre = Centre(clock, hangs_then_answers)
    client = make_client(clock, centre, sms=sms, fallback_after_s=0.5)
    started = time.monotonic()
    try:
        answer = client.raise_alarm("button", FIX)
    finally:
        release.set()
    assert time.monotonic() - started < 2.0
    assert answer.sms_sent
    assert len(sms.sent) == 1


def test_a_failing_sms_transport_is_tried_again():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock, fail=1)

    def refused(request):
        raise httpx.ConnectError("refused", request=request)

    centre = Centre(clock, refused, refused, alarm_answer())
    answer = make_client(clock, centre, sms=sms).raise_alarm("button", None)
    assert [(stamped(t) - PRESS).total_seconds() for t, _, _ in sms.sent] == [0.5]
    assert answer.sms_sent


def test_giving_up_raises_the_last_error_after_one_sms():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)

    def refused(request):
        raise httpx.ConnectError("refused", request=request)

    client = make_client(clock, Centre(clock, refused), sms=sms, give_up_after_s=120)
    with pytest.raises(NetworkError, match="connection error"):
        client.raise_alarm("button", FIX)
    assert len(sms.sent) == 1
    assert clock.elapsed() == 120


def test_a_definitive_refusal_raises_and_still_sends_the_sms():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)
    centre = Centre(
        clock,
        httpx.Response(
            400,
            json={
                "error": {
                    "code": "validation_error",
                    "message": "bad",
                    "fields": {"location.lat": "out of range"},
                }
            },
        ),
    )
    with pytest.raises(ApiError) as info:
        make_client(clock, centre, sms=sms).raise_alarm("button", FIX)
    assert (info.value.status, info.value.code) == (400, "validation_error")
    assert info.value.fields == {"location.lat": "out of range"}
    assert len(centre.requests) == 1
    assert len(sms.sent) == 1


def test_without_an_sms_transport_the_alarm_still_goes_through():
    clock = FakeClock(PRESS)
    centre = Centre(clock, error(503, "unavailable"), alarm_answer())
    client = DeviceClient(
        "https://msa.gent.example",
        "dev-7KQ2",
        KEY,
        http=httpx.Client(transport=httpx.MockTransport(centre)),
        clock=clock,
        sleep=clock.sleep,
    )
    answer = client.raise_alarm("button", FIX)
    assert answer.sms_sent is False
    assert answer.attempts == 2


def test_an_unreadable_2xx_is_asked_again():
    clock = FakeClock(PRESS)
    centre = Centre(clock, httpx.Response(201, json={"alarm_id": 5}), alarm_answer())
    answer = make_client(clock, centre).raise_alarm("button", FIX)
    assert answer.attempts == 2


# -- clock skew ---------------------------------------------------------------------------


def skew_answer(server_time):
    return error(401, "clock_skew", "your clock is off", server_time=p.format_time(server_time))


def test_clock_skew_corrects_the_offset_and_retries_once_at_once():
    clock = FakeClock(PRESS - timedelta(hours=1))  # the phone is an hour behind
    centre = Centre(clock, skew_answer(PRESS), alarm_answer())
    client = make_client(clock, centre)
    client.raise_alarm("button", None)
    first, second = centre.requests
    assert first[1].headers["X-MSA-Timestamp"] == str(int((PRESS - timedelta(hours=1)).timestamp()))
    assert second[1].headers["X-MSA-Timestamp"] == str(int(PRESS.timestamp()))
    assert json.loads(second[2])["pressed_at"] == "2026-03-14T08:15:02Z"
    assert second[0] == first[0]  # no backoff
    assert client.clock_offset == timedelta(hours=1)
    assert client.now() == PRESS


def test_clock_skew_twice_is_not_retried_forever():
    clock = FakeClock(PRESS)
    sms = RecordingSmsTransport(clock)
    centre = Centre(clock, skew_answer(PRESS + timedelta(hours=1)))
    with pytest.raises(ApiError, match="clock_skew"):
        make_client(clock, centre, sms=sms).raise_alarm("button", None)
    assert len(centre.requests) == 2
    assert len(sms.sent) == 1


def test_clock_skew_on_other_endpoints_and_the_sms_uses_corrected_time():
    clock = FakeClock(PRESS - timedelta(seconds=900))
    centre = Centre(
        clock,
        skew_answer(PRESS),
        httpx.Response(200, json={"alarm_id": str(ALARM_ID), "track_until": None}),
    )
    client = make_client(clock, centre)
    client.call_event(ALARM_ID, "dialing")
    assert centre.bodies()[1] == {"event": "dialing", "at": "2026-03-14T08:15:02Z"}
    text = client.fallback_sms_text(
        alarm_id=ALARM_ID, pressed_at=clock(), location=None, trigger="button", reason="G"
    )
    assert text == "MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS"


# -- the other endpoints ------------------------------------------------------------------


def test_send_locations_compact_json_and_answer():
    clock = FakeClock(PRESS)
    centre = Centre(
        clock,
        httpx.Response(
            200,
            json={
                "accepted": 2,
                "continue": True,
                "report_interval_s": 15,
                "track_until": "2026-03-14T10:15:02Z",
            },
        ),
    )
    client = make_client(clock, centre)
    moving = Location(
        lat=51.05,
        lon=3.72,
        accuracy_m=4.5,
        fix_at=PRESS + timedelta(seconds=10),
        source="fused",
        speed_mps=1.4,
        heading_deg=90,
        altitude_m=7.25,
    )
    answer = client.send_locations(str(ALARM_ID), [FIX, moving])
    _, request, body = centre.requests[0]
    assert request.url.path == f"/api/device/v1/alarms/{ALARM_ID}/locations"
    assert b" " not in body
    assert json.loads(body)["fixes"][1] == {
        "lat": 51.05,
        "lon": 3.72,
        "accuracy_m": 4.5,
        "fix_at": "2026-03-14T08:15:12Z",
        "source": "fused",
        "speed_mps": 1.4,
        "heading_deg": 90,
        "altitude_m": 7.25,
    }
    assert (answer.accepted, answer.continue_tracking, answer.report_interval_s) == (2, True, 15)
    assert answer.track_until == datetime(2026, 3, 14, 10, 15, 2, tzinfo=UTC)


@pytest.mark.parametrize("count", [0, 101])
def test_send_locations_takes_1_to_100_fixes(count):
    clock = FakeClock(PRESS)
    client = make_client(clock, Centre(clock, alarm_answer()))
    with pytest.raises(ValueError, match="1 to 100"):
        client.send_locations(ALARM_ID, [FIX] * count)


def test_cancel_and_404():
    clock = FakeClock(PRESS)
    centre = Centre(
        clock,
        httpx.Response(200, json={"alarm_id": str(ALARM_ID), "status": "cancelled"}),
        error(404, "not_found"),
    )
    client = make_client(clock, centre)
    assert client.cancel(ALARM_ID, "duress").status == "cancelled"
    assert centre.bodies()[0] == {"at": "2026-03-14T08:15:02Z", "pin": "duress"}
    with pytest.raises(ApiError) as info:
        client.cancel(ALARM_ID, "normal")
    assert (info.value.status, info.value.code, info.value.retryable) == (404, "not_found", False)
    with pytest.raises(ValueError, match="pin"):
        client.cancel(ALARM_ID, "1234")


def test_heartbeat_body_has_no_position_and_corrects_a_large_drift():
    clock = FakeClock(PRESS)
    server_time = PRESS + timedelta(seconds=120)
    centre = Centre(
        clock,
        httpx.Response(
            200,
            json={
                "next_heartbeat_s": 600,
                "server_time": p.format_time(server_time),
                "last_test_alarm": None,
            },
        ),
    )
    client = make_client(clock, centre)
    status = DeviceStatus(
        battery=Battery(phone_pct=55, button_pct=90),
        button=ButtonStatus(connected=True, last_seen_at=PRESS),
        permissions=Permissions(location="while_in_use", sms=True, notifications=False),
        data=True,
        app_version="msa-client/0.1",
    )
    answer = client.heartbeat(status)
    assert centre.bodies()[0] == {
        "at": "2026-03-14T08:15:02Z",
        "battery": {"phone_pct": 55, "button_pct": 90},
        "button": {"connected": True, "last_seen_at": "2026-03-14T08:15:02Z"},
        "permissions": {"location": "while_in_use", "sms": True, "notifications": False},
        "network": {"data": True},
        "app_version": "msa-client/0.1",
    }
    assert answer.next_heartbeat_s == 600
    assert client.now() == server_time


def test_error_answers_without_an_msa_body():
    clock = FakeClock(PRESS)
    client = make_client(clock, Centre(clock, httpx.Response(502, text="Bad Gateway")))
    with pytest.raises(ApiError) as info:
        client.call_event(ALARM_ID, "ringing")
    assert (info.value.status, info.value.code, info.value.retryable) == (502, "unexpected", True)


def test_constructor_refuses_bad_configuration():
    with pytest.raises(ValueError, match="device id"):
        DeviceClient("https://x.example", "d", KEY)
    with pytest.raises(ValueError, match="base URL"):
        DeviceClient("msa.example", "dev-1", KEY)
    with pytest.raises(ValueError, match="key"):
        DeviceClient("https://x.example", "dev-1", "short")
