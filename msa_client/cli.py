"""``msa-client``: enrol a device, raise an alarm, or run the button and heartbeat loops.

    msa-client enroll 'msa1:https://msa.gent.example|dev-7KQ2|<key>|+3292000112'
    msa-client press --trigger test --lat 51.05434 --lon 3.71742 --accuracy 12
    msa-client run --lat 51.05434 --lon 3.71742

Exit codes: 0 done; 1 failed (the alarm reached the centre neither by data nor by SMS, or a
configuration problem); 2 bad usage; 3 the alarm went out by SMS only; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from msa_client.adapters.buttons import StdinButton
from msa_client.adapters.positions import FixedPosition, GpsdPosition
from msa_client.adapters.sms import (
    GsmModemTransport,
    HttpSmsGateway,
    LoopbackSmsTransport,
    PrintSmsTransport,
)
from msa_client.client import DeviceClient, system_clock
from msa_client.interfaces import PositionSource, SmsTransport
from msa_client.models import (
    Battery,
    ButtonStatus,
    DeviceStatus,
    Location,
    MsaClientError,
    Permissions,
)
from msa_client.session import AlarmSession, HeartbeatLoop
from msa_protocol import EnrolmentQr, Trigger, decode_key, encode_key, parse_enrolment_qr

__all__ = ["DEFAULT_CONFIG", "main"]

DEFAULT_CONFIG = Path("~/.config/msa-client.json")
APP_VERSION = "msa-client/0.1.0"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SMS_ONLY = 3


class CliError(Exception):
    """A problem to explain to the person at the terminal, without a traceback."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="msa-client",
        description="Enrol a device, raise an alarm, or run the button and heartbeat loops.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help="configuration file (default: %(default)s)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True)

    enroll = commands.add_parser("enroll", help="store the device's enrolment QR text")
    enroll.add_argument("qr_text", help="msa1:<base_url>|<device_id>|<key>|<sms_number>")
    sms = enroll.add_argument_group("fallback SMS transport (pick at most one)")
    sms.add_argument("--sms-gateway-url", help="HTTP gateway taking {to, text}")
    sms.add_argument("--sms-gateway-token", help="bearer token of that gateway")
    sms.add_argument("--modem", help="serial device of a GSM modem (needs pyserial)")
    sms.add_argument(
        "--sms-loopback-token",
        help="post the SMS to the centre's own inbound webhook with this gateway token",
    )
    sms.add_argument("--phone-number", help="this phone's E.164 number (sender, for loopback)")

    press = commands.add_parser("press", help="raise one alarm now")
    _position_options(press)
    press.add_argument(
        "--trigger", choices=[t.value for t in Trigger], default=Trigger.BUTTON.value
    )
    press.add_argument(
        "--track", action="store_true", help="keep sending positions until the centre stops"
    )
    press.add_argument(
        "--give-up-after",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="stop retrying the data alarm after this long (default: %(default)s)",
    )

    run = commands.add_parser("run", help="button on stdin (Enter = alarm) and heartbeats")
    _position_options(run)
    run.add_argument("--gpsd", action="store_true", help="positions from gpsd on 127.0.0.1:2947")
    return parser


def _position_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lat", type=float, help="latitude in decimal degrees (WGS 84)")
    parser.add_argument("--lon", type=float, help="longitude in decimal degrees (WGS 84)")
    parser.add_argument("--accuracy", type=float, default=10.0, help="metres (default: 10)")


# -- configuration ---------------------------------------------------------------------------


def _write_config(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def _read_config(path: Path) -> tuple[EnrolmentQr, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{path} does not exist: run 'msa-client enroll <qr-text>' first") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    try:
        qr = EnrolmentQr(
            base_url=data["base_url"],
            device_id=data["device_id"],
            key=decode_key(data["key"]),
            sms_number=data["sms_number"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CliError(f"{path} is not a valid msa-client configuration: {exc}") from None
    sms = data.get("sms") if isinstance(data.get("sms"), dict) else {}
    return qr, sms


def _enroll(args: argparse.Namespace, out: TextIO) -> int:
    try:
        qr = parse_enrolment_qr(args.qr_text)
    except ValueError as exc:
        raise CliError(f"invalid enrolment code: {exc}") from None
    chosen = [
        name
        for name, value in (
            ("gateway", args.sms_gateway_url),
            ("modem", args.modem),
            ("loopback", args.sms_loopback_token),
        )
        if value
    ]
    if len(chosen) > 1:
        raise CliError(
            "choose one SMS transport: --sms-gateway-url, --modem or --sms-loopback-token"
        )
    sms: dict[str, Any] = {"kind": chosen[0] if chosen else "print"}
    if args.sms_gateway_url:
        sms |= {"url": args.sms_gateway_url, "token": args.sms_gateway_token}
    if args.modem:
        sms["device"] = args.modem
    if args.sms_loopback_token:
        if not args.phone_number:
            raise CliError("--sms-loopback-token needs --phone-number (the sender)")
        sms["token"] = args.sms_loopback_token
    if args.phone_number:
        sms["phone_number"] = args.phone_number
    config = {
        "base_url": qr.base_url,
        "device_id": qr.device_id,
        "key": encode_key(qr.key),
        "sms_number": qr.sms_number,
        "sms": sms,
    }
    path = args.config.expanduser()
    _write_config(path, config)
    print(f"enrolled {qr.device_id} at {qr.base_url}; configuration in {path}", file=out)
    if qr.base_url.startswith("http://") and not _is_loopback(qr.base_url):
        print("warning: the centre is not reached over HTTPS", file=out)
    return EXIT_OK


def _is_loopback(url: str) -> bool:

    return urlsplit(url).hostname in {"localhost", "127.0.0.1", "::1"}


def _sms_transport(qr: EnrolmentQr, sms: dict[str, Any], err: TextIO) -> SmsTransport:
    kind = sms.get("kind", "print")
    if kind == "gateway":
        return HttpSmsGateway(str(sms["url"]), sms.get("token"))
    if kind == "modem":
        return GsmModemTransport.open(str(sms["device"]))
    if kind == "loopback":
        return LoopbackSmsTransport(
            qr.base_url, str(sms["token"]), str(sms["phone_number"]), system_clock
        )
    return PrintSmsTransport(err)


def _position(args: argparse.Namespace) -> PositionSource | None:
    if (args.lat is None) != (args.lon is None):
        raise CliError("give --lat and --lon together")
    if args.lat is None:
        return None
    try:
        return FixedPosition(args.lat, args.lon, args.accuracy, system_clock)
    except ValueError as exc:
        raise CliError(f"invalid position: {exc}") from None


class _NoPosition:
    def current(self) -> Location | None:
        return None


def _client(args: argparse.Namespace, err: TextIO, **kwargs: Any) -> DeviceClient:
    qr, sms = _read_config(args.config.expanduser())
    try:
        transport = _sms_transport(qr, sms, err)
    except (KeyError, MsaClientError, ValueError) as exc:
        raise CliError(f"cannot set up the SMS transport: {exc}") from None
    return DeviceClient.from_enrolment(qr, sms=transport, **kwargs)


def _press(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    positions = _position(args) or _NoPosition()
    if args.give_up_after <= 0:
        raise CliError("--give-up-after must be positive")
    client = _client(args, err, give_up_after_s=args.give_up_after)
    if args.track:
        result = AlarmSession(client, positions, trigger=args.trigger).run()
        answer, error = result.answer, result.error
        sms_sent = bool(result.sms_texts)
    else:
        try:
            answer = client.raise_alarm(args.trigger, positions.current())
            error = None
        except MsaClientError as exc:
            answer, error = None, exc
        sms_sent = bool(client.sms_record)
    if answer is not None:
        print(f"alarm {answer.alarm_id} received: incident {answer.incident}", file=out)
        return EXIT_OK
    print(f"the centre did not answer: {error}", file=err)
    if sms_sent:
        print("the fallback SMS was sent", file=err)
        return EXIT_SMS_ONLY
    return EXIT_FAILED


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    client = _client(args, err)
    positions: PositionSource
    if args.gpsd:
        gpsd = GpsdPosition(system_clock)
        try:
            gpsd.start()
        except OSError as exc:
            raise CliError(f"cannot reach gpsd on 127.0.0.1:2947: {exc}") from None
        positions = gpsd
    else:
        positions = _position(args) or _NoPosition()
    stop = threading.Event()
    status = DeviceStatus(
        battery=Battery(phone_pct=100),
        button=ButtonStatus(connected=True, last_seen_at=None),
        permissions=Permissions(),
        data=True,
        app_version=APP_VERSION,
    )
    heartbeat = HeartbeatLoop(client, lambda: status, sleep=stop.wait)
    beats = threading.Thread(target=heartbeat.run, args=(stop.is_set,), daemon=True)
    beats.start()
    button = StdinButton(system_clock)
    print("ready: Enter raises an alarm, 't' a test alarm, Ctrl-D quits", file=out)
    try:
        while (press := button.wait_for_press()) is not None:
            result = AlarmSession(client, positions, trigger=press.trigger).run()
            if result.answer is not None:
                print(f"incident {result.answer.incident}: {result.stopped_because}", file=out)
            else:
                print(f"alarm not received by data: {result.error}", file=err)
    finally:
        stop.set()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``msa-client``; returns the exit code and never shows a traceback."""
    out, err = sys.stdout, sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the reason
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    commands = {"enroll": lambda: _enroll(args, out), "press": lambda: _press(args, out, err)}
    try:
        return commands.get(args.command, lambda: _run(args, out, err))()
    except CliError as exc:
        print(f"msa-client: {exc}", file=err)
        return EXIT_USAGE
    except (MsaClientError, OSError, ValueError) as exc:
        print(f"msa-client: {exc}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
