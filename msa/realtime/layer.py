"""The Redis channel layer: Redis pub/sub, made to outlive a Redis outage.

The live push only needs fan-out, not storage: every event is in the persisted log, and a
console fills a gap from it (msa.realtime.consumers). So the layer is channels_redis's pub/sub
layer: a ``group_send`` is one ``PUBLISH``, and each process holds one subscription per group
its sockets joined and hands each message to them. The list-based layer it replaces ran three
commands and a Lua script per ``group_send`` and a blocking pop per socket: with one console it
cost the event loop about 1.9 ms per position against 1.0 ms with pub/sub (PostgreSQL + Redis,
docs/performance.md, step 16).

A receive reads a queue of this process, so a Redis outage never ends a consumer. The one
reader task per process and Redis server retries (0.5 s, doubling to 5 s) and logs the outage
once, not a traceback every second as channels_redis's own does; redis-py subscribes its
connection again to every channel when it reconnects, so the push resumes once Redis answers
(tests/multinode/test_redis_outage.py). What is published while Redis is away is lost: the
consoles' heartbeat fills it from the log.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import uuid
from typing import Any

import msgpack  # type: ignore[import-untyped]
import redis
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _consistent_hash, _wrap_close, decode_hosts
from redis.exceptions import RedisError

from msa.core.publish import NODE

log = logging.getLogger("msa.realtime")

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0
POLL_S = 0.1  # how long one read waits for a message (channels_redis's own reader: the same)


class _Shard(RedisSingleShardConnection):  # type: ignore[misc]
    """One Redis server's publish connection and subscription, with an outage-aware reader."""

    async def _do_receiving(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            try:
                if self._pubsub is not None and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=POLL_S
                    )
                    if delay != RETRY_FIRST_S:
                        log.warning("channel_layer_back")
                        delay = RETRY_FIRST_S
                    self._receive_message(message)
                else:
                    await asyncio.sleep(POLL_S)
            except (RedisError, OSError) as exc:
                if delay == RETRY_FIRST_S:
                    log.warning("channel_layer_unavailable error=%s", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
            except asyncio.CancelledError:
                raise
            except Exception:  # a message it could not hand on: the next one still goes
                log.exception("channel_layer_receive_failed")
                await asyncio.sleep(POLL_S)

    def _receive_message(self, message: Any) -> None:
        """A message from Redis to this process's queues, unless it is one of this process's
        own pushes coming back (``msa.core.publish``'s relay drops those anyway: its sockets had
        them at the commit). Recognised by its bytes, before it is queued, read by the relay's
        task and unpacked: that was about 0.05 ms of the event loop per event (docs/performance.md,
        step 25). A push's payload is ASCII JSON, so the marker's non-ASCII bytes cannot come from
        it; with an encrypting serializer the marker is not seen and the relay drops them."""
        if message is not None and _OWN_PUSH in message["data"]:
            return
        super()._receive_message(message)


# How this process's pushes carry their origin in the layer's msgpack (msa.core.publish).
_OWN_PUSH = msgpack.packb("origin") + msgpack.packb(NODE)


class _LoopLayer(RedisPubSubLoopLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards: list[_Shard] = [_Shard(shard.host, self) for shard in self._shards]

    async def new_channel(self, prefix: str = "specific.") -> str:
        """A consumer's own channel, even while Redis is away: channels_redis subscribes Redis
        to it first, and a socket opened during an outage failed with a 500. Its queue is here
        at once; the socket joins its centre's group at its next heartbeat, once Redis answers.
        (Nothing of ours sends to a console's own channel; the readiness probe's own channel is
        made again after a failed probe.)"""
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = asyncio.Queue()
        try:
            await self._get_shard(channel).subscribe(channel)
        except (RedisError, OSError) as exc:
            log.warning("channel_layer_unavailable error=%s", type(exc).__name__)
        return channel


def _hosts_and_prefix(
    hosts: Any = None, prefix: str = "asgi", **_: Any
) -> tuple[list[dict[str, Any]], str]:
    """The hosts and the prefix of a layer's configuration, as RedisPubSubLoopLayer takes them."""
    return decode_hosts(hosts), prefix


class PubSubChannelLayer(RedisPubSubChannelLayer):  # type: ignore[misc]
    """channels_redis's pub/sub layer with :class:`_Shard`'s reader (one layer per event loop,
    as channels_redis makes them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hosts, self._prefix = _hosts_and_prefix(*args, **kwargs)
        # sentinel hosts keep the loop's asynchronous publish
        plain = not any("master_name" in host for host in hosts)
        self._publisher = _ThreadPublisher(hosts) if plain else None

    def group_send_nowait(self, group: str, message: dict[str, Any]) -> bool:
        """Hand ``message`` to :class:`_ThreadPublisher` for ``group`` (from any thread, at once,
        in order); ``False``: not taken, send it with ``group_send`` on a loop."""
        if self._publisher is None:
            return False
        self._publisher.put(f"{self._prefix}__group__{group}", self.serialize(message))
        return True

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        layer: _LoopLayer | None = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)  # the loop's close flushes its layer, as channels_redis does
        return layer


class _ThreadPublisher:
    """This process's pushes to Redis from a thread of their own, in the order they are handed
    over, without the event loop.

    On the loop every ``PUBLISH`` cost about a third of its time per position (PostgreSQL +
    Redis, py-spy ``--gil``): redis-py's asynchronous client around each command, and the socket
    write itself, which uvloop makes holding the GIL, so that while the kernel ran Redis on the
    same core no thread of the process ran at all. Here a blocking socket lets the GIL go while
    it writes, and what queued up while one batch went out goes as the next batch (one write,
    then the replies). A push that Redis does not take is dropped, logged once per outage: every
    event is in the persisted log, and the consoles fill their gap from it (as before). Pushes
    beyond :data:`PENDING_MAX` waiting (Redis hanging) are dropped the same way."""

    PENDING_MAX = 10_000
    BATCH_MAX = 256
    TIMEOUT_S = 2.0

    def __init__(self, hosts: list[dict[str, Any]]) -> None:
        self._hosts = hosts
        # redis-py's connection classes are untyped: Any
        self._connections: list[Any] = [None] * len(hosts)
        self._pending: collections.deque[tuple[str, bytes]] = collections.deque()
        self._ready = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._down = False  # the last batch failed (logged once until one goes through)
        self._dropped = 0

    def put(self, channel: str, data: bytes) -> None:
        with self._ready:
            if len(self._pending) >= self.PENDING_MAX:
                self._dropped += 1
                return
            self._pending.append((channel, data))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="msa-publish", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _connection(self, shard: int) -> Any:
        """The shard's one connection, made as redis-py's pool makes them (the URL's scheme,
        password and database), used directly: the client's per-command machinery (its pool,
        retries and checks of the process) was most of a publish's time."""
        conn = self._connections[shard]
        if conn is None:
            host = dict(self._hosts[shard])
            options = {"socket_timeout": self.TIMEOUT_S, "socket_connect_timeout": self.TIMEOUT_S}
            if "address" in host:
                pool = redis.ConnectionPool.from_url(host.pop("address"), **{**options, **host})
            else:
                pool = redis.ConnectionPool(**{**options, **host})
            conn = self._connections[shard] = pool.make_connection()
        return conn

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._pending:
                    self._ready.wait()
                batch = [
                    self._pending.popleft() for _ in range(min(self.BATCH_MAX, len(self._pending)))
                ]
            self._send(batch)

    def _send(self, batch: list[tuple[str, bytes]]) -> None:
        shards = len(self._hosts)
        by_shard: dict[int, list[tuple[str, bytes]]] = {}
        for channel, data in batch:
            by_shard.setdefault(_consistent_hash(channel, shards), []).append((channel, data))
        for shard, messages in by_shard.items():
            conn = None
            try:
                conn = self._connection(shard)
                # one write for the batch (connecting first if need be), then one reply each
                conn.send_packed_command(
                    conn.pack_commands([("PUBLISH", channel, data) for channel, data in messages])
                )
                for _ in messages:
                    conn.read_response()
            except (RedisError, OSError) as exc:
                if conn is not None:
                    conn.disconnect()  # the next batch connects again
                with self._ready:
                    self._dropped += len(messages)
                if not self._down:
                    log.warning("publish_failed error=%s", type(exc).__name__)
                    self._down = True
                continue
            if self._down:
                with self._ready:
                    dropped, self._dropped = self._dropped, 0
                log.info("publish_back dropped=%d", dropped)
                self._down = False
