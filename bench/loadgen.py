"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams.

Lean on purpose: on 2 cores the generator shares the machine with the server, so it must
cost as little as possible. Each request is a prepared byte string; the answer is read by
its Content-Length (every server measured here sends one).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    sent: int = 0
    ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> str:
        median = statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")
        return (
            f"{self.rate:8.0f} req/s  p50 {median:6.2f} ms  p99 {self.percentile(99):6.2f} ms"
            f"  ({self.ok}/{self.sent} ok, statuses {dict(sorted(self.statuses.items()))})"
        )


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in {b"\r\n", b"\n", b""}:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def closed_loop(
    host: str, port: int, make: Callable[[int], bytes], *, connections: int, duration_s: float
) -> Result:
    """``connections`` clients each sending the next request as soon as the last is answered."""
    result = Result()
    deadline = time.perf_counter() + duration_s
    counter = iter(range(10**9))

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                request = make(next(counter))
                started = time.perf_counter()
                result.sent += 1
                status = await _exchange(reader, writer, request)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status < 300:
                    result.ok += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.elapsed_s = time.perf_counter() - started
    return result


async def open_loop(
    host: str, port: int, make: Callable[[int], bytes], *, rate: float, duration_s: float
) -> Result:
    """Requests at a fixed ``rate`` per second, each on a pooled connection, latency measured
    from the moment it was due (so a slow server cannot hide its queueing)."""
    result = Result()
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(max(4, int(rate // 10))):
        pool.put_nowait(await asyncio.open_connection(host, port))
    interval = 1.0 / rate
    total = int(rate * duration_s)
    start = time.perf_counter()

    async def one(index: int, due: float) -> None:
        reader, writer = await pool.get()
        try:
            status = await _exchange(reader, writer, make(index))
        finally:
            pool.put_nowait((reader, writer))
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status < 300:
            result.ok += 1

    tasks = []
    for index in range(total):
        due = start + index * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result.sent += 1
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - start
    while not pool.empty():
        _reader, writer = pool.get_nowait()
        writer.close()
    return result


@dataclass
class Sent:
    """One request of :func:`open_loop_records`: when it was due, answered, and the answer."""

    index: int
    due: float
    done: float = 0.0
    status: int = 0
    body: bytes = b""


async def _exchange_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in {b"\r\n", b"\n", b""}:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def open_loop_records(
    host: str,
    port: int,
    make: Callable[[int], bytes],
    *,
    rate: float,
    duration_s: float,
    connections: int = 0,
) -> list[Sent]:
    """:func:`open_loop` that keeps every request's due time, answer time, status and body
    (``make`` is called when the request is due, so that it can carry the time it was sent)."""
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections or max(4, int(rate // 10))):
        pool.put_nowait(await asyncio.open_connection(host, port))
    interval = 1.0 / rate
    total = int(rate * duration_s)
    start = time.perf_counter()
    sent: list[Sent] = []

    async def one(record: Sent) -> None:
        reader, writer = await pool.get()
        try:
            record.status, record.body = await _exchange_body(reader, writer, make(record.index))
        finally:
            pool.put_nowait((reader, writer))
        record.done = time.perf_counter()

    tasks = []
    for index in range(total):
        due = start + index * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        record = Sent(index, due)
        sent.append(record)
        tasks.append(asyncio.create_task(one(record)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        _reader, writer = pool.get_nowait()
        writer.close()
    return sent
