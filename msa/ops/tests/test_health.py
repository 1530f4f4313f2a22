"""``/healthz`` and ``/readyz``: alive, and ready only while database, channel layer and the
worker's timer loop are."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from channels.layers import get_channel_layer
from django.test import override_settings

from msa.asgi import application
from msa.core.clock import Clock
from msa.ops import health
from msa.ops.health import channel_layer_check, database_and_worker
from msa.worker.models import WorkerHeartbeat

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://any-host.example"
    )


async def test_healthz_answers_without_the_database_or_a_known_host() -> None:
    async with _client() as c:
        alive = await c.get("/healthz")
        refused = await c.post("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"alive": True}
    assert alive.headers["cache-control"] == "no-store"
    assert refused.status_code == 405


async def test_the_channel_layer_carries_a_message() -> None:
    check = await channel_layer_check()
    assert check["ok"] is True


def _specific_channels() -> set[bytes | str]:
    """The channels Redis has subscribers for (the PostgreSQL pass, which has Redis)."""
    url = os.environ.get("MSA_TEST_REDIS_URL")
    if not url:
        return set()
    client = redis.Redis.from_url(url)
    try:
        return set(client.pubsub_channels("asgispecific.*"))
    finally:
        client.close()


async def test_probes_reuse_one_channel_and_skip_a_late_answer() -> None:
    before = await asyncio.to_thread(_specific_channels)
    for _ in range(20):  # a load balancer asks every second
        assert (await channel_layer_check())["ok"] is True
    # Redis subscribed one channel for the probes, not twenty
    assert len(await asyncio.to_thread(_specific_channels) - before) <= 1
    # the answer to a probe that gave up arrives late: the next probe waits for its own
    probe = health._probes[asyncio.get_running_loop()]
    layer = get_channel_layer()
    await layer.send(probe.channel, {"type": "ops.ping", "token": "an earlier probe's"})
    assert (await channel_layer_check())["ok"] is True


@pytest.mark.django_db
@override_settings(MSA_READY_WORKER_MAX_AGE_S=15)
def test_the_worker_is_ready_only_while_its_timer_loop_beats(clock: Clock) -> None:
    clock.freeze(NOW)
    database, worker, _probe = database_and_worker()
    assert database["ok"] is True
    assert worker == {"ok": False, "heartbeat_age_s": {}, "max_age_s": 15}

    WorkerHeartbeat.objects.create(worker="h:1:fast", loop="fast", started_at=NOW, beat_at=NOW)
    WorkerHeartbeat.objects.create(worker="h:1:slow", loop="slow", started_at=NOW, beat_at=NOW)
    clock.advance(timedelta(seconds=15))
    _, worker, _ = database_and_worker()
    assert worker == {"ok": True, "heartbeat_age_s": {"fast": 15.0, "slow": 15.0}, "max_age_s": 15}

    clock.advance(timedelta(seconds=1))
    _, worker, _ = database_and_worker()
    assert worker["ok"] is False
    # a second worker that still beats keeps the centre ready
    WorkerHeartbeat.objects.create(
        worker="h:2:fast", loop="fast", started_at=NOW, beat_at=clock.now()
    )
    _, worker, _ = database_and_worker()
    assert worker["ok"] is True
    assert worker["heartbeat_age_s"]["fast"] == 0.0


@pytest.mark.django_db
def test_readyz_answers_503_while_no_worker_beats(demo: None) -> None:
    # nothing committed a heartbeat: the endpoint's own connection finds none. (``demo``: this
    # test's transaction keeps the region instead of removing it, which on PostgreSQL locks the
    # tables that the endpoint's probe check reads from its own connection.)
    async def get() -> httpx.Response:
        async with _client() as c:
            return await c.get("/readyz")

    answer = asyncio.run(get())
    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False
    assert body["database"]["ok"] is True
    assert body["channel_layer"]["ok"] is True
    assert body["worker"]["ok"] is False
