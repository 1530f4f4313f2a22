"""Throughput and latency of signed, durably stored device requests, against the floor.

    .venv/bin/python -m bench.device_api [--seconds 8] [--devices 200] [--postgres URL]

Measures, in one run on this machine: the floor (bench/floor_app.py: a bare ASGI handler
that commits one row and sends one WebSocket message) and MSA's ``POST /heartbeat``
(signature check, rate-limit counter, device row update, answer after commit), both under
uvicorn, both with the same load generator: the most requests per second 32 keep-alive
clients get answered, and the latency at a fixed 50 requests per second. Prints the ratios
that design.md section 5 sets targets for (throughput at least 1/5 of the floor).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bench.loadgen import Result, closed_loop, open_loop
from msa_protocol import signed_headers

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@contextmanager
def process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            yield
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def device_key(n: int) -> bytes:
    return hmac.new(b"msa-bench-device", str(n).encode(), hashlib.sha256).digest()


def seed(env: dict[str, str], devices: int) -> None:
    code = f"""
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msa.settings")
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from msa import demo
demo.seed()
from msa.cases.models import ProtectionCase
from msa.core.actors import Actor
from msa.devices.models import Device
from msa.devices.services import device_enroll
from bench.device_api import device_key
case = ProtectionCase.objects.order_by("id").first()
for n in range({devices}):
    if not Device.objects.filter(device_id=f"bench-{{n}}").exists():
        device_enroll(
            case=case, actor=Actor.system("bench"), device_id=f"bench-{{n}}", key=device_key(n)
        )
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


def heartbeat_requests(port: int, devices: int) -> Callable[[int], bytes]:
    now = datetime.now(UTC).replace(microsecond=0)
    body = json.dumps(
        {
            "at": now.isoformat().replace("+00:00", "Z"),
            "battery": {"phone_pct": 80, "button_pct": 70},
            "button": {"connected": True, "last_seen_at": None},
            "permissions": {"location": "always", "sms": True, "notifications": True},
            "network": {"data": True},
            "app_version": "bench",
        },
        separators=(",", ":"),
    ).encode()
    path = "/api/device/v1/heartbeat"
    prepared = []
    for n in range(devices):
        headers = signed_headers(
            f"bench-{n}", device_key(n), "POST", path, body, int(now.timestamp())
        )
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {HOST}:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ] + [f"{k}: {v}" for k, v in headers.items()]
        prepared.append(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return lambda i: prepared[i % devices]


def floor_requests(port: int) -> Callable[[int], bytes]:
    body = b'{"at":"now"}'
    request = (
        f"POST /store HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return lambda _i: request


async def measure(port: int, make: Callable[[int], bytes], seconds: float) -> tuple[Result, Result]:
    await closed_loop(HOST, port, make, connections=8, duration_s=1.0)  # warm-up
    peak = await closed_loop(HOST, port, make, connections=32, duration_s=seconds)
    steady = await open_loop(HOST, port, make, rate=50, duration_s=seconds)
    return peak, steady


async def measure_with_listener(
    port: int, make: Callable[[int], bytes], seconds: float
) -> tuple[Result, Result, int]:
    """``measure`` while one WebSocket client receives what the server pushes."""
    import websockets  # noqa: PLC0415 - only for the WebSocket measure

    received = 0
    async with websockets.connect(f"ws://{HOST}:{port}/ws") as ws:

        async def listen() -> None:
            nonlocal received
            async for _ in ws:
                received += 1

        listener = asyncio.create_task(listen())
        peak, steady = await measure(port, make, seconds)
        listener.cancel()
    return peak, steady, received


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--postgres", default="", help="postgres:// URL of an empty database")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="msa-bench-"))
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        HOST,
        "--log-level",
        "warning",
        "--no-access-log",
    ]

    floor_port = free_port()
    floor_env = {**os.environ, "FLOOR_DB": args.postgres or str(work / "floor.sqlite3")}
    with process(
        [*uvicorn, "--port", str(floor_port), "bench.floor_app:app"], floor_env, work / "floor.log"
    ):
        wait_for_port(floor_port)
        floor_peak, floor_steady, pushed = asyncio.run(
            measure_with_listener(floor_port, floor_requests(floor_port), args.seconds),
        )

    msa_port = free_port()
    msa_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    msa_env.update(
        {
            "MSA_DEMO": "1",
            "MSA_DATA_DIR": str(work / "msa"),
            "MSA_LOG_LEVEL": "WARNING",
            "MSA_DEVICE_RATE_LIMIT": "1000000",
            "MSA_HEARTBEAT_RATE_LIMIT": "1000000",
        }
    )
    if args.postgres:
        msa_env["DATABASE_URL"] = args.postgres
    seed(msa_env, args.devices)
    with process(
        [sys.executable, "-m", "msa.cli", "serve", "--port", str(msa_port)],
        msa_env,
        work / "msa.log",
    ):
        wait_for_port(msa_port)
        msa_peak, msa_steady = asyncio.run(
            measure(msa_port, heartbeat_requests(msa_port, args.devices), args.seconds),
        )

    database = "PostgreSQL" if args.postgres else "SQLite (WAL)"
    print(f"device API bench on {os.cpu_count()} cores, {database}, {args.seconds:.0f} s per phase")
    print(f"  floor  peak (32 clients): {floor_peak.summary()}   ws messages: {pushed}")
    print(f"  floor  steady (50/s)    : {floor_steady.summary()}")
    print(f"  MSA heartbeat peak      : {msa_peak.summary()}")
    print(f"  MSA heartbeat steady    : {msa_steady.summary()}")
    ratio = msa_peak.rate / floor_peak.rate if floor_peak.rate else float("nan")
    p99 = msa_steady.percentile(99) / floor_steady.percentile(99)
    print(f"  throughput ratio MSA/floor: {ratio:.3f} (target >= 0.200)")
    print(f"  p99 latency ratio at 50/s : {p99:.2f}x the floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
