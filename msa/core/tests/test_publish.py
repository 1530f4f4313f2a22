"""The live push after commit: to this process's sockets directly, and with Redis between the
processes through one relay per process (msa.core.publish)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from channels.layers import get_channel_layer
from django.db import transaction

from msa.core import publish
from msa.core.publish import layer_is_local, local_subscribe, publish_on_commit, relay_join

pytestmark = pytest.mark.django_db(transaction=True)


async def arrived(got: list[str], *, polls: int = 100) -> None:
    """Until ``got`` holds something (bounded: it may stay empty, and the test says so)."""
    for _ in range(polls):
        if got:
            return
        await asyncio.sleep(0.01)


def commit(group: str, n: int) -> None:
    with transaction.atomic():
        publish_on_commit(group, {"seq": n})


@pytest.mark.sqlite_only  # the pass without Redis
def test_the_embedded_layer_is_local() -> None:
    assert layer_is_local(get_channel_layer())


@pytest.mark.postgres_only  # the pass with Redis
async def test_with_redis_a_commit_reaches_this_process_once_and_another_s_push_too() -> None:
    got: list[int] = []
    two = asyncio.Event()

    def deliver(payload: str) -> None:
        got.append(json.loads(payload)["seq"])
        if len(got) >= 2:
            two.set()

    unsubscribe = local_subscribe("centre.77", deliver)
    await relay_join("centre.77")
    await relay_join("centre.77")  # a heartbeat joins again: still one relay
    loop = asyncio.get_running_loop()
    assert list(publish._relays[loop]) == ["centre.77"]
    # our own commit: handed over at once; its copy through Redis is dropped by the relay
    await asyncio.to_thread(commit, "centre.77", 1)
    # another process's push comes through Redis (after our copy, on the same subscription)
    layer = get_channel_layer()
    message = {"type": "event.push", "payload": json.dumps({"seq": 2}), "origin": "another"}
    await layer.group_send("centre.77", message)
    await asyncio.wait_for(two.wait(), 10)
    assert got == [1, 2]  # each once
    unsubscribe()
    await publish.relay_release("centre.77")
    assert "centre.77" not in publish._relays[loop]


async def test_a_commit_in_another_thread_reaches_the_subscriber_on_its_loop_in_order() -> None:
    got: list[tuple[int, bool]] = []
    loop_thread = threading.get_ident()
    arrived = asyncio.Event()

    def deliver(payload: str) -> None:
        got.append((json.loads(payload)["seq"], threading.get_ident() == loop_thread))
        if len(got) == 3:
            arrived.set()

    unsubscribe = local_subscribe("centre.1", deliver)
    other = local_subscribe("centre.2", lambda payload: got.append((-1, False)))

    def three_commits() -> None:
        for n in (1, 2, 3):
            commit("centre.1", n)

    await asyncio.to_thread(three_commits)
    await asyncio.wait_for(arrived.wait(), 5)
    assert got == [(1, True), (2, True), (3, True)]  # on the loop, in commit order, not centre 2
    unsubscribe()
    unsubscribe()  # idempotent
    other()
    await asyncio.to_thread(commit, "centre.1", 4)
    await asyncio.sleep(0)
    assert len(got) == 3
    assert "centre.1" not in publish._subscribers


async def test_nothing_is_pushed_for_a_rolled_back_transaction() -> None:
    got: list[str] = []
    unsubscribe = local_subscribe("centre.1", got.append)

    def rolled_back() -> None:
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            publish_on_commit("centre.1", {"seq": 1})
            _ = 1 / 0

    await asyncio.to_thread(rolled_back)
    await asyncio.to_thread(commit, "centre.1", 2)
    await arrived(got)
    unsubscribe()
    assert [json.loads(p)["seq"] for p in got] == [2]


def test_a_subscriber_whose_loop_closed_is_dropped_and_the_others_still_get_theirs() -> None:
    got: list[str] = []

    async def subscribe_and_return() -> None:
        local_subscribe("centre.9", lambda payload: got.append("dead"))

    gone = asyncio.new_event_loop()
    gone.run_until_complete(subscribe_and_return())
    gone.close()  # a test or a server that ended without unsubscribing

    async def live() -> None:
        unsubscribe = local_subscribe("centre.9", got.append)
        await asyncio.to_thread(commit, "centre.9", 1)
        await arrived(got)
        unsubscribe()

    asyncio.run(live())
    assert [json.loads(p)["seq"] for p in got] == [1]
    assert "centre.9" not in publish._subscribers
