"""Runs the sweeps on their schedule until told to stop."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

from msa.worker.sweeps import SWEEPS, Sweep

log = logging.getLogger("msa.worker")


def run_once(sweeps: tuple[Sweep, ...] = SWEEPS) -> dict[str, int]:
    results: dict[str, int] = {}
    for sweep in sweeps:
        results[sweep.name] = sweep.run()
    return results


def run_forever(stop: threading.Event, sweeps: tuple[Sweep, ...] = SWEEPS) -> None:
    next_due = dict.fromkeys((s.name for s in sweeps), 0.0)
    log.info("worker_started sweeps=%s", ",".join(s.name for s in sweeps))
    while not stop.is_set():
        now = time.monotonic()
        for sweep in sweeps:
            if now < next_due[sweep.name]:
                continue
            next_due[sweep.name] = now + sweep.every_s
            close_old_connections()
            try:
                handled = sweep.run()
            except Exception:
                # A sweep that fails is retried on its next turn; the others go on.
                log.exception("sweep_failed sweep=%s", sweep.name)
                continue
            if handled:
                log.info("sweep_done sweep=%s handled=%d", sweep.name, handled)
        stop.wait(min(s.every_s for s in sweeps) / 2)
    close_old_connections()
    log.info("worker_stopped")
