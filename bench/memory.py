"""Resident memory of one MSA server process with its worker and 200 live incidents, against
the floor, over a steady load.

    .venv/bin/python -m bench memory [--seconds 120] [--postgres URL --redis URL]

``msa serve --with-worker`` (the worker's timers and sweeps in the same process) with 200 live
incidents streaming a position every 10 s each, their devices heartbeating every 60 s and one
console socket listening; the floor gets the same request rate. RSS (``/proc/PID/status``
VmRSS) is sampled every 5 s after a 10 s warm-up; the growth over the run is extrapolated
linearly (least squares) to an hour. Targets (design.md section 5): under 300 MB, flat within
10 % over an hour (a shorter run extrapolated, as the output says).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.device_api import HOST
from bench.harness import (
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
    position_request,
    report,
    seed,
)
from bench.loadgen import open_loop_records

TRACKED = 200
RATE = TRACKED / 10 + TRACKED / 60
SAMPLE_S = 5.0
WARM_UP_S = 10.0


def rss_mb(pid: int) -> float:
    with Path(f"/proc/{pid}/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def sampled(pid: int, load: Any, seconds: float) -> list[tuple[float, float]]:
    task = asyncio.create_task(load(WARM_UP_S + seconds))
    await asyncio.sleep(WARM_UP_S)
    start = time.perf_counter()
    samples = []
    while time.perf_counter() - start < seconds:
        samples.append((time.perf_counter() - start, rss_mb(pid)))
        await asyncio.sleep(SAMPLE_S)
    samples.append((time.perf_counter() - start, rss_mb(pid)))
    await task
    return samples


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return cov / var * 3600 if var else 0.0


async def floor_run(port: int, pid: int, seconds: float) -> list[tuple[float, float]]:
    request = floor_request(port)

    async def load(duration: float) -> Any:
        return await open_loop_records(
            HOST, port, lambda _i: request, rate=RATE, duration_s=duration
        )

    async with Console(f"ws://{HOST}:{port}/ws", floor_console_keys):
        return await sampled(pid, load, seconds)


async def msa_run(port: int, pid: int, seeded: dict[str, Any], seconds: float) -> Any:
    incidents: dict[str, str] = seeded["incidents"]
    tracked = sorted(incidents)
    url = f"ws://{HOST}:{port}/ws/console/{seeded['centre']}/?since={seeded['last_seq']}"
    headers = {
        "Cookie": f"{seeded['cookie']}={seeded['session']}",
        "Origin": f"http://{HOST}:{port}",
    }

    def make(i: int) -> bytes:
        device = tracked[i % len(tracked)]
        if i % 7 == 6:
            return heartbeat_request(port, device)
        return position_request(port, device, incidents[device], datetime.now(UTC))

    async def load(duration: float) -> Any:
        return await open_loop_records(HOST, port, make, rate=RATE, duration_s=duration)

    async with Console(url, msa_console_keys, **headers) as console:
        samples = await sampled(pid, load, seconds)
        return samples, console.messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="measured run length")
    parser.add_argument(
        "--floor-seconds",
        type=float,
        default=None,
        help="the floor's run length (default: --seconds; the floor holds no state to grow, so "
        "an hour's MSA run does not need an hour of the floor)",
    )
    parser.add_argument("--postgres", default="", help="postgres:// URL (databases are made)")
    parser.add_argument("--redis", default="", help="redis:// URL of the channel layer")
    args = parser.parse_args(argv)
    backend = Backend(postgres=args.postgres, redis=args.redis)

    with floor_server(backend) as (port, proc):
        floor_seconds = args.seconds if args.floor_seconds is None else args.floor_seconds
        floor = asyncio.run(floor_run(port, proc.pid, floor_seconds))
    env = backend.msa_env()
    seeded = seed(env, press=0, track=TRACKED)
    with msa_server(env, backend.work / "msa.log", with_worker=True) as (port, proc):
        msa, messages = asyncio.run(msa_run(port, proc.pid, seeded, args.seconds))

    def figures(samples: list[tuple[float, float]]) -> tuple[float, float, float, float]:
        first, last = samples[0][1], samples[-1][1]
        peak = max(m for _, m in samples)
        hour = first + slope_per_hour(samples)
        return first, last, peak, hour

    m_first, m_last, m_peak, m_hour = figures(msa)
    f_first, f_last, f_peak, f_hour = figures(floor)
    growth = (m_hour - m_first) / m_first * 100
    rows = [
        Row("RSS after warm-up (MB)", "MB", m_first, f_first),
        Row("RSS at the end (MB)", "MB", m_last, f_last),
        Row("RSS peak (MB)", "MB", m_peak, f_peak, "< 300 MB", m_peak < 300),
        Row("RSS after 1 h, extrapolated (MB)", "MB", m_hour, f_hour, "< 300 MB", m_hour < 300),
        Row(
            "growth over 1 h, extrapolated (%)",
            "%",
            growth,
            (f_hour - f_first) / f_first * 100,
            "within 10 %",
            abs(growth) <= 10,
        ),
        Row(
            "growth over the run, measured (%)",
            "%",
            (m_last - m_first) / m_first * 100,
            (f_last - f_first) / f_first * 100,
        ),
    ]
    extra = {
        "seconds": args.seconds,
        "extrapolated_from_s": args.seconds,
        "floor_seconds": floor_seconds,
        "request_rate": RATE,
        "console_messages": messages,
        "msa_samples": [[round(t, 1), round(m, 1)] for t, m in msa],
        "floor_samples": [[round(t, 1), round(m, 1)] for t, m in floor],
    }
    report(
        f"memory ({args.seconds:.0f} s run, extrapolated to 1 h)",
        machine_label(backend),
        rows,
        extra,
    )
    return 0
