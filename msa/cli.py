"""The ``msa`` command: run the platform, its worker, the demo and the simulator."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from importlib import import_module

from msa.commands import COMMAND_MODULES
from msa.core.errors import ConfigurationError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def setup_django(*, demo: bool = False) -> None:
    """For subcommands that need the database: call first, before importing models."""
    _setup(demo=demo)


def _setup(*, demo: bool = False) -> None:
    if demo:
        os.environ["MSA_DEMO"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msa.settings")
    import django  # noqa: PLC0415 - configured from the environment first

    django.setup()


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, not {port}")
    return port


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def _add_bind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port to listen on")


def _migrate() -> None:
    from django.core.management import call_command  # noqa: PLC0415 - Django is set up by then

    call_command("migrate", interactive=False, verbosity=0)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _serve(
    host: str,
    port: int,
    *,
    with_worker: bool,
    workers: int = 1,
    forwarded_allow_ips: str | None = None,
) -> int:
    import uvicorn  # noqa: PLC0415 - the server's imports only for serve
    from django.conf import settings  # noqa: PLC0415 - after setup_django()

    if workers > 1 and settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels.layers"):
        print("msa serve --workers N needs REDIS_URL: live events cross processes", file=sys.stderr)
        return 2

    stop = threading.Event()
    worker: threading.Thread | None = None
    if with_worker:
        from msa.worker.runner import run_forever  # noqa: PLC0415 - after setup_django()

        worker = threading.Thread(target=run_forever, args=(stop,), name="msa-worker", daemon=True)
        worker.start()
    print(f"MSA listening on http://{host}:{port}/  (Ctrl-C stops)", flush=True)
    # uvicorn shuts down on SIGTERM, then restores the handler it found and raises the signal
    # again: with the default handler the process died there and this finally never ran (the
    # worker thread was cut mid-sweep). Ours turns that second SIGTERM into SystemExit.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            "msa.asgi:application",
            host=host,
            port=port,
            lifespan="on",  # msa.asgi.lifespan: warmed up before the first request
            log_level="warning",
            log_config=None,  # Django's LOGGING (settings.py) formats uvicorn's lines too
            access_log=False,
            workers=workers,
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips or settings.MSA_FORWARDED_ALLOW_IPS,
        )
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
    return 0


def _client_url(host: str, port: int) -> str:
    """The address a client on this machine reaches a server listening on ``host`` at."""
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - names the wildcard, binds nothing
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def cmd_demo(args: argparse.Namespace) -> int:
    url = _client_url(args.host, args.port)
    # The enrolment QR names the port this demo serves, unless told otherwise.
    os.environ.setdefault("MSA_PUBLIC_URL", url)
    _setup(demo=True)
    from msa import demo  # noqa: PLC0415 - after setup_django()
    from msa.core.demo_state import (  # noqa: PLC0415 - the demo's imports only for demo
        data_dir,
        demo_server_clear,
        demo_server_record,
    )

    _migrate()
    demo.seed()
    print(demo.summary(), flush=True)
    # msa simulate finds this address in the data folder, like the commands find its keys.
    folder = data_dir()
    demo_server_record(folder, url)
    print(
        f"Keys kept in {folder}: msa case list, msa token create … run here find them.\n"
        "Press a victim's button as her phone would: msa simulate press --victim 1",
        flush=True,
    )
    try:
        return _serve(args.host, args.port, with_worker=True)
    finally:
        demo_server_clear(folder)


def cmd_serve(args: argparse.Namespace) -> int:
    _setup()
    if args.migrate:
        _migrate()
    return _serve(
        args.host,
        args.port,
        with_worker=args.with_worker,
        workers=args.workers,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from msa.worker.runner import run_forever, run_once  # noqa: PLC0415 - after setup_django()

    if args.once:
        for name, handled in run_once().items():
            print(f"{name}: {handled}")
        return 0
    stop = threading.Event()
    try:
        run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_simulate_press(args: argparse.Namespace) -> int:
    from msa.simulate import press  # noqa: PLC0415 - the simulator only for simulate

    return press(
        base_url=args.url,
        victim_number=args.victim,
        trigger=args.trigger,
        call=args.call,
        give_up_after_s=args.give_up_after,
    )


def cmd_manage(args: argparse.Namespace) -> int:
    _setup(demo=os.environ.get("MSA_DEMO") == "1")
    from django.core.management import execute_from_command_line  # noqa: PLC0415 - after setup_django()

    execute_from_command_line(["msa manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msa", description="MSA — Mobile Stalking Alarm")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="migrate, seed the Ghent demo, print logins, serve")
    _add_bind(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve the platform (HTTP and WebSockets)")
    _add_bind(p)
    p.add_argument("--with-worker", action="store_true", help="run the worker in this process")
    p.add_argument("--migrate", action="store_true", help="apply migrations first")
    p.add_argument(
        "--workers", type=_positive, default=1, help="server processes (more than 1: REDIS_URL)"
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="proxies trusted for X-Forwarded-For/-Proto (comma-separated; default: the "
        "setting MSA_FORWARDED_ALLOW_IPS, 127.0.0.1)",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run the timers and sweeps")
    p.add_argument("--once", action="store_true", help="run every sweep once and exit")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("simulate", help="act as a victim's phone")
    sim = p.add_subparsers(dest="what", required=True)
    sp = sim.add_parser("press", help="press the button of a demo victim's phone")
    sp.add_argument("--victim", type=_positive, required=True, help="demo victim number (1-5)")
    sp.add_argument(
        "--url", default=None, help="centre URL (default: the demo running from MSA_DATA_DIR)"
    )
    sp.add_argument(
        "--trigger",
        choices=("button", "app", "duress", "test"),
        default="button",
        help="what raised the alarm",
    )
    sp.add_argument("--call", choices=("dialing", "none"), default="dialing")
    sp.add_argument(
        "--give-up-after",
        type=_positive,
        default=30,
        help="seconds to keep retrying the data alarm",
    )
    sp.set_defaults(func=cmd_simulate_press)
    from msa.simulate import add_scenario_parser  # noqa: PLC0415 - the simulator only for simulate

    add_scenario_parser(sim)

    for module in COMMAND_MODULES:
        import_module(module).register(sub)

    p = sub.add_parser("manage", help="run a Django management command")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except ConfigurationError as exc:  # a missing secret, a bad setting: say which, no traceback
        print(f"msa: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
