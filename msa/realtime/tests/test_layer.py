"""The resilient channel layer retries an outage but never a cancelled receive."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from channels_redis.core import RedisChannelLayer
from redis.exceptions import TimeoutError as RedisTimeoutError

from msa.realtime.layer import ResilientRedisChannelLayer

REDIS_URL = os.environ.get("MSA_TEST_REDIS_URL")


async def _refuse_once_then_hang(self: Any, channel: str) -> dict[str, Any]:
    """What redis-py does when a blocked read is cancelled: it drops the connection and
    raises its own TimeoutError in place of the cancel."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        raise RedisTimeoutError("Timeout reading from 127.0.0.1:6379") from None
    raise AssertionError("unreachable")


async def test_a_cancel_answered_by_a_redis_error_ends_the_receive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RedisChannelLayer, "receive", _refuse_once_then_hang)
    layer = ResilientRedisChannelLayer(hosts=["redis://127.0.0.1:1"])
    task = asyncio.ensure_future(layer.receive("specific.channel!abc"))
    await asyncio.sleep(0)
    task.cancel()
    # Before the fix the receive took the error for an outage and retried for ever.
    done, _ = await asyncio.wait([task], timeout=10)
    assert task in done
    assert task.cancelled()


async def test_an_outage_is_retried_until_redis_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def down_twice(self: Any, channel: str) -> dict[str, Any]:
        calls.append(channel)
        if len(calls) < 3:
            raise ConnectionError("Redis is away")
        return {"type": "back"}

    monkeypatch.setattr(RedisChannelLayer, "receive", down_twice)
    monkeypatch.setattr("msa.realtime.layer.RETRY_FIRST_S", 0.01)
    layer = ResilientRedisChannelLayer(hosts=["redis://127.0.0.1:1"])
    assert await layer.receive("chan") == {"type": "back"}
    assert len(calls) == 3


@pytest.mark.postgres_only  # the pass that has Redis
async def test_a_receive_blocked_on_a_real_redis_ends_when_cancelled() -> None:
    assert REDIS_URL, "the PostgreSQL pass sets MSA_TEST_REDIS_URL"
    layer = ResilientRedisChannelLayer(hosts=[REDIS_URL])
    channel = await layer.new_channel()
    task = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.2)  # let it block in Redis; the assertion below does not time it
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=15)
    assert task in done
    assert task.cancelled()
    await layer.flush()
    await layer.close_pools()


async def test_a_read_timeout_is_an_outage_not_a_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    """redis-py's own read timeout comes out of ``asyncio.timeout``: a TimeoutError whose
    context is a CancelledError. It is retried; the receive is not ended."""
    calls: list[int] = []
    seen: list[BaseException | None] = []

    async def timing_out(self: Any, channel: str) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            try:
                async with asyncio.timeout(0.01):
                    await asyncio.Event().wait()
            except TimeoutError as exc:
                seen.append(exc.__context__)
                raise RedisTimeoutError("Timeout reading from 127.0.0.1:6379") from exc
        return {"type": "after"}

    monkeypatch.setattr(RedisChannelLayer, "receive", timing_out)
    monkeypatch.setattr("msa.realtime.layer.RETRY_FIRST_S", 0.01)
    layer = ResilientRedisChannelLayer(hosts=["redis://127.0.0.1:1"])
    assert await layer.receive("chan") == {"type": "after"}
    assert len(calls) == 2
    assert isinstance(seen[0], asyncio.CancelledError)  # what the old check took for a cancel
