"""Press-to-console and position-to-console latency, against the floor, under background load.

    .venv/bin/python -m bench press [--seconds 6] [--postgres URL --redis URL]

The time from a signed device request being due (open loop: a slow server cannot hide its
queue) to the console's WebSocket receiving the event it caused: ``alarm.raised`` for a
press (each press a new alarm of a device with no open incident), ``alarm.located`` for a
position of one of the 200 live incidents. Measured at a steady 50 requests/s and in a
burst of 200/s, while the 200 live incidents stream a position every 10 s each and their
devices heartbeat (one every 60 s each). The floor (bench/floor_app.py: commit one row,
send one WebSocket frame) gets the same background request rate and the same load, in the
same run: request due → its frame received.

Targets (design.md section 5): p99 within 3x the floor at 50/s; within 15 ms in the burst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from bench.device_api import HOST
from bench.harness import (
    PRESS_PREFIX,
    Backend,
    Console,
    Row,
    floor_console_keys,
    floor_request,
    floor_server,
    heartbeat_request,
    machine_label,
    msa_console_keys,
    msa_server,
    percentile,
    position_request,
    press_request,
    report,
    seed,
)
from bench.loadgen import Sent, open_loop_records

TRACKED = 200
POSITION_EVERY_S = 10.0
HEARTBEAT_EVERY_S = 60.0
STEADY_RATE = 50.0
BURST_RATE = 200.0
BURST_S = 2.0


def latencies(sent: list[Sent], keys: dict[int, Any], arrived: dict[Any, float]) -> list[float]:
    """Due time to the console's receipt, per request; a request whose event never came
    counts as lost (not in the list)."""
    out = []
    for record in sent:
        key = keys.get(record.index)
        if key is not None and key in arrived:
            out.append((arrived[key] - record.due) * 1000)
    return out


async def with_background(
    measure: Awaitable[list[Sent]],
    background: Callable[[float], Coroutine[Any, Any, Any]],
    seconds: float,
) -> list[Sent]:
    task: asyncio.Task[Any] = asyncio.create_task(background(seconds + 1.0))
    try:
        return await measure
    finally:
        await task


async def floor_run(port: int, seconds: float) -> dict[str, list[float] | int]:
    request = floor_request(port)

    def make(_i: int) -> bytes:
        return request

    background_rate = TRACKED / POSITION_EVERY_S + TRACKED / HEARTBEAT_EVERY_S

    async def background(duration: float) -> Any:
        return await open_loop_records(HOST, port, make, rate=background_rate, duration_s=duration)

    out: dict[str, list[float] | int] = {}
    async with Console(f"ws://{HOST}:{port}/ws", floor_console_keys) as console:
        await open_loop_records(HOST, port, make, rate=20, duration_s=1.0)  # warm-up
        for phase, rate, duration in (
            ("steady", STEADY_RATE, seconds),
            ("burst", BURST_RATE, BURST_S),
        ):
            sent = await with_background(
                open_loop_records(HOST, port, make, rate=rate, duration_s=duration),
                background,
                duration,
            )
            keys = {s.index: json.loads(s.body)["seq"] for s in sent if s.status == 200}
            await console.wait_for(list(keys.values()))
            got = latencies(sent, keys, console.arrived)
            out[phase] = got
            out[f"{phase}_lost"] = len(sent) - len(got)
    return out


async def msa_run(port: int, seeded: dict[str, Any], seconds: float) -> dict[str, Any]:
    incidents: dict[str, str] = seeded["incidents"]
    tracked = sorted(incidents)
    url = f"ws://{HOST}:{port}/ws/console/{seeded['centre']}/?since={seeded['last_seq']}"
    headers = {
        "Cookie": f"{seeded['cookie']}={seeded['session']}",
        "Origin": f"http://{HOST}:{port}",
    }
    refs: dict[str, str] = {}
    presses = iter(range(10**9))

    def make_background(i: int) -> bytes:
        # per second: 20 positions (200 incidents every 10 s) and 3.3 heartbeats (every 60 s)
        device = tracked[i % len(tracked)]
        if i % 7 == 6:
            return heartbeat_request(port, device)
        return position_request(port, device, incidents[device], datetime.now(UTC))

    background_rate = TRACKED / POSITION_EVERY_S + TRACKED / HEARTBEAT_EVERY_S

    async def background(duration: float) -> Any:
        return await open_loop_records(
            HOST, port, make_background, rate=background_rate, duration_s=duration
        )

    out: dict[str, Any] = {}
    async with Console(url, msa_console_keys, **headers) as console:
        await open_loop_records(HOST, port, make_background, rate=20, duration_s=1.0)  # warm-up
        for kind in ("press", "position"):
            for phase, rate, duration in (
                ("steady", STEADY_RATE, seconds),
                ("burst", BURST_RATE, BURST_S),
            ):
                keys: dict[int, Any] = {}
                if kind == "press":

                    def make(i: int, keys: dict[int, Any] = keys) -> bytes:
                        device = f"{PRESS_PREFIX}{next(presses)}"
                        keys[i] = device
                        return press_request(port, device)

                else:

                    def make(i: int, keys: dict[int, Any] = keys) -> bytes:
                        device = tracked[i % len(tracked)]
                        at = datetime.now(UTC)
                        keys[i] = ("located", at)
                        return position_request(port, device, incidents[device], at)

                sent = await with_background(
                    open_loop_records(HOST, port, make, rate=rate, duration_s=duration),
                    background,
                    duration,
                )
                statuses: dict[int, int] = {}
                for s in sent:
                    statuses[s.status] = statuses.get(s.status, 0) + 1
                if kind == "press":
                    for s in sent:
                        if s.status in (200, 201):
                            refs[keys[s.index]] = json.loads(s.body)["incident"]
                    keys = {i: ("raised", refs.get(dev)) for i, dev in keys.items()}
                await console.wait_for(list(keys.values()))
                got = latencies(sent, keys, console.arrived)
                out[f"{kind}_{phase}"] = got
                out[f"{kind}_{phase}_lost"] = len(sent) - len(got)
                out[f"{kind}_{phase}_statuses"] = statuses
        out["console_messages"] = console.messages
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench press", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="steady phase length")
    parser.add_argument(
        "--workers", type=int, default=1, help="msa serve --workers N (needs --redis)"
    )
    parser.add_argument(
        "--postgres", default="", help="postgres:// URL (a server to create databases on)"
    )
    parser.add_argument(
        "--redis", default="", help="redis:// URL of the channel layer (with --postgres)"
    )
    args = parser.parse_args(argv)
    if args.workers > 1 and not args.redis:
        parser.error("--workers needs --redis: the processes share the console's events there")
    backend = Backend(postgres=args.postgres, redis=args.redis)

    with floor_server(backend) as (port, _proc):
        floor = asyncio.run(floor_run(port, args.seconds))

    env = backend.msa_env()
    presses = int(STEADY_RATE * args.seconds + BURST_RATE * BURST_S) + 10
    started = time.perf_counter()
    seeded = seed(env, press=presses, track=TRACKED)
    seeded_s = time.perf_counter() - started
    with msa_server(env, backend.work / "msa.log", workers=args.workers) as (port, _proc):
        msa = asyncio.run(msa_run(port, seeded, args.seconds))

    rows: list[Row] = []
    for kind in ("press", "position"):
        for phase in ("steady", "burst"):
            m, f = msa[f"{kind}_{phase}"], floor[phase]
            p99m, p99f = percentile(m, 99), percentile(f, 99)  # type: ignore[arg-type]
            rows.append(
                Row(f"{kind} {phase} p50 (ms)", "ms", percentile(m, 50), percentile(f, 50))  # type: ignore[arg-type]
            )
            if phase == "steady":
                rows.append(
                    Row(
                        f"{kind} steady p99 (ms)", "ms", p99m, p99f, "<= 3x floor", p99m <= 3 * p99f
                    )
                )
            else:
                rows.append(Row(f"{kind} burst p99 (ms)", "ms", p99m, p99f, "<= 15 ms", p99m <= 15))
    extra = {
        "lost": {
            k: v
            for k, v in {**msa, **{f"floor_{k}": v for k, v in floor.items()}}.items()
            if k.endswith("_lost")
        },
        "statuses": {k: v for k, v in msa.items() if k.endswith("_statuses")},
        "console_messages": msa["console_messages"],
        "seed_s": round(seeded_s, 1),
        "steady_s": args.seconds,
        "burst_s": BURST_S,
        "workers": args.workers,
    }
    report(
        f"press-to-console ({args.workers} server process(es))", machine_label(backend), rows, extra
    )
    return 0
