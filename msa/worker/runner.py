"""Runs the sweeps on their schedule until told to stop: the fast loop and the slow loop, each
in its own thread (``msa.worker.sweeps`` says which sweep runs in which), so that a send that
waits on a provider never holds up an escalation timer.

Every turn of a loop writes that loop's heartbeat row (read by ``/readyz`` and ``/metrics``)
and logs one ``sweep_done`` line.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import close_old_connections

from msa.core import clock
from msa.worker.models import WorkerHeartbeat
from msa.worker.sweeps import FAST, SLOW, SWEEPS, Loop, Sweep

log = logging.getLogger("msa.worker")


@dataclass(frozen=True, slots=True)
class Turn:
    """What one turn of a loop did."""

    loop: Loop
    ran: tuple[str, ...]
    handled: int
    failed: int
    lag_ms: int
    duration_ms: int


Beat = Callable[[str, Turn, datetime], None]


def heartbeat_write(worker: str, turn: Turn, started_at: datetime) -> None:
    """The loop's row: one UPDATE a turn (an INSERT on the first)."""
    WorkerHeartbeat.objects.update_or_create(
        worker=worker,
        defaults={
            "loop": turn.loop,
            "started_at": started_at,
            "beat_at": clock.now(),
            "lag_ms": turn.lag_ms,
            "duration_ms": turn.duration_ms,
        },
    )


def run_once(sweeps: tuple[Sweep, ...] = SWEEPS) -> dict[str, int]:
    """Every sweep once, in this thread (``msa worker --once`` and the tests)."""
    results: dict[str, int] = {}
    for sweep in sweeps:
        results[sweep.name] = sweep.run()
    return results


def turn_run(loop: Loop, sweeps: tuple[Sweep, ...], next_due: dict[str, float]) -> Turn:
    """Run the sweeps of ``loop`` whose turn has come; a sweep that fails is retried on its
    next turn and the others go on."""
    ran: list[str] = []
    handled = failed = 0
    lag = 0.0
    started = time.monotonic()
    for sweep in sweeps:
        # on a fixed grid from the loop's start, so that sweeps whose periods divide each other
        # run in the same turn; a loop that fell behind skips the missed turns, never piles up
        due = next_due.get(sweep.name, started)
        if started < due:
            continue
        lag = max(lag, started - due)
        following = due + sweep.every_s
        next_due[sweep.name] = following if following > started else started + sweep.every_s
        close_old_connections()
        ran.append(sweep.name)
        try:
            handled += sweep.run()
        except Exception:
            failed += 1
            log.exception("sweep_failed sweep=%s loop=%s", sweep.name, loop)
    return Turn(
        loop=loop,
        ran=tuple(ran),
        handled=handled,
        failed=failed,
        lag_ms=round(lag * 1000),
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def run_loop(
    stop: threading.Event,
    loop: Loop,
    sweeps: tuple[Sweep, ...],
    *,
    beat: Beat = heartbeat_write,
) -> None:
    """One loop until ``stop`` is set: run what is due, beat, log, sleep until the next due."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{loop}"[:120]
    started_at = clock.now()
    now = time.monotonic()
    next_due = dict.fromkeys((s.name for s in sweeps), now)
    while not stop.is_set():
        turn = turn_run(loop, sweeps, next_due)
        try:
            beat(worker, turn, started_at)
        except Exception:
            # the loop goes on; /readyz shows the missing beat
            log.exception("worker_heartbeat_failed loop=%s", loop)
        log.info(
            "sweep_done loop=%s sweeps=%s handled=%d failed=%d lag_ms=%d duration_ms=%d",
            loop,
            ",".join(turn.ran),
            turn.handled,
            turn.failed,
            turn.lag_ms,
            turn.duration_ms,
        )
        stop.wait(max(0.0, min(next_due.values()) - time.monotonic()))
    close_old_connections()


def run_forever(
    stop: threading.Event,
    sweeps: tuple[Sweep, ...] = SWEEPS,
    *,
    beat: Beat = heartbeat_write,
) -> None:
    """The fast and the slow loop, each in its own thread, until ``stop`` is set."""
    threads = []
    for loop in (FAST, SLOW):
        mine = tuple(s for s in sweeps if s.loop == loop)
        if mine:
            threads.append(
                threading.Thread(
                    target=run_loop,
                    args=(stop, loop, mine),
                    kwargs={"beat": beat},
                    name=f"msa-worker-{loop}",
                    daemon=True,
                )
            )
    log.info(
        "worker_started fast=%s slow=%s",
        ",".join(s.name for s in sweeps if s.loop == FAST),
        ",".join(s.name for s in sweeps if s.loop == SLOW),
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.info("worker_stopped")
