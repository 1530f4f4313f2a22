"""Side effects after commit, through one helper.

A live event pushed before its transaction commits could show a console an incident that
then rolls back; one pushed from inside the transaction cannot be taken back. So the
payload is serialised now and handed to the channel layer only once the commit succeeded.

A server binds its event loop (:func:`loop_bind`, the machine endpoints' handler does): a
commit in one of its threads then schedules the send on that loop and returns at once,
instead of starting an event loop (and, with Redis, a connection) for every message.

With the in-memory channel layer (one process: the embedded default) every member of a group
is in this process, so the layer is not used for the live push at all: a socket subscribes
here (:func:`local_subscribe`) and a commit hands it the payload on its own event loop. The
layer copied every message for every member and woke each consumer through its receive loop:
about a sixth of the server's CPU for every position (docs/performance.md, step 14). With
Redis the layer carries the push between processes, as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
from collections.abc import Callable, Mapping
from itertools import count
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import transaction

log = logging.getLogger("msa.publish")

_loop: asyncio.AbstractEventLoop | None = None
_loop_thread = 0


def loop_bind(loop: asyncio.AbstractEventLoop) -> None:
    """Send the live events of commits made in other threads on ``loop`` (the server's)."""
    global _loop, _loop_thread
    if _loop is not loop:
        _loop, _loop_thread = loop, threading.get_ident()


Deliver = Callable[[str], None]

# group -> subscription token -> the subscriber's event loop, its context, what it is handed the
# payload by
_subscribers: dict[
    str, dict[int, tuple[asyncio.AbstractEventLoop, contextvars.Context, Deliver]]
] = {}
_subscribers_lock = threading.Lock()
_tokens = count(1)


def layer_is_local(layer: BaseChannelLayer | None) -> bool:
    """Whether the channel layer holds its groups in this process (no other process can be a
    member): its subscribers then subscribe here instead (:func:`local_subscribe`)."""
    return isinstance(layer, InMemoryChannelLayer)


def local_subscribe(group: str, deliver: Deliver) -> Callable[[], None]:
    """From a running event loop: hand every payload published to ``group`` after this call
    to ``deliver``, called on this loop, in commit order. The answer unsubscribes (idempotent)."""
    loop = asyncio.get_running_loop()
    token = next(_tokens)
    # ``deliver`` runs in the subscriber's context, not the publishing thread's (asgiref marks
    # a thread of sync_to_async in its context: a task started from there could not use it)
    context = contextvars.copy_context()
    with _subscribers_lock:
        _subscribers.setdefault(group, {})[token] = (loop, context, deliver)

    def unsubscribe() -> None:
        with _subscribers_lock:
            members = _subscribers.get(group)
            if members is not None:
                members.pop(token, None)
                if not members:
                    del _subscribers[group]

    return unsubscribe


def _deliver_local(group: str, payload: str) -> None:
    with _subscribers_lock:
        members = list(_subscribers.get(group, {}).items())
    for token, (loop, context, deliver) in members:
        try:
            if _running_loop() is loop:
                context.copy().run(deliver, payload)
            else:
                loop.call_soon_threadsafe(deliver, payload, context=context.copy())
        except RuntimeError:  # the subscriber's loop is closed: it will not unsubscribe itself
            with _subscribers_lock:
                _subscribers.get(group, {}).pop(token, None)
        except Exception:  # one subscriber's failure is not the others'
            log.exception("publish_failed group=%s", group)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _send_async(layer: Any, group: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(group, message)
    except Exception:
        log.exception("publish_failed group=%s type=%s", group, message.get("type"))


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None or layer_is_local(layer):
        _deliver_local(group, message["payload"])
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
    """Send ``payload`` to ``group`` after the current transaction commits: to the channel
    layer's group, or with the in-memory layer to this process's subscribers."""
    frozen = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    message = {"type": "event.push", "payload": frozen}
    transaction.on_commit(lambda: _send(group, message), robust=True)
