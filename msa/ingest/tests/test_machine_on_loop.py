"""SQLite: the device API answered on the event loop itself (msa.ingest.machine_asgi).

What a request finds taken there (another writer's lock) is for tests/e2e/test_locked_database.py,
with a real server and a real second writer; here, in process: which requests the loop answers,
which it hands to the machine thread, and that the loop's connection leaves checkpoints to it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connections

from msa.accounts.models import Organisation
from msa.asgi import machine_handler
from msa.core.clock import Clock
from msa.ingest import machine_asgi
from msa.realtime.selectors import last_seq
from tests.support.console import connect, receive_events
from tests.support.device import alarm_payload, body_bytes, heartbeat_payload, machine_post

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 3, 14, 8, 15, 3, tzinfo=UTC)
BEAT_PATH = "/api/device/v1/heartbeat"


def _beat(second: int) -> bytes:
    return body_bytes(heartbeat_payload(at=f"2026-03-14T08:15:{second:02d}Z"))


def _counts() -> tuple[int, int]:
    return machine_handler.loop_answered, machine_handler.loop_declined


def test_a_device_request_is_answered_on_the_loop_and_the_rest_go_to_the_thread(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    answered, declined = _counts()
    assert asyncio.run(machine_post(BEAT_PATH, _beat(0), now=NOW)) == 200
    assert _counts() == (answered + 1, declined)
    # an answer the loop gives as the thread would: a refusal is answered there too
    assert asyncio.run(machine_post(BEAT_PATH, b'{"at":', now=NOW)) == 400
    assert _counts() == (answered + 2, declined)
    # what the direct route does not answer (no body: the full chain answers) goes to the thread
    assert asyncio.run(machine_post(BEAT_PATH, b"", now=NOW)) == 400
    assert _counts() == (answered + 2, declined + 1)


def test_with_the_setting_off_every_request_goes_to_the_thread(
    demo: None, clock: Clock, settings: Any
) -> None:
    settings.MSA_MACHINE_ON_LOOP = False
    clock.freeze(NOW)
    before = _counts()
    assert asyncio.run(machine_post(BEAT_PATH, _beat(1), now=NOW)) == 200
    assert _counts() == before


def test_the_loop_connection_waits_for_nothing_and_the_thread_checkpoints(
    demo: None, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machine_asgi, "CHECKPOINT_EVERY", 2)
    clock.freeze(NOW)
    machine_handler._checkpoint = None
    for second in (2, 3):
        assert asyncio.run(machine_post(BEAT_PATH, _beat(second), now=NOW)) == 200
    checkpoint = machine_handler._checkpoint
    assert checkpoint is not None, "no checkpoint after CHECKPOINT_EVERY answers on the loop"
    assert checkpoint.result(timeout=10) is None

    def pragmas() -> tuple[int, int]:
        with connections["default"].cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            busy = cursor.fetchone()[0]
            cursor.execute("PRAGMA wal_autocheckpoint")
            return busy, cursor.fetchone()[0]

    context = machine_handler._seat.context  # this thread ran the loop: its seat
    assert context is not None
    assert context.run(pragmas) == (0, 0)


async def test_a_press_answered_on_the_loop_reaches_a_console_of_that_loop(
    demo: None, clock: Clock
) -> None:
    """The push of a commit made on the loop's own thread is kept for the request's task to
    send (msa.core.publish.pushes_held): the console of this loop gets it, once, in order."""
    clock.freeze(NOW)
    centre = await database_sync_to_async(Organisation.objects.get)(code="OVL")
    head = await database_sync_to_async(last_seq)(centre_id=centre.pk)
    console = await connect("operator", since=head, centre=centre.pk)
    connected, _ = await console.connect()
    assert connected
    assert (await console.receive_json_from(timeout=5))["type"] == "hello"
    answered = machine_handler.loop_answered
    alarm_id = "5b0e8f36-5d1e-4d2b-9a43-0e2f8a3b7c11"
    body = body_bytes(alarm_payload(alarm_id, "2026-03-14T08:15:00Z"))
    assert await machine_post("/api/device/v1/alarms", body, now=NOW) == 201
    assert machine_handler.loop_answered == answered + 1
    (event,) = await receive_events(console, 1)
    assert event["type"] == "alarm.raised"
    assert event["seq"] > head
    # the same press again: known already, nothing new for the console
    assert await machine_post("/api/device/v1/alarms", body, now=NOW) == 200
    assert await console.receive_nothing(timeout=0.2)
    await console.disconnect()
