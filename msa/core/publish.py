"""Side effects after commit, through one helper.

A live event pushed before its transaction commits could show a console an incident that
then rolls back; one pushed from inside the transaction cannot be taken back. So the
payload is serialised now and handed to the channel layer only once the commit succeeded.

A server binds its event loop (:func:`loop_bind`, the machine endpoints' handler does): a
commit in one of its threads then schedules the send on that loop and returns at once,
instead of starting an event loop (and, with Redis, a connection) for every message.

A socket subscribes here (:func:`local_subscribe`) and a commit hands it the payload on its own
event loop, without the channel layer: the layer copied every message for every member and
woke each consumer through its receive loop, about a sixth of the server's CPU for every
position (docs/performance.md, step 14). With the in-memory layer (one process: the embedded
default) that is all. With Redis the push also goes to the layer, marked with this process's
:data:`NODE`, and each process keeps one channel in each group its sockets follow
(:func:`relay_join`), which hands on the other processes' pushes to its sockets and drops its
own: one receive per process and event, not one per socket (step 18).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from typing import Any, Protocol, runtime_checkable

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import transaction

log = logging.getLogger("msa.publish")

_loop: asyncio.AbstractEventLoop | None = None
NODE = uuid.uuid4().hex  # this process, in every push it sends through the layer


def loop_bind(loop: asyncio.AbstractEventLoop) -> None:
    """Send the live events of commits on ``loop`` (the server's) through the layer."""
    global _loop  # noqa: PLW0603 - the one server loop of this process
    _loop = loop


Deliver = Callable[[str], None]
DeliverNow = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class _Member:
    loop: asyncio.AbstractEventLoop
    context: contextvars.Context
    deliver: Deliver
    now: DeliverNow | None

    def hand(self, payload: str) -> None:
        """``payload`` to the subscriber, from its own loop, in its own context."""
        self.context.copy().run(self.deliver, payload)


# group -> subscription token -> the subscriber
_subscribers: dict[str, dict[int, _Member]] = {}
_subscribers_lock = threading.Lock()
_tokens = count(1)

# A commit on an event loop's own thread (msa.ingest.machine_asgi answers device requests there
# on SQLite) keeps its pushes for that loop's sockets here, for the request's task to send
# once it is answered (:func:`pushes_held`): scheduled on the loop, they would wait behind every
# request the loop already had ready, and once more behind the next ones.
_held = threading.local()
Held = list[tuple[_Member, str]]


def layer_is_local(layer: BaseChannelLayer | None) -> bool:
    """Whether the channel layer holds its groups in this process (no other process can be a
    member): its subscribers then subscribe here instead (:func:`local_subscribe`)."""
    return isinstance(layer, InMemoryChannelLayer)


def local_subscribe(
    group: str, deliver: Deliver, *, now: DeliverNow | None = None
) -> Callable[[], None]:
    """From a running event loop: hand every payload published to ``group`` after this call
    to ``deliver``, called on this loop, in commit order; a commit made on this loop's own
    thread awaits ``now`` instead, if given, from the committing request's task
    (:func:`pushes_send`). The answer unsubscribes (idempotent)."""
    loop = asyncio.get_running_loop()
    token = next(_tokens)
    # ``deliver`` runs in the subscriber's context, not the publishing thread's (asgiref marks
    # a thread of sync_to_async in its context: a task started from there could not use it)
    context = contextvars.copy_context()
    with _subscribers_lock:
        _subscribers.setdefault(group, {})[token] = _Member(loop, context, deliver, now)

    def unsubscribe() -> None:
        with _subscribers_lock:
            members = _subscribers.get(group)
            if members is not None:
                members.pop(token, None)
                if not members:
                    del _subscribers[group]

    return unsubscribe


def _deliver_local(
    group: str, payload: str, *, only: asyncio.AbstractEventLoop | None = None
) -> None:
    """Hand ``payload`` to ``group``'s subscribers in this process (``only``: of that loop)."""
    with _subscribers_lock:
        members = list(_subscribers.get(group, {}).items())
    holding = getattr(_held, "loop", None)
    for token, member in members:
        loop = member.loop
        if only is not None and loop is not only:
            continue
        try:
            if _running_loop() is loop:
                member.hand(payload)
            elif loop is holding:
                _held.pushes.append((member, payload))
            else:
                loop.call_soon_threadsafe(member.deliver, payload, context=member.context.copy())
        except RuntimeError:  # the subscriber's loop is closed: it will not unsubscribe itself
            with _subscribers_lock:
                _subscribers.get(group, {}).pop(token, None)
        except Exception:  # one subscriber's failure is not the others'
            log.exception("publish_failed group=%s", group)


@contextmanager
def pushes_held(loop: asyncio.AbstractEventLoop, held: Held) -> Iterator[None]:
    """For the block, run on ``loop``'s own thread while the loop waits for it: the pushes of
    its commits for ``loop``'s sockets go into ``held``, for :func:`pushes_send`."""
    _held.loop, _held.pushes = loop, held
    try:
        yield
    finally:
        _held.loop = _held.pushes = None


async def pushes_send(held: Held) -> None:
    """From the loop, after :func:`pushes_held`'s block: each push kept, in commit order, to its
    socket, awaited here if the socket takes it now (else handed to it as any other)."""
    for member, payload in held:
        try:
            if member.now is not None:
                await member.now(payload)
            else:
                member.hand(payload)
        except Exception:  # one subscriber's failure is not the others'
            log.exception("publish_failed")
    held.clear()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@runtime_checkable
class SendsFromAnyThread(Protocol):
    """A channel layer that takes a ``group_send`` from any thread at once and sends it itself,
    in the order handed over (``msa.realtime.layer``'s publisher thread): a commit's push then
    never waits on the event loop. ``False``: not taken, the loop sends it."""

    def group_send_nowait(self, group: str, message: dict[str, Any]) -> bool: ...


_layer_down = threading.Event()  # set: the last push to the layer failed (logged once)


async def _send_async(layer: Any, group: str, message: dict[str, Any]) -> None:
    try:
        await layer.group_send(group, message)
    except Exception as exc:  # noqa: BLE001 - any layer failure; the log is the backstop
        # The event is in the persisted log: the other nodes' consoles fill it from there.
        if not _layer_down.is_set():
            log.warning("publish_failed group=%s error=%s", group, type(exc).__name__)
        _layer_down.set()
        return
    if _layer_down.is_set():
        log.info("publish_back")
    _layer_down.clear()


def _send(group: str, message: dict[str, Any]) -> None:
    _deliver_local(group, message["payload"])
    layer = get_channel_layer()
    if layer is None or layer_is_local(layer):
        return
    loop = _loop
    if loop is not None and loop.is_running():
        if isinstance(layer, SendsFromAnyThread) and layer.group_send_nowait(group, message):
            return
        # Scheduled in commit order on the loop; the console orders by sequence number and
        # fills any gap from the log, so nothing waits here for the layer. (A commit on the
        # loop's own thread, msa.ingest.machine_asgi's on SQLite, is scheduled the same way:
        # the loop runs it once the request is answered.)
        asyncio.run_coroutine_threadsafe(_send_async(layer, group, message), loop)
        return
    try:
        async_to_sync(_send_async)(layer, group, message)
    except Exception:  # no loop to send from (a commit on a loop's own thread): the log has it
        log.exception("publish_failed group=%s", group)


class _Relay:
    """This process's channel in a group of the layer, for its sockets on one event loop: the
    other processes' pushes are handed to them (:func:`_deliver_local`), its own dropped (they
    had theirs at the commit)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.channel = ""
        self.task: asyncio.Task[None] | None = None

    async def join(self, layer: Any) -> None:
        if not self.channel:
            self.channel = await layer.new_channel()
        await layer.group_add(self.group, self.channel)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._forward(layer))

    async def _forward(self, layer: Any) -> None:
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the layer's own retries did not help
                log.warning(
                    "relay_receive_failed group=%s error=%s", self.group, type(exc).__name__
                )
                await asyncio.sleep(1)
                continue
            if message.get("type") == "event.push" and message.get("origin") != NODE:
                _deliver_local(self.group, str(message["payload"]), only=asyncio.get_running_loop())

    async def leave(self, layer: Any) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.channel:
            await layer.group_discard(self.group, self.channel)


_relays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Relay]] = (
    weakref.WeakKeyDictionary()
)


async def relay_join(group: str) -> None:
    """With a layer between processes: make sure this process, on this loop, follows ``group``
    in it (idempotent: a socket calls it at every heartbeat, which joins again after Redis was
    away). Raises what the layer raises."""
    layer = get_channel_layer()
    if layer is None or layer_is_local(layer):
        return
    relays = _relays.setdefault(asyncio.get_running_loop(), {})
    relay = relays.get(group)
    if relay is None:
        relay = relays[group] = _Relay(group)
    await relay.join(layer)


async def relay_release(group: str) -> None:
    """After a socket unsubscribed: stop following ``group`` if no socket of this loop does."""
    loop = asyncio.get_running_loop()
    with _subscribers_lock:
        followed = any(member.loop is loop for member in _subscribers.get(group, {}).values())
    relays = _relays.get(loop, {})
    if followed or group not in relays:
        return
    layer = get_channel_layer()
    await relays.pop(group).leave(layer)


def publish_on_commit(group: str, payload: Mapping[str, Any]) -> None:
    """Send ``payload`` to ``group`` after the current transaction commits: to this process's
    subscribers, and through a layer between processes to the others."""
    frozen = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    message = {"type": "event.push", "payload": frozen, "origin": NODE}
    transaction.on_commit(lambda: _send(group, message), robust=True)
