"""The machine endpoints' ASGI handler: one thread hop per request at most, connections kept.

Django's ASGI handler runs each request in a thread-sensitive context of its own: a fresh
thread, hence a fresh database connection (opened and closed per request: about 12 % of
the device API's time on SQLite), and a hop between the event loop and that thread for
every synchronous middleware, for the ``request_started``/``request_finished`` signals and
for the response's ``close``. Here the body is read on the event loop, then the whole
request (Django's lean machine middleware chain, the view, its one service call) runs in
**one** call on a small pool of long-lived threads, and the answer is sent from the loop.

Each pool thread keeps its database connection between requests, with the machine deadline
set once (``msa.core.api``): on SQLite the pragmas and functions are set up once, not per
request; on PostgreSQL the thread keeps the connection it took from psycopg's pool (the
pool's ``MSA_DB_POOL_MAX`` counts it: ``POSTGRES_THREADS`` of them stay out for the machine
endpoints), which spares two round trips (the deadline's ``SET`` and ``RESET``) and the
pool's checkout per request, and keeps psycopg's prepared statements (``msa.core.sql``). A
connection that broke or was left in a transaction, and on PostgreSQL one a database error came
through, is let go (:func:`_tidy_connections`): a PostgreSQL one back to the pool with the
defaults put back, or closed, so that no staff request inherits the machine deadline. Live
events that the request's commit publishes are handed to the event loop without waiting
(:func:`msa.core.publish.loop_bind`). On SQLite the device API's requests are answered on the
event loop itself, without the hop, unless they meet another writer's lock (see
``OneHopMachineHandler._loop_first``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

from django.conf import settings
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import DatabaseError, connections, reset_queries
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http.response import HttpResponseBase
from django.test.utils import override_settings
from django.urls import get_resolver, set_script_prefix

from msa.core.api import (
    LockTaken,
    MachineApi,
    machine_deadline_clear,
    machine_deadline_forget,
    machine_no_wait,
    machine_thread_dedicate,
)
from msa.core.publish import Held, loop_bind, pushes_held, pushes_send
from msa.ingest.device_route import DirectRoutes

log = logging.getLogger("msa.ingest.machine")
T = TypeVar("T")

# SQLite has one writer at a time: one thread writes as fast as two that wait on each other's
# lock (and the busy handler's sleeps); PostgreSQL overlaps the round trips of a few, but
# more threads cost more in switching than they gain (bench throughput: 441 heartbeats/s with
# 2 threads, 329 with 4, 314 with 8).
SQLITE_THREADS = 1
POSTGRES_THREADS = 2


@functools.cache
def _vendor() -> str:
    """The default database's vendor, read once: on the loop ``connections["default"]`` is
    looked up in the request task's own context, where Django made a new (unconnected) wrapper
    for every request: 4 % of the loop's time per position on PostgreSQL (py-spy)."""
    return str(connections["default"].vendor)


def _threads() -> int:
    return SQLITE_THREADS if _vendor() == "sqlite" else POSTGRES_THREADS


def _tidy_connections() -> None:
    """After a request: keep a healthy connection; let go of what broke or was left in a
    transaction. On PostgreSQL, of any connection a database error came through: its prepared
    statements may be what failed (a plan a migration made stale fails on that connection until
    it closes), so it is closed, not kept or handed on; a new one comes from the pool."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        if conn.in_atomic_block or (
            conn.errors_occurred and (conn.vendor == "postgresql" or not conn.is_usable())
        ):
            _let_go(conn, discard=True)
        elif conn.errors_occurred:
            conn.errors_occurred = False  # an SQLite connection that still works


def _let_go(conn: BaseDatabaseWrapper, *, discard: bool = False) -> None:
    """Close a kept connection. A PostgreSQL one goes back to the pool that staff requests
    share with the defaults put back, or is closed first (the pool then opens a new one) when
    ``discard`` says so or that cannot be done: broken. (An SQLite one is simply closed.)"""
    if conn.vendor == "postgresql":
        clean = not discard and conn.is_usable() and machine_deadline_clear()
        if not clean:
            with suppress(Exception):  # closing what may already have broken
                conn.connection.close()
    machine_deadline_forget()
    conn.close()


def _release(response: HttpResponseBase) -> None:
    """``response.close()`` without its ``request_finished`` signal, whose receiver closes
    every connection when ``CONN_MAX_AGE`` is 0 (what this handler does instead is
    :func:`_tidy_connections`)."""
    closers = getattr(response, "_resource_closers", [])
    for closer in closers:
        try:
            closer()
        except Exception:
            log.exception("response_close_failed")
    closers.clear()
    response.closed = True


CHECKPOINT_EVERY = 100  # requests answered on the loop between two checkpoints


class _LoopSeat(threading.local):
    """The context in which an event loop's thread answers requests (its kept connection)."""

    context: contextvars.Context | None = None


def _checkpoints_off() -> None:
    """The loop's connection leaves checkpoints to the pool thread (set once per connection;
    its busy timeout of 0 is the machine deadline's, ``msa.core.api.machine_no_wait``)."""
    conn = connections["default"]
    if conn.connection is None or getattr(conn, "_msa_on_loop", None) is not conn.connection:
        with conn.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint = 0")  # takes no lock
        conn._msa_on_loop = conn.connection  # type: ignore[attr-defined]


def _let_go_kept() -> None:
    """Let go of this thread's (this context's) kept connections, but one in a transaction."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and not conn.in_atomic_block:
            _let_go(conn)


def _checkpoint() -> None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except DatabaseError:  # the next one tries again; the other connections checkpoint too
        log.warning("machine_checkpoint_failed", exc_info=True)
    finally:
        _tidy_connections()


class OneHopMachineHandler(ASGIHandler):
    """Django's ASGI handler with ``middleware`` (the machine endpoints' lean chain), the chain
    and view run synchronously in one hop to a pool thread."""

    def __init__(
        self, middleware: list[str], *, direct: tuple[str, MachineApi] | None = None
    ) -> None:
        self._machine_middleware = middleware
        self._direct_api = direct
        self.direct: DirectRoutes | None = None
        super().__init__()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._seat = _LoopSeat()
        self._checkpoint: Future[None] | None = None
        self.loop_answered = 0  # requests answered on the event loop (SQLite) ...
        self.loop_declined = 0  # ... and those that met a lock there and went to the pool

    def load_middleware(self, is_async: bool = False) -> None:
        # The chain is built once, synchronous: it runs whole in the pool thread.
        with override_settings(MIDDLEWARE=self._machine_middleware):
            super().load_middleware(is_async=False)
        if self._direct_api is not None:
            prefix, api = self._direct_api
            self.direct = DirectRoutes(api, prefix, self._machine_middleware)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            # The URLconf imports every app's views (the staff pages too): once, before the
            # first request, not inside a press (it took about a second under load). The server
            # did it at its start (msa.asgi.server_ready); an application driven without the
            # lifespan protocol (tests) does it here.
            get_resolver().url_patterns  # noqa: B018 - imported for its side effect
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=_threads(),
                        thread_name_prefix="msa-machine",
                        initializer=machine_thread_dedicate,
                    )
        return self._pool

    def release_connections(self) -> None:
        """Let go of every pool thread's kept connection (before the database is dropped at the
        end of a test run, or to hand the connections back without stopping the server)."""
        if self._pool is None:
            return
        self.each_thread(_let_go_kept)

    def each_thread(self, fn: Callable[[], T]) -> list[T]:
        """``fn``'s answer in each of the pool's threads (what each thread holds), once each."""
        threads = _threads()
        # Each call waits for the others: so each runs in a thread of its own, all of them.
        barrier = threading.Barrier(threads)

        def run() -> T:
            with suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            return fn()

        tasks = [self._executor().submit(run) for _ in range(threads)]
        return [task.result(timeout=30) for task in tasks]

    @staticmethod
    async def _body(receive: Any) -> bytes | None:
        """The body, in memory (``None``: the client went away). ``msa.core.bodylimit`` in front
        of this handler (``msa.asgi``) has refused one over the protocol's 64 KiB and hands the
        rest on as one message; each run of the request reads a file of its own (Django's
        spooled file is closed by the request that reads it, and a rerun reads it again)."""
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await self._body(receive)
        if body is None:
            return
        loop = asyncio.get_running_loop()
        loop_bind(loop)
        if self._loop_first():
            held: Held = []
            try:
                with pushes_held(loop, held):
                    response = self._on_loop(scope, io.BytesIO(body))
                if response is not None:
                    await self.send_response(response, send)
                    return
            finally:
                # what it committed reaches the consoles now, answered here or not
                await pushes_send(held)
        # Run in the pool thread's own context (not a copy of the loop's): Django keeps the
        # connections in context-local storage, so that keeps them per thread.
        response = await loop.run_in_executor(
            self._executor(), self._respond, scope, io.BytesIO(body)
        )
        await self.send_response(response, send)

    # --- SQLite: the device API answered on the event loop ----------------------------------
    #
    # A device request costs one process about 0.8 ms of CPU, but the hop to a pool thread and
    # back (the GIL handed between the loop and the thread at every statement, the futures, the
    # wake-ups: about ten context switches) cost another 0.3-0.5 ms, serialised by the GIL
    # (docs/performance.md, step 23). On SQLite a request that does not wait for a lock takes
    # well under a millisecond, so it is answered on the loop, in a context of the loop's own
    # (its own kept connection), with a busy timeout of 0: a request that finds the write lock
    # taken (a staff page, the worker, a checkpoint) or meets any other database error stops
    # there, rolled back by its transaction, and runs again from the start in the pool thread,
    # which waits for the lock as before (the phone retrying the same signed request is as
    # safe: alarm ids, fix times and heartbeat signatures make it idempotent). The loop itself
    # never waits for another writer, nor for a checkpoint's fsync: its connection does not
    # checkpoint; the pool thread does, every CHECKPOINT_EVERY requests answered on the loop.
    # The pushes of its commit go to this loop's consoles from the request's task once it is
    # answered (msa.core.publish.pushes_held), not behind the requests the loop has ready.

    def _loop_first(self) -> bool:
        return self.direct is not None and settings.MSA_MACHINE_ON_LOOP and _vendor() == "sqlite"

    def _on_loop(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase | None:
        """The direct route's answer, computed here on the event loop; ``None`` when the request
        is for the pool thread (not a direct route, a lock taken, a database error)."""
        context = self._seat.context
        if context is None:
            context = self._seat.context = contextvars.Context()
        running = asyncio.events._get_running_loop()
        # Django refuses database work while the thread runs an event loop (it would block
        # the loop): here that is what is wanted, bounded by the busy timeout of 0.
        asyncio.events._set_running_loop(None)
        try:
            response = context.run(self._attempt, scope, body_file)
        finally:
            asyncio.events._set_running_loop(running)
        if response is None:
            self.loop_declined += 1
            return None
        self.loop_answered += 1
        if self.loop_answered % CHECKPOINT_EVERY == 0:
            self._checkpoint_soon()
        return response

    def _attempt(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase | None:
        with machine_no_wait():
            set_script_prefix(get_script_prefix(scope))
            reset_queries()
            try:
                return self._answer_here(scope, body_file)
            except (LockTaken, DatabaseError):  # a lock taken, a connection that did not open
                return None
            finally:
                _tidy_connections()

    def _answer_here(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase | None:
        assert self.direct is not None
        _checkpoints_off()
        request, _error = self.create_request(scope, body_file)
        if request is None:
            return None  # the pool thread answers it as Django does
        response = self.direct.answer(request)
        if response is None:
            return None
        if not response.streaming:
            _ = response.content  # type: ignore[attr-defined]
        _release(response)
        return response

    def _checkpoint_soon(self) -> None:
        """Move the write-ahead log into the database file in the pool thread (the loop's own
        connection never checkpoints: a checkpoint syncs the file to disk)."""
        if self._checkpoint is None or self._checkpoint.done():
            self._checkpoint = self._executor().submit(_checkpoint)

    def release_loop_connection(self) -> None:
        """On the event loop's thread: let go of the connection its requests kept."""
        context = self._seat.context
        if context is None:
            return
        with suppress(DatabaseError):  # a database already gone: the process ends anyway
            context.run(_let_go_kept)

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        set_script_prefix(get_script_prefix(scope))
        reset_queries()
        try:
            request, error_response = self.create_request(scope, body_file)
            if request is None:
                response = error_response
            else:
                direct = self.direct.answer(request) if self.direct is not None else None
                response = direct if direct is not None else self.get_response(request)
            assert response is not None  # Django gives a response or an error response
            if not response.streaming:
                _ = response.content  # type: ignore[attr-defined] # the body, in this thread
            _release(response)
        finally:
            _tidy_connections()
        return response
