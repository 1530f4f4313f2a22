"""The server's start and stop (ASGI lifespan, as uvicorn drives it once per process): warmed
up before the first request, the machine threads' connections handed back at the stop."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection

from msa.asgi import application, machine_handler
from msa.core.clock import Clock
from tests.support.device import body_bytes, heartbeat_payload, machine_post

NOW = datetime(2026, 3, 14, 8, 15, 3, tzinfo=UTC)
PATH = "/api/device/v1/heartbeat"
BEAT = heartbeat_payload(at="2026-03-14T08:15:00Z")


def _lifespan(events: list[str]) -> list[str]:
    """Send ``events`` (``startup``, ``shutdown``) to the application; what it answered."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    answers: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        answers.append(message["type"])

    async def run() -> None:
        for event in events:
            inbox.put_nowait({"type": f"lifespan.{event}"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        await asyncio.wait_for(application(scope, inbox.get, send), timeout=30)

    asyncio.run(run())
    return answers


@pytest.mark.django_db(transaction=True)
def test_the_start_freezes_what_it_made_and_the_stop_hands_the_connections_back(
    demo: None, clock: Clock, settings: Any
) -> None:
    settings.MSA_MACHINE_ON_LOOP = False  # through a machine thread on SQLite too
    clock.freeze(NOW)
    assert asyncio.run(machine_post(PATH, body_bytes(BEAT), now=NOW)) == 200
    assert any(machine_handler.each_thread(lambda: connection.connection is not None))
    frozen = gc.get_freeze_count()
    try:
        assert _lifespan(["startup", "shutdown"]) == [
            "lifespan.startup.complete",
            "lifespan.shutdown.complete",
        ]
        # the objects of the start moved out of the collector's reach (its full collection
        # scanned them all: a pause of every request in flight)
        assert gc.get_freeze_count() > max(frozen, 10_000)
    finally:
        gc.unfreeze()
    # no machine thread still holds a connection after the stop (but an in-memory SQLite
    # database, the tests', which Django never closes: it would be gone)
    held = machine_handler.each_thread(lambda: connection.connection is not None)
    if connection.vendor == "postgresql":
        assert held == [False] * len(held)
