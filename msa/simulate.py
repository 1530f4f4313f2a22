"""``msa simulate``: act as a demo victim's phone, through the reference client."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime, timedelta
from typing import Any

from msa.core.demo_state import data_dir, demo_server_url
from msa.demo_data import demo_device_id, demo_device_key, victim
from msa_client.adapters.positions import ScriptedRoute
from msa_client.adapters.sms import LoopbackSmsTransport
from msa_client.client import Backoff, DeviceClient
from msa_client.models import (
    ApiError,
    Battery,
    ButtonStatus,
    DeviceStatus,
    Location,
    MsaClientError,
    Permissions,
)
from msa_client.session import PositionBuffer
from msa_protocol import CallEvent, format_time, parse_enrolment_qr

NO_DEMO_FOUND = (
    "no running demo found in {folder} (MSA_DATA_DIR): start `msa demo` there, or pass the "
    "centre's address with --url http://HOST:PORT"
)


def centre_url(url: str | None) -> str | None:
    """``--url``, or else the address of the demo running from the data folder (``msa demo``
    notes it there); None when there is neither."""
    return url or demo_server_url(data_dir())


def press(
    *,
    base_url: str | None,
    victim_number: int,
    trigger: str,
    call: str,
    give_up_after_s: float = 30.0,
) -> int:
    """Press the button of demo victim ``victim_number``'s phone once; print the answer.

    ``base_url`` None: the demo running from the data folder."""
    try:
        person = victim(victim_number)
    except KeyError:
        print(f"msa simulate: there is no demo victim {victim_number} (1-5)", file=sys.stderr)
        return 2
    base_url = centre_url(base_url)
    if base_url is None:
        print("msa simulate: " + NO_DEMO_FOUND.format(folder=data_dir()), file=sys.stderr)
        return 2
    client = DeviceClient(
        base_url,
        demo_device_id(person.number),
        demo_device_key(person.number),
        give_up_after_s=give_up_after_s,
    )
    now = datetime.now(UTC)
    location = Location(lat=person.lat, lon=person.lon, accuracy_m=12, fix_at=now, source="gps")
    try:
        answer = client.raise_alarm(
            trigger,
            location,
            battery=Battery(phone_pct=81, button_pct=64),
            call_state=call,
        )
    except ApiError as exc:
        print(f"msa simulate: the centre refused the alarm: {exc}", file=sys.stderr)
        return 1
    except MsaClientError as exc:
        print(f"msa simulate: could not reach the centre at {base_url}: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"alarm {answer.alarm_id} -> incident {answer.incident}")
    return 0


# ==============================================================================================
# msa simulate scenario <name>: realistic presses, through msa_client, with a time factor
# ==============================================================================================
#
# What the time factor compresses: the *client's waiting* only — the seconds between two
# position reports, the walk along the route, the 3 minutes of the call, the 2-hour window that
# the client tracks at most. The centre's clock is real, so every time the client sends
# (X-MSA-Timestamp, fix_at, call and cancel times) is the real time of sending: the centre
# accepts it, and its own timers (track_until = call end + MSA_TRACKING_AFTER_CALL_S) run in
# real time. To see the centre close the window within a run, start it with a short
# MSA_TRACKING_AFTER_CALL_S (the end-to-end tests use a few seconds); otherwise the walk stops
# when the client's compressed 2 hours are over.

SCENARIOS = ("walk", "sms-only", "sms-first", "data-first", "ghost-call", "duress", "test-alarm")

# An 800 m walk in Ghent: Sint-Pietersnieuwstraat to the Korenmarkt.
WALK_ROUTE: tuple[tuple[float, float], ...] = (
    (51.04440, 3.72570),
    (51.04700, 3.72460),
    (51.04990, 3.72350),
    (51.05150, 3.72230),
)
CALL_ANSWERED_AFTER_S = 8.0
CALL_LENGTH_S = 180.0
TRACKING_AFTER_CALL_S = 7200.0


class ScaledClock:
    """Virtual time for the script: starts at the real now and runs ``factor`` times faster.

    ``sleep(s)`` waits ``s / factor`` real seconds. Only the script reads this clock; what the
    client sends keeps the real time (see above)."""

    def __init__(self, factor: float) -> None:

        if factor <= 0:
            raise ValueError("the time factor must be positive")
        self.factor = factor
        self._real0 = time.monotonic()
        self.start = datetime.now(UTC)
        self._time = time

    def elapsed(self) -> float:
        return (self._time.monotonic() - self._real0) * self.factor

    def __call__(self) -> datetime:

        return self.start + timedelta(seconds=self.elapsed())

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._time.sleep(seconds / self.factor)


@dataclass
class ScenarioResult:
    scenario: str
    alarm_id: str = ""
    incident: str | None = None
    created: bool | None = None
    sms: list[dict[str, Any]] = field(default_factory=list)
    fixes_sent: int = 0
    fixes_accepted: int = 0  # what the centre said it holds (none after the window)
    reports: int = 0
    stopped_because: str = ""
    answers: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SimDevice:
    base_url: str
    device_id: str
    key: bytes
    sms_number: str
    sms_from: str
    lat: float
    lon: float


def _real_now() -> datetime:
    return datetime.now(UTC)


class Scenario:
    """One scenario run: a DeviceClient (real clock) and a ScaledClock for the script."""

    def __init__(
        self,
        device: SimDevice,
        *,
        time_factor: float,
        sms_token: str | None,
        data_url: str | None = None,
        max_virtual_s: float | None = None,
    ) -> None:

        self.device = device
        self.clock = ScaledClock(time_factor)
        self.sms = (
            LoopbackSmsTransport(device.base_url, sms_token, device.sms_from, _real_now)
            if sms_token
            else None
        )
        self.client = DeviceClient(
            data_url or device.base_url,
            device.device_id,
            device.key,
            sms=self.sms,
            sms_number=device.sms_number,
            give_up_after_s=30.0,
            backoff=Backoff(initial_s=0.2, factor=2.0, max_s=2.0),
        )
        self.max_virtual_s = max_virtual_s

    def close(self) -> None:
        self.client.close()

    def here(self) -> Location:
        return Location(lat=self.device.lat, lon=self.device.lon, accuracy_m=12, fix_at=_real_now())

    def _sms_results(self, result: ScenarioResult) -> None:
        if self.sms is not None:
            result.sms = list(self.sms.results)
            for answer in result.sms:
                if result.incident is None and answer.get("incident"):
                    result.incident = answer["incident"]

    def _raise(
        self, result: ScenarioResult, trigger: str = "button", call: str = "dialing"
    ) -> None:
        answer = self.client.raise_alarm(
            trigger,
            self.here(),
            battery=Battery(phone_pct=81, button_pct=64),
            call_state=call,
            alarm_id=uuid.UUID(result.alarm_id),
        )
        result.incident = answer.incident
        result.created = answer.created
        result.answers["alarm"] = {"created": answer.created, "sms_sent": answer.sms_sent}

    # -- the scenarios -------------------------------------------------------------------------

    def walk(self, result: ScenarioResult) -> None:
        """A press, an 800 m walk, a call answered then ended after 3 minutes, tracking until
        the window closes (the centre says continue: false) or the client's 2 hours are over."""

        route = ScriptedRoute(WALK_ROUTE, self.clock, accuracy_m=6.0)
        self._raise(result)
        buffer = PositionBuffer()
        calls = [
            (CALL_ANSWERED_AFTER_S / 2, CallEvent.RINGING),
            (CALL_ANSWERED_AFTER_S, CallEvent.ANSWERED),
            (CALL_ANSWERED_AFTER_S + CALL_LENGTH_S, CallEvent.ENDED),
        ]
        interval = 10.0
        horizon = self.max_virtual_s or (
            CALL_ANSWERED_AFTER_S + CALL_LENGTH_S + TRACKING_AFTER_CALL_S
        )
        while True:
            virtual = self.clock.elapsed()
            while calls and virtual >= calls[0][0]:
                _, event = calls.pop(0)
                answer = self.client.call_event(result.alarm_id, event, _real_now())
                result.answers[f"call_{event.value}"] = format_time_or_none(answer.track_until)
            point = route.at(self.clock())
            buffer.add(dc_replace(point, fix_at=_real_now()))
            try:
                sent = len(buffer)
                answer_loc = buffer.flush(lambda fixes: self._send(result, fixes))
            except MsaClientError as exc:
                result.answers["last_error"] = str(exc)
                answer_loc = None
            else:
                result.fixes_sent += sent - len(buffer)
                result.reports += 1
            if answer_loc is not None:
                interval = float(max(1, answer_loc.report_interval_s))
                if not answer_loc.continue_tracking:
                    result.stopped_because = "centre_stopped_tracking"
                    break
            if virtual >= horizon:
                result.stopped_because = "client_window_over"
                break
            self.clock.sleep(interval)

    def _send(self, result: ScenarioResult, fixes: Any) -> Any:
        answer = self.client.send_locations(result.alarm_id, fixes)
        result.fixes_accepted += answer.accepted
        return answer

    def sms_only(self, result: ScenarioResult) -> None:
        """No mobile data: the data alarm cannot leave, the fallback SMS goes within 5 s."""
        self.client.give_up_after_s = 6.0
        try:
            self._raise(result)
        except MsaClientError as exc:
            result.stopped_because = f"no_data: {type(exc).__name__}"

    def sms_first(self, result: ScenarioResult) -> None:
        """The SMS of the press arrives first, then the data alarm (answered 200)."""
        self.client.send_fallback_sms(
            alarm_id=result.alarm_id,
            pressed_at=_real_now(),
            location=self.here(),
            trigger="button",
            reason="N",
        )
        self._raise(result)

    def data_first(self, result: ScenarioResult) -> None:
        """The data alarm first (201), then its SMS (merged)."""
        self._raise(result)
        self.client.send_fallback_sms(
            alarm_id=result.alarm_id,
            pressed_at=_real_now(),
            location=self.here(),
            trigger="button",
            reason="N",
        )

    def ghost_call(self, result: ScenarioResult) -> None:
        """The call drops before anybody answers: the centre marks a ghost call, and the app
        sends the fallback SMS with reason G."""
        self._raise(result)
        self.client.call_event(result.alarm_id, CallEvent.RINGING, _real_now())
        self.clock.sleep(6.0)
        answer = self.client.call_event(result.alarm_id, CallEvent.ENDED, _real_now())
        result.answers["track_until"] = format_time_or_none(answer.track_until)
        self.client.send_fallback_sms(
            alarm_id=result.alarm_id,
            pressed_at=_real_now(),
            location=self.here(),
            trigger="button",
            reason="G",
        )

    def duress(self, result: ScenarioResult) -> None:
        """The suspect makes her cancel: she enters the duress PIN (the phone shows what a
        normal cancel shows; the centre escalates)."""
        self._raise(result)
        self.clock.sleep(20.0)
        answer = self.client.cancel(result.alarm_id, "duress", _real_now())
        result.answers["cancel"] = {"alarm_id": answer.alarm_id, "status": answer.status}

    def test_alarm(self, result: ScenarioResult) -> None:
        """A test press: the test lane, confirmed by the next heartbeat's last_test_alarm."""
        self._raise(result, trigger="test", call="none")
        beat = self.client.heartbeat(
            DeviceStatus(
                battery=Battery(phone_pct=81, button_pct=64),
                button=ButtonStatus(connected=True, last_seen_at=_real_now()),
                permissions=Permissions(),
                data=True,
                app_version="msa-simulate/1",
            )
        )
        result.answers["last_test_alarm"] = format_time_or_none(beat.last_test_alarm)

    def run(self, name: str) -> ScenarioResult:
        result = ScenarioResult(scenario=name, alarm_id=str(uuid.uuid4()))
        getattr(self, name.replace("-", "_"))(result)
        self._sms_results(result)
        return result


def format_time_or_none(value: datetime | None) -> str | None:

    return None if value is None else format_time(value)


class _SetupError(Exception):
    pass


def _sim_device(
    *, base_url: str | None, victim_number: int | None, qr: str | None, sms_from: str | None
) -> SimDevice:

    if qr:
        try:
            enrolment = parse_enrolment_qr(qr)
        except ValueError as exc:
            raise _SetupError(str(exc)) from None
        return SimDevice(
            base_url=enrolment.base_url,
            device_id=enrolment.device_id,
            key=enrolment.key,
            sms_number=enrolment.sms_number,
            sms_from=sms_from or "+32470000101",
            lat=WALK_ROUTE[0][0],
            lon=WALK_ROUTE[0][1],
        )
    try:
        person = victim(victim_number or 1)
    except KeyError:
        raise _SetupError(f"there is no demo victim {victim_number} (1-5)") from None
    base_url = centre_url(base_url)
    if base_url is None:
        raise _SetupError(NO_DEMO_FOUND.format(folder=data_dir()))
    return SimDevice(
        base_url=base_url,
        device_id=demo_device_id(person.number),
        key=demo_device_key(person.number),
        sms_number="+32470099112",
        sms_from=sms_from or person.phone,
        lat=person.lat,
        lon=person.lon,
    )


def _check_scenario(name: str, sms_token: str | None) -> None:
    if name not in SCENARIOS:
        raise _SetupError(f"unknown scenario {name!r} ({', '.join(SCENARIOS)})")
    if name in {"sms-only", "sms-first", "data-first", "ghost-call"} and not sms_token:
        raise _SetupError(
            f"scenario {name} sends SMS to the centre's webhook: give --sms-token "
            "(msa token create --sms-gateway NAME)"
        )


def _print_result(result: ScenarioResult) -> None:
    print(f"scenario {result.scenario}: alarm {result.alarm_id} -> incident {result.incident}")
    for key, value in result.answers.items():
        print(f"  {key}: {value}")
    for answer in result.sms:
        print(f"  sms: {answer.get('result')} {answer.get('incident')}")
    if result.reports:
        print(f"  {result.fixes_sent} fixes in {result.reports} reports")
    if result.stopped_because:
        print(f"  stopped: {result.stopped_because}")


def scenario(
    *,
    name: str,
    base_url: str | None,
    victim_number: int | None,
    qr: str | None,
    sms_token: str | None,
    sms_from: str | None,
    time_factor: float,
    as_json: bool,
    max_virtual_s: float | None = None,
) -> int:
    """``msa simulate scenario``: play one scenario, print what happened."""

    try:
        _check_scenario(name, sms_token)
        device = _sim_device(
            base_url=base_url, victim_number=victim_number, qr=qr, sms_from=sms_from
        )
        run = Scenario(
            device,
            time_factor=time_factor,
            sms_token=sms_token,
            # no mobile data: the data path points at a port where nothing listens
            data_url="http://127.0.0.1:9" if name == "sms-only" else None,
            max_virtual_s=max_virtual_s,
        )
    except (_SetupError, ValueError) as exc:
        print(f"msa simulate: {exc}", file=sys.stderr)
        return 2
    try:
        result = run.run(name)
    except ApiError as exc:
        print(f"msa simulate: the centre refused: {exc}", file=sys.stderr)
        return 1
    except MsaClientError as exc:
        print(f"msa simulate: could not reach the centre: {exc}", file=sys.stderr)
        return 1
    finally:
        run.close()
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        _print_result(result)
    return 0


def _cmd_scenario(args: Any) -> int:
    return scenario(
        name=args.name,
        base_url=args.url,
        victim_number=args.victim,
        qr=args.qr,
        sms_token=args.sms_token,
        sms_from=args.sms_from,
        time_factor=args.time_factor,
        as_json=args.json,
        max_virtual_s=args.max_virtual_s,
    )


def _positive_float(value: str) -> float:

    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {value}")
    return number


def add_scenario_parser(sim: Any) -> None:
    """Add ``scenario`` to the subcommands of ``msa simulate`` (called by msa/cli.py)."""

    sp = sim.add_parser(
        "scenario",
        help="play a realistic scenario through msa_client (hours pass in seconds)",
        description="Scenarios: walk (press, 800 m walk, call answered then ended after 3 "
        "minutes, tracking until the window closes), sms-only (no mobile data), sms-first and "
        "data-first (the two channels of one press in either order), ghost-call (dropped "
        "before answered), duress (cancel with the duress PIN), test-alarm. The time factor "
        "compresses the client's waiting only: the centre's clock is real.",
    )
    sp.add_argument("name", choices=SCENARIOS)
    sp.add_argument(
        "--url",
        default=None,
        help="centre URL for the demo victims (default: the demo running from MSA_DATA_DIR)",
    )
    sp.add_argument("--victim", type=int, default=1, help="demo victim number (1-5)")
    sp.add_argument("--qr", default=None, help="enrolment QR text instead of a demo victim")
    sp.add_argument(
        "--sms-token",
        default=os.environ.get("MSA_SIM_SMS_TOKEN"),
        help="SMS gateway token for the centre's webhook (or MSA_SIM_SMS_TOKEN)",
    )
    sp.add_argument("--sms-from", default=None, help="the phone's own number (E.164)")
    sp.add_argument(
        "--time-factor", type=_positive_float, default=60.0, help="virtual seconds per second"
    )
    sp.add_argument(
        "--max-virtual-s",
        type=_positive_float,
        default=None,
        help="walk: stop after this many virtual seconds",
    )
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=_cmd_scenario)
