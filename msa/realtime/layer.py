"""The Redis channel layer, made to outlive a Redis outage.

channels_redis raises from ``receive`` when Redis goes away, and channels lets that end the
consumer: every console socket of the node dropped at once, and none could be opened until
Redis was back. Here ``receive`` waits and tries again (0.5 s, doubling to 5 s), so a socket
stays open and its heartbeat keeps serving it from the persisted event log; the consumer joins
its group again at every heartbeat, so the live push resumes once Redis answers.

A cancelled receive is never retried. When its consumer ends (the socket closed, the server
shuts down) the receive is cancelled, and redis-py may answer that cancel with a
``TimeoutError`` of its own while it drops the connection; taken for an outage, it kept a dead
consumer's receive retrying every 5 s for ever and a shutdown never finished.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

log = logging.getLogger("msa.realtime")

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0


class ResilientRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    async def receive(self, channel: str) -> dict[str, Any]:
        delay = RETRY_FIRST_S
        while True:
            try:
                message: dict[str, Any] = await super().receive(channel)
            except (RedisError, OSError) as exc:
                if _cancelled():
                    raise asyncio.CancelledError from exc
                if delay == RETRY_FIRST_S:
                    log.warning("channel_layer_unavailable error=%s", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if delay != RETRY_FIRST_S:
                log.warning("channel_layer_back")
            return message


def _cancelled() -> bool:
    """True when the receiving task was asked to stop: its error answers the cancel, it is
    no outage. Not read off the exception: every timeout of redis-py's reads
    carries a CancelledError in its context (``asyncio.timeout`` turns its own cancel into
    the TimeoutError), and an outage must go on being retried."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
