"""Signed, durably stored device requests per second, against the floor.

    .venv/bin/python -m bench throughput [--seconds 8] [--workers N] [--postgres URL --redis URL]

32 keep-alive clients in a closed loop (each sends its next request when the last is
answered) against the floor (bench/floor_app.py: commit one row, send one WebSocket frame,
with a WebSocket client listening) and against MSA: ``POST /heartbeat`` (signature, rate
counter, device row, answer after commit) and ``POST /alarms/{id}/locations`` (one fix of
one of 200 live incidents: the incident locked, the fix and its event stored, the console's
push after commit), with a console socket listening. Target (design.md section 5): at least
1/5 of the floor's throughput, one process, on SQLite and on PostgreSQL. ``--workers 2``
(PostgreSQL + Redis only) runs ``msa serve --workers 2``.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from bench.device_api import HOST
from bench.harness import (
    Backend,
    Console,
    Row,
    cpu_s,
    floor_console_keys,
    floor_request,
    floor_server,
    heartbeat_request,
    machine_label,
    msa_console_keys,
    msa_server,
    position_request,
    report,
    seed,
)
from bench.loadgen import Result, closed_loop

CLIENTS = 32
TRACKED = 200


async def floor_run(port: int, pid: int, seconds: float) -> tuple[Result, float]:
    request = floor_request(port)
    async with Console(f"ws://{HOST}:{port}/ws", floor_console_keys):
        await closed_loop(HOST, port, lambda _i: request, connections=8, duration_s=1.0)
        cpu = cpu_s(pid)
        result = await closed_loop(
            HOST, port, lambda _i: request, connections=CLIENTS, duration_s=seconds
        )
        return result, (cpu_s(pid) - cpu) * 1000 / max(1, result.ok)


async def msa_run(
    port: int, pid: int, seeded: dict[str, Any], seconds: float
) -> tuple[dict[str, Result], dict[str, float]]:
    incidents: dict[str, str] = seeded["incidents"]
    tracked = sorted(incidents)
    url = f"ws://{HOST}:{port}/ws/console/{seeded['centre']}/?since={seeded['last_seq']}"
    headers = {
        "Cookie": f"{seeded['cookie']}={seeded['session']}",
        "Origin": f"http://{HOST}:{port}",
    }

    def beat(i: int) -> bytes:
        return heartbeat_request(port, tracked[i % len(tracked)])

    def position(i: int) -> bytes:
        device = tracked[i % len(tracked)]
        return position_request(port, device, incidents[device], datetime.now(UTC))

    out: dict[str, Result] = {}
    cpu_ms: dict[str, float] = {}
    async with Console(url, msa_console_keys, **headers):
        await closed_loop(HOST, port, beat, connections=8, duration_s=1.0)  # warm-up
        await closed_loop(HOST, port, position, connections=8, duration_s=1.0)
        for kind, make in (("heartbeat", beat), ("position", position)):
            cpu = cpu_s(pid)
            out[kind] = await closed_loop(HOST, port, make, connections=CLIENTS, duration_s=seconds)
            cpu_ms[kind] = (cpu_s(pid) - cpu) * 1000 / max(1, out[kind].ok)
    return out, cpu_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench throughput", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=1, help="msa serve --workers N")
    parser.add_argument("--postgres", default="", help="postgres:// URL (databases are made)")
    parser.add_argument("--redis", default="", help="redis:// URL of the channel layer")
    args = parser.parse_args(argv)
    backend = Backend(postgres=args.postgres, redis=args.redis)

    with floor_server(backend) as (port, proc):
        floor, floor_cpu = asyncio.run(floor_run(port, proc.pid, args.seconds))
    env = backend.msa_env()
    seeded = seed(env, press=0, track=TRACKED)
    with msa_server(env, backend.work / "msa.log", workers=args.workers) as (port, proc):
        msa, msa_cpu = asyncio.run(msa_run(port, proc.pid, seeded, args.seconds))

    rows = []
    for kind in ("heartbeat", "position"):
        r = msa[kind]
        met = r.rate >= floor.rate / 5
        rows.append(Row(f"{kind} req/s", "req/s", r.rate, floor.rate, ">= 0.2x floor", met))
        rows.append(
            Row(f"{kind} p50 (ms)", "ms", r.percentile(50), floor.percentile(50)),
        )
        rows.append(Row(f"{kind} p99 (ms)", "ms", r.percentile(99), floor.percentile(99)))
        if args.workers == 1:  # with more, the requests run in child processes
            rows.append(Row(f"{kind} server CPU per request (ms)", "ms", msa_cpu[kind], floor_cpu))
    extra = {
        "clients": CLIENTS,
        "seconds": args.seconds,
        "workers": args.workers,
        "statuses": {k: v.statuses for k, v in msa.items()},
        "floor_statuses": floor.statuses,
    }
    report(f"throughput ({args.workers} server process(es))", machine_label(backend), rows, extra)
    return 0
