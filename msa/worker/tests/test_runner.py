"""The worker's two loops: a slow sweep that blocks (an SMTP server that does not answer) does
not hold up the timers; every turn beats and logs ``sweep_done``."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError

from msa.alarms.models import Incident
from msa.core.clock import Clock
from msa.dispatch.services import escalation
from msa.worker.models import WorkerHeartbeat
from msa.worker.runner import Turn, heartbeat_write, run_forever, turn_run
from msa.worker.sweeps import FAST, SLOW, SWEEPS, Sweep
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
BOUND_S = 20  # an upper bound for a wait on another thread, never a timing assertion


def test_a_blocking_slow_sweep_does_not_delay_the_timers() -> None:
    stop = threading.Event()
    release = threading.Event()
    slow_entered = threading.Event()
    timer_ran_while_blocked = threading.Event()
    timer_runs = 0

    def smtp_that_hangs() -> int:
        slow_entered.set()
        release.wait(BOUND_S)
        return 0

    def timer() -> int:
        nonlocal timer_runs
        if slow_entered.is_set() and not release.is_set():
            timer_runs += 1
            if timer_runs >= 3:
                timer_ran_while_blocked.set()
        return 0

    beats: list[Turn] = []
    sweeps = (
        Sweep("outbox", 0.01, smtp_that_hangs, SLOW),
        Sweep("ack_escalations", 0.01, timer, FAST),
    )
    worker = threading.Thread(
        target=run_forever, args=(stop, sweeps), kwargs={"beat": lambda w, t, s: beats.append(t)}
    )
    worker.start()
    try:
        assert slow_entered.wait(BOUND_S), "the slow sweep never started"
        assert timer_ran_while_blocked.wait(BOUND_S), "the timer waited for the blocked send"
    finally:
        release.set()
        stop.set()
        worker.join(BOUND_S)
    assert not worker.is_alive()
    assert {t.loop for t in beats} == {FAST, SLOW}


@pytest.mark.django_db  # the turn closes stale connections of its thread
def test_a_failing_sweep_does_not_stop_the_others() -> None:
    def broken() -> int:
        raise RuntimeError("boom")

    sweeps = (Sweep("a", 1.0, broken, FAST), Sweep("b", 1.0, lambda: 2, FAST))
    next_due: dict[str, float] = {}
    turn = turn_run(FAST, sweeps, next_due)
    assert turn.ran == ("a", "b")
    assert (turn.handled, turn.failed) == (2, 1)
    # nothing is due again within the second
    assert turn_run(FAST, sweeps, next_due).ran == ()


@pytest.mark.django_db
def test_sweeps_keep_a_fixed_grid_so_that_periods_share_turns() -> None:
    sweeps = (Sweep("every_1", 1.0, lambda: 0, FAST), Sweep("every_2", 2.0, lambda: 0, FAST))
    due = time.monotonic() - 0.25  # woke a quarter second late
    next_due = {"every_1": due, "every_2": due}
    turn = turn_run(FAST, sweeps, next_due)
    assert turn.ran == ("every_1", "every_2")
    assert turn.lag_ms >= 250
    # on the grid, not a quarter second later: the 2-s sweep's next turn is one of the 1-s one's
    assert next_due == {"every_1": due + 1.0, "every_2": due + 2.0}
    # a loop that fell far behind does not run the missed turns one after the other
    next_due = {"every_1": due - 10, "every_2": due - 10}
    turn_run(FAST, sweeps, next_due)
    assert next_due["every_1"] > time.monotonic()


def test_the_timers_run_in_the_fast_loop_and_the_sends_in_the_slow_one() -> None:
    loops = {s.name: s.loop for s in SWEEPS}
    for timer in ("ack_escalations", "backup_offers", "dispatch_overdue", "on_scene_breaches"):
        assert loops[timer] == FAST
    for slow in ("outbox", "retention"):
        assert loops[slow] == SLOW
    assert Sweep("unregistered", 1.0, lambda: 0).loop == SLOW


@pytest.mark.django_db
def test_the_heartbeat_row_is_one_per_loop_and_moves_with_every_turn(clock: Clock) -> None:
    clock.freeze(NOW)
    turn = Turn(loop=FAST, ran=("a",), handled=0, failed=0, lag_ms=7, duration_ms=3)
    heartbeat_write("host:1:fast", turn, NOW)
    clock.advance(timedelta(seconds=1))
    heartbeat_write("host:1:fast", turn, NOW)
    row = WorkerHeartbeat.objects.get()
    assert (row.loop, row.beat_at, row.started_at, row.lag_ms) == ("fast", clock.now(), NOW, 7)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.django_db
def test_a_loop_logs_sweep_done_every_turn() -> None:
    stop = threading.Event()
    turns = 0

    def beat(worker: str, turn: Turn, started: datetime) -> None:
        nonlocal turns
        turns += 1
        if turns == 3:
            stop.set()

    logger = logging.getLogger("msa.worker")
    lines = Lines()
    logger.addHandler(lines)
    try:
        run_forever(stop, (Sweep("t", 0.001, lambda: 0, FAST),), beat=beat)
    finally:
        logger.removeHandler(lines)
    done = [line for line in lines.lines if line.startswith("sweep_done")]
    assert len(done) == 3
    assert done[0].startswith("sweep_done loop=fast sweeps=t handled=0 failed=0")


@pytest.mark.django_db(transaction=True)  # the loops' threads read what this test committed
def test_an_escalation_fires_while_an_outbox_send_hangs(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    clock.advance(escalation.ack_target() + timedelta(seconds=1))
    stop = threading.Event()
    release = threading.Event()
    entered = threading.Event()

    def send_that_hangs() -> int:  # an SMTP server that accepted the connection and went quiet
        entered.set()
        release.wait(BOUND_S)
        return 0

    fast = tuple(s for s in SWEEPS if s.loop == FAST)
    worker = threading.Thread(
        target=run_forever, args=(stop, (Sweep("outbox", 0.01, send_that_hangs, SLOW), *fast))
    )
    worker.start()
    try:
        assert entered.wait(BOUND_S), "the send never started"
        deadline = time.monotonic() + BOUND_S
        escalated = None
        while escalated is None and time.monotonic() < deadline:
            # SQLite's shared cache locks a table while the loop writes it: read again
            with contextlib.suppress(OperationalError):
                escalated = Incident.objects.get(pk=incident.pk).ack_escalated_at
            stop.wait(0.05)
        assert escalated is not None, "the escalation waited for the hanging send"
        assert not release.is_set()
    finally:
        release.set()
        stop.set()
        worker.join(BOUND_S)
    assert not worker.is_alive()
    assert WorkerHeartbeat.objects.filter(loop=FAST).exists()
