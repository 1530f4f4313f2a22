"""Adapters: the BLE hold rule, the AT-command modem, the SMS webhooks, positions, stdin."""

import importlib
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

import msa_protocol as p
from msa_client.adapters.buttons import BleButton, HoldDetector, ScriptedButton, StdinButton
from msa_client.adapters.positions import (
    FixedPosition,
    GpsdPosition,
    ScriptedRoute,
    location_from_tpv,
)
from msa_client.adapters.sms import (
    GsmModemTransport,
    HttpSmsGateway,
    LoopbackSmsTransport,
    PrintSmsTransport,
)
from msa_client.interfaces import ButtonPress, SmsError
from msa_client.testing import FakeClock

START = datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
SMS = "MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS"

# -- the BLE hold rule --------------------------------------------------------------------


def test_a_hold_of_2_s_fires_once_while_still_held():
    hold = HoldDetector()
    assert not hold.down(100.0)
    assert not hold.tick(101.99)
    assert hold.tick(102.0)
    assert not hold.tick(105.0)  # once per hold
    assert not hold.up(106.0)
    assert not hold.held


def test_a_short_press_does_not_count_and_up_counts_a_hold_nobody_ticked():
    hold = HoldDetector()
    hold.down(0.0)
    assert not hold.up(1.9)
    hold.down(10.0)
    assert hold.up(12.5)


def test_bounces_and_stray_edges_do_not_restart_or_fire():
    hold = HoldDetector()
    assert not hold.up(1.0)  # up without down
    hold.down(10.0)
    assert not hold.down(11.5)  # bounce: the hold still runs from 10.0
    assert hold.tick(12.0)
    hold.up(12.5)
    hold.down(20.0)
    assert not hold.tick(19.0)  # time going back is ignored
    assert not hold.up(15.0)
    assert hold.held
    assert hold.up(22.0)


def test_hold_time_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        HoldDetector(0)


def test_ble_button_queues_a_press_after_the_hold():
    clock = FakeClock(START)
    t = [0.0]
    button = BleButton("AA:BB", "char", clock, monotonic=lambda: t[0])
    button.on_state(True)
    t[0] = 1.0
    button.on_tick()
    t[0] = 2.0
    button.on_tick()
    button.on_state(False)
    press = button.wait_for_press()
    assert press == ButtonPress(trigger=p.Trigger.BUTTON, at=START)
    button.stop()
    assert button.wait_for_press() is None


def test_stdin_and_scripted_buttons():
    clock = FakeClock(START)
    button = StdinButton(clock, io.StringIO("hello\n\nT\nd\n"))
    presses = [button.wait_for_press() for _ in range(3)]
    assert [press.trigger for press in presses if press is not None] == ["button", "test", "duress"]
    assert button.wait_for_press() is None
    scripted = ScriptedButton([ButtonPress(trigger=p.Trigger.APP, at=START)])
    press = scripted.wait_for_press()
    assert press is not None
    assert press.trigger == "app"
    assert scripted.wait_for_press() is None


# -- the GSM modem ------------------------------------------------------------------------


class FakeSerial:
    """Answers each write with the next scripted reply; records what was written."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.written = []
        self.buffer = b""

    def write(self, data):
        self.written.append(data)
        self.buffer += self.replies.pop(0) if self.replies else b""
        return len(data)

    def read_until(self, expected=b"\n", size=None):
        index = self.buffer.find(expected)
        if index < 0:  # the port's read timeout: whatever arrived
            out, self.buffer = self.buffer, b""
            return out
        out, self.buffer = (
            self.buffer[: index + len(expected)],
            self.buffer[index + len(expected) :],
        )
        return out


def test_modem_sends_in_text_mode_with_ctrl_z():
    port = FakeSerial(
        b"AT+CMGF=1\r\r\nOK\r\n",  # with echo
        b'AT+CMGS="+3292000112"\r\r\n> ',
        b"\r\n+CMGS: 42\r\n\r\nOK\r\n",
    )
    modem = GsmModemTransport(port)
    modem.send("+3292000112", SMS)
    assert port.written == [
        b"AT+CMGF=1\r",
        b'AT+CMGS="+3292000112"\r',
        SMS.encode() + b"\x1a",
    ]
    assert modem.last_reference == "42"


@pytest.mark.parametrize(
    ("replies", "error"),
    [
        ((b"\r\nERROR\r\n",), "refused: ERROR"),
        ((b"\r\nOK\r\n", b"\r\n+CMS ERROR: 302\r\n"), "did not accept the recipient"),
        ((b"\r\nOK\r\n", b"\r\n> ", b"\r\n+CMS ERROR: 500\r\n"), r"\+CMS ERROR: 500"),
        ((b"\r\nOK\r\n", b"\r\n> ", b""), "did not answer"),
        ((b"",), "did not answer"),
    ],
)
def test_modem_errors_raise_sms_error(replies, error):
    with pytest.raises(SmsError, match=error):
        GsmModemTransport(FakeSerial(*replies)).send("+3292000112", SMS)


@pytest.mark.parametrize(
    ("to", "text"),
    [('+32"\r', SMS), ("0470123456", SMS), ("+3292000112", "x" * 161), ("+3292000112", "€")],
)
def test_modem_refuses_bad_numbers_and_texts_before_writing(to, text):
    port = FakeSerial()
    with pytest.raises(SmsError):
        GsmModemTransport(port).send(to, text)
    assert port.written == []


def test_modem_open_without_pyserial_is_a_clear_error():
    try:
        importlib.import_module("serial")
    except ImportError:
        with pytest.raises(SmsError, match="pyserial"):
            GsmModemTransport.open("/dev/ttyUSB0")
    else:
        pytest.skip("pyserial is installed")


# -- HTTP SMS transports ------------------------------------------------------------------


def test_loopback_posts_to_the_centre_inbound_webhook():
    clock = FakeClock(START)
    seen = []

    def centre(request):
        seen.append(request)
        return httpx.Response(200, json={"result": "raised", "incident": "GNT-2026-00042"})

    transport = LoopbackSmsTransport(
        "https://msa.gent.example",
        "gateway-token",
        "+32470123456",
        clock,
        http=httpx.Client(transport=httpx.MockTransport(centre)),
    )
    transport.send("+3292000112", SMS)
    request = seen[0]
    assert request.url == "https://msa.gent.example/api/sms/v1/inbound"
    assert request.headers["Authorization"] == "Bearer gateway-token"
    body = json.loads(request.read())
    assert set(body) == {"id", "from", "to", "text", "received_at"}
    assert (body["from"], body["to"], body["text"]) == ("+32470123456", "+3292000112", SMS)
    assert body["received_at"] == "2026-03-14T08:15:02Z"
    assert transport.results == [{"result": "raised", "incident": "GNT-2026-00042"}]


@pytest.mark.parametrize("status", [400, 401, 500])
def test_loopback_errors(status):
    transport = LoopbackSmsTransport(
        "https://msa.gent.example",
        "t",
        "+32470123456",
        FakeClock(),
        http=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(status))),
    )
    with pytest.raises(SmsError, match=str(status)):
        transport.send("+3292000112", SMS)


def test_http_gateway():
    seen = []

    def gateway(request):
        seen.append(request)
        return httpx.Response(202 if len(seen) == 1 else 500)

    transport = HttpSmsGateway(
        "https://sms.example/send", "tok", http=httpx.Client(transport=httpx.MockTransport(gateway))
    )
    transport.send("+3292000112", SMS)
    assert json.loads(seen[0].read()) == {"to": "+3292000112", "text": SMS}
    assert seen[0].headers["Authorization"] == "Bearer tok"
    with pytest.raises(SmsError, match="500"):
        transport.send("+3292000112", SMS)


def test_print_transport():
    stream = io.StringIO()
    PrintSmsTransport(stream).send("+3292000112", SMS)
    assert SMS in stream.getvalue()


# -- positions ----------------------------------------------------------------------------


def test_scripted_route_walks_at_the_given_speed_and_stops_at_the_end():
    clock = FakeClock(START)
    route = ScriptedRoute([(51.0, 3.0), (51.001, 3.0)], clock, speed_mps=1.0)
    assert 110 < route.length_m < 112  # 0.001 degree of latitude
    first = route.current()
    assert first is not None
    assert (first.lat, first.lon, first.fix_at) == (51.0, 3.0, START)
    assert first.heading_deg == pytest.approx(0.0, abs=1e-6)
    clock.advance(route.length_m / 2)
    halfway = route.current()
    assert halfway is not None
    assert halfway.lat == pytest.approx(51.0005)
    clock.advance(1000)
    end = route.current()
    assert end is not None
    assert (end.lat, end.speed_mps) == (51.001, 0.0)
    with pytest.raises(ValueError, match="waypoint"):
        ScriptedRoute([], clock)


def test_fixed_position_validates_and_stamps_the_clock():
    clock = FakeClock(START)
    fixed = FixedPosition(51, 3, 5, clock).current()
    assert fixed is not None
    assert fixed.fix_at == START
    with pytest.raises(ValueError, match="lat"):
        FixedPosition(95, 3, 5, clock)


TPV = {
    "class": "TPV",
    "mode": 3,
    "time": "2026-03-14T08:15:00.000Z",
    "lat": 51.054342,
    "lon": 3.717424,
    "altHAE": 12.5,
    "epx": 4.2,
    "epy": 6.1,
    "speed": 1.3,
    "track": 271.0,
}


def test_gpsd_tpv_reports_become_locations():
    fix = location_from_tpv(TPV)
    assert fix is not None
    assert (fix.lat, fix.lon, fix.accuracy_m, fix.altitude_m, fix.heading_deg) == (
        51.054342,
        3.717424,
        6.1,
        12.5,
        271.0,
    )
    assert fix.fix_at == START - timedelta(seconds=2)
    assert location_from_tpv(TPV | {"mode": 1}) is None
    assert location_from_tpv({"class": "SKY"}) is None
    assert location_from_tpv(TPV | {"lat": "x"}) is None
    two_d = location_from_tpv(TPV | {"mode": 2, "eph": 9.0, "epx": None, "epy": None})
    assert two_d is not None
    assert (two_d.accuracy_m, two_d.altitude_m) == (9.0, None)


def test_gpsd_source_keeps_the_newest_fresh_fix():
    clock = FakeClock(START)
    gpsd = GpsdPosition(clock, max_age_s=30)
    assert gpsd.current() is None
    gpsd.feed_line(b'{"class":"VERSION","release":"3.25"}\n')
    gpsd.feed_line(json.dumps(TPV).encode())
    gpsd.feed_line(b"not json")
    newest = gpsd.current()
    assert newest is not None
    assert newest.lat == 51.054342
    clock.advance(60)
    assert gpsd.current() is None  # stale
