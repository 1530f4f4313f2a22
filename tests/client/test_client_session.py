"""The press loop, the position backlog and the heartbeat loop, on a fake clock."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import msa_protocol as p
from msa_client.adapters.positions import FixedPosition, ScriptedRoute
from msa_client.client import DeviceClient
from msa_client.models import (
    Battery,
    ButtonStatus,
    DeviceStatus,
    Location,
    LocationsAnswer,
    NetworkError,
    Permissions,
)
from msa_client.session import AlarmSession, HeartbeatLoop, PositionBuffer
from msa_client.testing import FakeClock, RecordingSmsTransport, ScriptedCall

KEY = bytes(range(32))
START = datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
GENT = [(51.05434, 3.71742), (51.05600, 3.72000), (51.05800, 3.72500)]


def stamped(sent_at: datetime | None) -> datetime:
    """When a RecordingSmsTransport on a clock sent an SMS (never None with a clock)."""
    assert sent_at is not None
    return sent_at


def fix(second, lat=51.0):
    return Location(lat=lat, lon=3.0, accuracy_m=5, fix_at=START + timedelta(seconds=second))


# -- the position buffer ------------------------------------------------------------------


def test_backlog_is_sent_in_order_in_batches_of_at_most_100_without_duplicates():
    buffer = PositionBuffer()
    for i in range(250):
        assert buffer.add(fix(i))
    batches: list[list[datetime]] = []
    failures = [NetworkError("offline")]

    def send(batch):
        if len(batches) == 1 and failures:
            raise failures.pop()
        batches.append([f.fix_at for f in batch])
        return LocationsAnswer(
            accepted=len(batch), continue_tracking=True, report_interval_s=10, track_until=None
        )

    with pytest.raises(NetworkError):
        buffer.flush(send)
    assert len(buffer) == 150  # the unsent fixes stay
    buffer.flush(send)
    assert [len(b) for b in batches] == [100, 100, 50]
    sent = [t for b in batches for t in b]
    assert sent == [START + timedelta(seconds=i) for i in range(250)]
    assert len(buffer) == 0


def test_buffer_refuses_repeated_older_and_null_island_fixes_and_caps_its_size():
    buffer = PositionBuffer(max_pending=3)
    assert buffer.add(fix(10))
    assert not buffer.add(fix(10, lat=52.0))  # same fix_at
    assert not buffer.add(fix(5))  # older
    assert not buffer.add(None)
    assert not buffer.add(Location(lat=0, lon=0, accuracy_m=1, fix_at=START + timedelta(1)))
    for second in (11, 12, 13):
        buffer.add(fix(second))
    assert [f.fix_at.second for f in buffer.next_batch()] == [13, 14, 15]
    assert buffer.dropped == 1
    buffer.mark_sent(fix(100))
    assert not buffer.add(fix(99))


def test_flush_stops_and_clears_when_the_centre_stops_tracking():
    buffer = PositionBuffer()
    for i in range(150):
        buffer.add(fix(i))
    calls = []

    def send(batch):
        calls.append(len(batch))
        return LocationsAnswer(
            accepted=0, continue_tracking=False, report_interval_s=10, track_until=None
        )

    answer = buffer.flush(send)
    assert answer is not None
    assert not answer.continue_tracking
    assert calls == [100]
    assert len(buffer) == 0


# -- the press loop -----------------------------------------------------------------------


class Centre:
    """Routes by path; ``locations`` is a list of answers/exceptions consumed in order."""

    def __init__(self, clock, *, alarm=None, locations=(), call_status=200):
        self.clock = clock
        self.alarm = list(alarm or [201])
        self.locations = list(locations)
        self.call_status = call_status
        self.log = []

    def __call__(self, request):
        body = json.loads(request.read())
        path = request.url.path.removeprefix("/api/device/v1")
        self.log.append((self.clock.elapsed(), path.rsplit("/", 1)[-1], body))
        if path == "/alarms":
            status = self.alarm.pop(0) if len(self.alarm) > 1 else self.alarm[0]
            if isinstance(status, Exception):
                raise status
            if status >= 300:
                return httpx.Response(status, json={"error": {"code": "x", "message": "x"}})
            return httpx.Response(
                status,
                json={
                    "alarm_id": body["alarm_id"],
                    "incident": "GNT-2026-00042",
                    "report_interval_s": 10,
                    "track_until": None,
                },
            )
        if path.endswith("/locations"):
            answer = self.locations.pop(0) if self.locations else False
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, int) and not isinstance(answer, bool):
                return httpx.Response(answer, json={"error": {"code": "x", "message": "x"}})
            return httpx.Response(
                200,
                json={
                    "accepted": len(body["fixes"]),
                    "continue": answer,
                    "report_interval_s": 10,
                    "track_until": None,
                },
            )
        if path.endswith("/call"):
            return httpx.Response(
                self.call_status,
                json={"alarm_id": path.split("/")[2], "track_until": None},
            )
        raise AssertionError(path)

    def of(self, kind):
        return [(t, body) for t, k, body in self.log if k == kind]


def make(clock, centre, sms):
    return DeviceClient(
        "https://msa.gent.example",
        "dev-7KQ2",
        KEY,
        http=httpx.Client(transport=httpx.MockTransport(centre)),
        clock=clock,
        sms=sms,
        sms_number="+3292000112",
        sleep=clock.sleep,
    )


def offline(_=None):
    return httpx.ConnectError("no network")


def test_positions_every_report_interval_while_continue_is_true():
    clock = FakeClock(START)
    centre = Centre(clock, locations=[True, True, True, False])
    sms = RecordingSmsTransport(clock)
    route = ScriptedRoute(GENT, clock)
    result = AlarmSession(make(clock, centre, sms), route).run()
    assert result.stopped_because == "centre_stopped_tracking"
    sent = centre.of("locations")
    assert [t for t, _ in sent] == [10, 20, 30, 40]
    fix_times = [f["fix_at"] for _, body in sent for f in body["fixes"]]
    assert fix_times == sorted(set(fix_times))
    assert centre.of("alarms")[0][1]["location"]["lat"] == 51.05434
    assert result.fixes_sent == 4
    assert sms.sent == []


def test_offline_positions_are_buffered_and_sent_in_order_when_back():
    clock = FakeClock(START)
    centre = Centre(clock, locations=[offline(), offline(), offline(), True, False])
    sms = RecordingSmsTransport(clock)
    result = AlarmSession(make(clock, centre, sms), ScriptedRoute(GENT, clock)).run()
    sent = centre.of("locations")
    # three failed requests (10, 20, 30 s), then the backlog of 4 fixes in one request
    assert [len(body["fixes"]) for _, body in sent] == [1, 2, 3, 4, 1]
    delivered = [f["fix_at"] for f in sent[3][1]["fixes"]] + [sent[4][1]["fixes"][0]["fix_at"]]
    assert delivered == [p.format_time(START + timedelta(seconds=s)) for s in (10, 20, 30, 40, 50)]
    assert result.fixes_sent == 5


def test_ghost_call_sends_the_events_and_the_sms_with_reason_g():
    clock = FakeClock(START)
    centre = Centre(clock, locations=[True, True, True, False])
    sms = RecordingSmsTransport(clock)
    call = ScriptedCall(clock, [(1, "dialing"), (3, "ringing"), (25, "ended")])
    result = AlarmSession(
        make(clock, centre, sms), FixedPosition(51.05434, 3.71742, 12, clock), call=call
    ).run()
    events = [(body["event"], body["at"]) for _, body in centre.of("call")]
    assert events == [
        ("dialing", "2026-03-14T08:15:03Z"),
        ("ringing", "2026-03-14T08:15:05Z"),
        ("ended", "2026-03-14T08:15:27Z"),
    ]
    assert len(sms.sent) == 1
    sent_at, to, text = sms.sent[0]
    assert (stamped(sent_at) - START).total_seconds() == 25
    assert to == "+3292000112"
    parsed = p.parse_fallback_sms(text)
    assert (parsed.reason, parsed.trigger, parsed.alarm_ref) == ("G", "B", result.alarm_id.hex[:8])
    assert parsed.pressed_at_unix == int(START.timestamp())
    assert (parsed.lat, parsed.lon, parsed.accuracy_m) == (51.05434, 3.71742, 12)
    assert p.verify_sms_mac(KEY, text)
    assert result.sms_reasons == ["G"]


def test_an_answered_call_sends_no_sms():
    clock = FakeClock(START)
    centre = Centre(clock, locations=[True, False])
    sms = RecordingSmsTransport(clock)
    call = ScriptedCall(clock, [(1, "dialing"), (4, "answered"), (12, "ended")])
    AlarmSession(make(clock, centre, sms), FixedPosition(51, 3, 5, clock), call=call).run()
    assert sms.sent == []
    assert [body["event"] for _, body in centre.of("call")] == ["dialing", "answered", "ended"]


def test_data_down_at_the_press_sms_n_then_ghost_sms_g_and_late_delivery():
    clock = FakeClock(START)
    centre = Centre(clock, alarm=[offline()] * 6 + [201], locations=[True, False])
    sms = RecordingSmsTransport(clock)
    call = ScriptedCall(clock, [(1, "dialing"), (9, "ended")])
    result = AlarmSession(make(clock, centre, sms), ScriptedRoute(GENT, clock), call=call).run()
    assert result.sms_reasons == ["N", "G"]
    sent_at = [(stamped(t) - START).total_seconds() for t, _, _ in sms.sent]
    assert sent_at[0] == 0
    assert 9 <= sent_at[1] <= 10  # call events are polled every second while retrying
    assert result.answer is not None
    assert result.answer.sms_sent
    # the call events waited for the alarm to be known, then went in order
    assert [body["event"] for _, body in centre.of("call")] == ["dialing", "ended"]
    # positions taken while the alarm was retried were kept and sent first
    first_batch = centre.of("locations")[0][1]["fixes"]
    assert len(first_batch) >= 2
    assert [f["fix_at"] for f in first_batch] == sorted(f["fix_at"] for f in first_batch)


def test_an_unknown_alarm_stops_the_session():
    clock = FakeClock(START)
    centre = Centre(clock, locations=[404])
    result = AlarmSession(
        make(clock, centre, RecordingSmsTransport(clock)), FixedPosition(51, 3, 5, clock)
    ).run()
    assert result.stopped_because == "not_found"


def test_the_session_has_a_maximum_duration():
    clock = FakeClock(START)
    centre = Centre(clock, locations=[offline()] * 1000)
    result = AlarmSession(
        make(clock, centre, RecordingSmsTransport(clock)),
        FixedPosition(51, 3, 5, clock),
        max_duration_s=300,
    ).run()
    assert result.stopped_because == "max_duration"
    assert clock.elapsed() == 300


def test_an_undeliverable_alarm_ends_the_session_with_the_sms_sent():
    clock = FakeClock(START)
    centre = Centre(clock, alarm=[offline()])
    sms = RecordingSmsTransport(clock)
    client = make(clock, centre, sms)
    client.give_up_after_s = 60
    result = AlarmSession(client, FixedPosition(51, 3, 5, clock), alarm_id=uuid.uuid4()).run()
    assert result.stopped_because == "alarm_not_delivered"
    assert result.answer is None
    assert result.delivered
    assert result.sms_reasons == ["N"]


# -- heartbeats ---------------------------------------------------------------------------


def test_heartbeat_loop_follows_next_heartbeat_s_and_retries_sooner_after_a_failure():
    clock = FakeClock(START)
    answers = [
        httpx.Response(
            200,
            json={
                "next_heartbeat_s": 600,
                "server_time": p.format_time(START),
                "last_test_alarm": None,
            },
        ),
        httpx.ConnectError("down"),
    ]

    def centre(request):
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = make(clock, centre, None)
    status = DeviceStatus(
        battery=Battery(phone_pct=50),
        button=ButtonStatus(connected=False),
        permissions=Permissions(),
        data=True,
        app_version="test",
    )
    loop = HeartbeatLoop(client, lambda: status, sleep=clock.sleep)
    loop.run(max_beats=3)
    assert clock.sleeps == [600, 60]
    assert (loop.beats, loop.failures) == (1, 2)
