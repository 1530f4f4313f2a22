"""Side effects after commit, through one helper.

A live event pushed before its transaction commits could show a console an incident that
then rolls back; one pushed from inside the transaction cannot be taken back. So the
payload is serialised now and handed to the channel layer only once the commit succeeded.

A server binds its event loop (:func:`loop_bind`, the machine endpoints' handler does): a
commit in one of its threads then schedules the send on that loop and returns at once,
instead of starting an event loop (and, with Redis, a connection) for every message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger("msa.publish")

_loop: asyncio.AbstractEventLoop | None = None
_loop_thread = 0


def loop_bind(loop: asyncio.AbstractEventLoop) -> None:
    """Send the live events of commits made in other threads on ``loop`` (the server's)."""
    global _loop, _loop_thread
    if _loop is not loop:
        _loop, _loop_thread = loop, threading.get_ident()


async def _send_async(layer: Any, group: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(group, message)
    except Exception:
        log.exception("publish_failed group=%s type=%s", group, message.get("type"))


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _loop
    if loop is not None and loop.is_running() and threading.get_ident() != _loop_thread:
        # Scheduled in commit order on the loop; the console orders by sequence number and
        # fills any gap from the log, so nothing waits here for the layer.
        asyncio.run_coroutine_threadsafe(_send_async(layer, group, message), loop)
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The event is in the persisted log: a console that misses the push replays it.
        log.exception("publish_failed group=%s type=%s", group, message.get("type"))


def publish_on_commit(group: str, payload: Mapping[str, Any]) -> None:
    """Send ``payload`` to the channel-layer ``group`` after the current transaction commits."""
    frozen = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    message = {"type": "event.push", "payload": frozen}
    transaction.on_commit(lambda: _send(group, message), robust=True)
