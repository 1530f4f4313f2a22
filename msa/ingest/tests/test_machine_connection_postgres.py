"""On PostgreSQL a machine thread keeps its connection between device requests, with the
machine deadline set once, and lets it go with the defaults put back: no staff request that
takes a connection from the pool inherits the machine statement timeout (1.5 s)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from django.db import connection

from msa.asgi import machine_handler
from msa.core.clock import Clock
from msa.demo_data import demo_device_id
from msa.devices.models import Device
from msa.ingest import machine_asgi as machine
from tests.support.device import body_bytes, heartbeat_payload, machine_post

pytestmark = pytest.mark.postgres_only

NOW = datetime(2026, 3, 14, 8, 15, 3, tzinfo=UTC)
PATH = "/api/device/v1/heartbeat"


def _beat_body(n: int) -> bytes:
    return body_bytes(heartbeat_payload(at="2026-03-14T08:15:00Z", phone_pct=80 - n))


@pytest.fixture(autouse=True)
def _connections_let_go() -> Iterator[None]:
    yield
    machine_handler.release_connections()  # before the test database is dropped


def _kept_each() -> list[tuple[int, str]]:
    """Per machine thread that holds a connection: its server process and statement timeout."""
    return [kept for kept in machine_handler.each_thread(_kept) if kept[0] is not None]  # type: ignore[misc]


def _kept() -> tuple[int | None, str | None]:
    raw = connection.connection
    if raw is None:
        return None, None
    row = raw.execute("SHOW statement_timeout").fetchone()
    return raw.info.backend_pid, None if row is None else str(row[0])


def _requests(*bodies: bytes) -> list[int]:
    async def run() -> list[int]:
        return [await machine_post(PATH, body, now=NOW) for body in bodies]

    return asyncio.run(run())


@pytest.mark.django_db(transaction=True)
def test_the_connection_is_kept_with_the_deadline_and_let_go_with_the_defaults(
    demo: None, clock: Clock, settings: Any
) -> None:
    clock.freeze(NOW)
    settings.MSA_MACHINE_DB_TIMEOUT_MS = 1234  # not the default
    assert machine.POSTGRES_THREADS >= 1
    assert _requests(_beat_body(1)) == [200]
    pids_and_timeouts = []
    for n in range(2, 5):
        assert _requests(_beat_body(n)) == [200]
        pids_and_timeouts += _kept_each()
    # the same server processes after every request: kept, not checked out of the pool again;
    # and their deadline is the machine's
    assert 1 <= len({pid for pid, _ in pids_and_timeouts}) <= machine.POSTGRES_THREADS
    assert {timeout for _, timeout in pids_and_timeouts} == {"1234ms"}

    # A kept connection that is let go goes back to the pool with the defaults.
    pids = {pid for pid, _ in _kept_each()}
    machine_handler.release_connections()
    assert _kept_each() == []
    pool = connection.pool  # type: ignore[attr-defined] # PostgreSQL's wrapper has one
    assert pool is not None
    taken = [pool.getconn() for _ in range(pool.get_stats()["pool_available"])]
    try:
        back = [raw for raw in taken if raw.info.backend_pid in pids]
        assert len(back) == len(pids), "the connections let go are in the pool"
        for raw in back:
            assert raw.execute("SHOW statement_timeout").fetchone() == ("0",)
            assert raw.execute("SHOW lock_timeout").fetchone() == ("0",)
    finally:
        for raw in taken:
            pool.putconn(raw)
    assert _requests(_beat_body(6)) == [200]  # and the next request sets the deadline again
    assert {timeout for _, timeout in _kept_each()} == {"1234ms"}


def _prepared() -> list[str]:
    raw = connection.connection
    if raw is None:
        return []
    return [str(r[0]) for r in raw.execute("SELECT statement FROM pg_prepared_statements")]


@pytest.mark.django_db(transaction=True)
def test_the_hot_statements_are_prepared_on_the_kept_connections(
    demo: None, clock: Clock, settings: Any
) -> None:
    clock.freeze(NOW)
    settings.MSA_HEARTBEAT_RATE_LIMIT = 1000
    beats = machine.POSTGRES_THREADS * 8  # more than psycopg's threshold on every connection
    assert _requests(*(_beat_body(n) for n in range(beats))) == [200] * beats
    prepared = [text for texts in machine_handler.each_thread(_prepared) for text in texts]
    # the device lookup that starts every request, parsed and planned once per connection
    lookups = [t for t in prepared if '"devices_device"' in t and '"device_id" = $1' in t]
    assert lookups, prepared


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_dropped_is_replaced_not_handed_on(
    demo: None, clock: Clock, settings: Any
) -> None:
    clock.freeze(NOW)
    settings.MSA_MACHINE_DB_TIMEOUT_MS = 1700
    settings.MSA_HEARTBEAT_RATE_LIMIT = 1000  # up to 50 beats below, in one frozen window
    assert _requests(_beat_body(1)) == [200]
    (pid, _), *_ = _kept_each()
    params = connection.get_connection_params()
    dsn = {k: v for k, v in params.items() if k in {"host", "port", "user", "dbname", "password"}}
    with psycopg.connect(**dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # A request on the dropped connection cannot be stored (503: the phone sends its SMS);
    # the connection is let go, and the next request is stored on a new one. Which pool thread
    # takes a request is the pool's choice: beats go until one reaches the dropped connection.
    beat = 2
    statuses = []
    while 503 not in statuses and beat < 50:
        statuses += _requests(_beat_body(beat))
        beat += 1
    assert statuses[-1] == 503, "no request reached the dropped connection"
    assert set(statuses) == {200, 503} or statuses == [503]
    after = _requests(*(_beat_body(n) for n in range(beat, beat + 2 * machine.POSTGRES_THREADS)))
    assert after == [200] * len(after)
    kept = _kept_each()
    assert kept
    assert pid not in {p for p, _ in kept}
    assert {timeout for _, timeout in kept} == {"1700ms"}


@pytest.mark.django_db(transaction=True)
def test_a_connection_a_database_error_came_through_is_not_kept(
    demo: None, clock: Clock, settings: Any
) -> None:
    """A lock held past the deadline by a statement outside a transaction: 503 (the phone sends
    its SMS), and the connection the error came through is closed, not kept (its prepared
    statements may be what failed; a rollback would have cleared them, there was none)."""
    clock.freeze(NOW)
    settings.MSA_MACHINE_DB_TIMEOUT_MS = 300
    # the device's heartbeat counter exists: the next beat counts with one UPDATE, and only
    # the device's own UPDATE (autocommit) waits for the lock below
    assert _requests(_beat_body(1)) == [200]
    # each thread its own connection (the proxy read in that thread, not in this one)
    machine_handler.each_thread(lambda: connection.ensure_connection())  # noqa: PLW0108
    before = {pid for pid, _ in _kept_each()}
    assert len(before) == machine.POSTGRES_THREADS
    device = Device.objects.get(device_id=demo_device_id(1))
    params = connection.get_connection_params()
    dsn = {k: v for k, v in params.items() if k in {"host", "port", "user", "dbname", "password"}}
    with psycopg.connect(**dsn) as holder:
        holder.execute("SELECT 1 FROM devices_device WHERE id = %s FOR UPDATE", [device.pk])
        assert _requests(_beat_body(10)) == [503]
        holder.rollback()
    after = {pid for pid, _ in _kept_each()}
    assert len(after) == len(before) - 1  # the one the error came through was let go
    assert after < before
    assert _requests(_beat_body(11)) == [200]
