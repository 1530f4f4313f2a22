"""The Redis pub/sub channel layer: a Redis outage is retried and logged once, never the end of
a consumer, and the push resumes when Redis answers again (our own redis-server on a free
port: the shared one is never stopped)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from msa.core.env import channel_layer_config
from msa.core.publish import NODE
from msa.realtime import layer as layer_module
from msa.realtime.layer import PubSubChannelLayer
from tests.support.cluster import redis_server

pytestmark = pytest.mark.postgres_only  # the pass that has Redis (and runs the live tests)

GROUP_CHANNEL = "asgi__group__centre.1"  # what channels_redis subscribes for the group


async def _receive(layer: PubSubChannelLayer, channel: str) -> dict[str, object]:
    async with asyncio.timeout(10):
        message: dict[str, object] = await layer.receive(channel)
        return message


async def _until(condition: object, what: str) -> None:
    for _ in range(200):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} within 10 s")


async def test_a_group_gets_its_messages_again_after_an_outage_of_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(layer_module, "RETRY_FIRST_S", 0.05)
    monkeypatch.setattr(layer_module, "RETRY_MAX_S", 0.2)
    caplog.set_level(logging.WARNING, logger="msa.realtime")
    with redis_server(tmp_path / "redis") as redis:
        sender = PubSubChannelLayer(hosts=[redis.url])
        receiver = PubSubChannelLayer(hosts=[redis.url])  # another process's layer
        channel = await receiver.new_channel()
        await receiver.group_add("centre.1", channel)
        waiting = asyncio.ensure_future(_receive(receiver, channel))
        await sender.group_send("centre.1", {"type": "event.push", "payload": "1"})
        assert (await waiting)["payload"] == "1"

        def logged() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "msa.realtime"]

        redis.kill()
        waiting = asyncio.ensure_future(_receive(receiver, channel))
        with pytest.raises(RedisConnectionError):  # a push while Redis is away: the log has it
            await sender.group_send("centre.1", {"type": "event.push", "payload": "lost"})
        await _until(logged, "the reader saw the outage")
        await asyncio.sleep(0.5)  # several retries while Redis is away (nothing is timed)
        assert not waiting.done()  # the receive goes on: the consumer is not ended
        # a socket opened during the outage gets its channel (a 500 before); it joins the
        # group at its next heartbeat, once Redis answers
        late = await receiver.new_channel()
        redis.start()  # empty: the reader subscribes its connection again when it reconnects
        await _until(lambda: redis.subscribers(GROUP_CHANNEL) == 1, "subscribed again")
        await receiver.group_add("centre.1", late)
        await sender.group_send("centre.1", {"type": "event.push", "payload": "2"})
        assert (await waiting)["payload"] == "2"
        assert (await _receive(receiver, late))["payload"] == "2"
        assert logged() == [
            "channel_layer_unavailable error=ConnectionError",  # the reader, once
            "channel_layer_unavailable error=ConnectionError",  # the socket opened meanwhile
            "channel_layer_back",
        ]
        await sender.flush()
        await receiver.flush()


async def test_two_deployments_on_one_redis_server_do_not_hear_each_other(tmp_path: Path) -> None:
    """Pub/sub channels belong to the whole Redis server, not to its numbered databases: the
    prefix of each deployment's layer (msa.core.env.channel_layer_config) keeps them apart."""
    with redis_server(tmp_path / "redis") as redis:
        base = f"redis://127.0.0.1:{redis.port}"

        def layer(db: int, name: str) -> PubSubChannelLayer:
            return PubSubChannelLayer(
                **channel_layer_config(f"{base}/{db}", {"NAME": name})["CONFIG"]
            )

        other_deployment = layer(1, "msa")
        node_a, node_b = layer(2, "msa"), layer(2, "msa")  # two nodes of one deployment
        channel = await node_b.new_channel()
        await node_b.group_add("centre.1", channel)
        waiting = asyncio.ensure_future(_receive(node_b, channel))
        await other_deployment.group_send("centre.1", {"type": "event.push", "payload": "other"})
        await node_a.group_send("centre.1", {"type": "event.push", "payload": "ours"})
        # Redis hands a subscriber the publishes in the order it ran them: had the other
        # deployment's been heard, it would have come first.
        assert (await waiting)["payload"] == "ours"
        another_name = layer(2, "msa_other")
        assert channel_layer_config(f"{base}/2", {"NAME": "msa"}) != channel_layer_config(
            f"{base}/2", {"NAME": "msa_other"}
        )
        for each in (other_deployment, node_a, node_b, another_name):
            await each.flush()


async def test_a_process_does_not_queue_its_own_pushes_coming_back(tmp_path: Path) -> None:
    """Its sockets had them at the commit (msa.core.publish): they are dropped as they arrive,
    another process's are handed on."""
    with redis_server(tmp_path / "redis") as redis:
        layer = PubSubChannelLayer(hosts=[redis.url])
        channel = await layer.new_channel()
        await layer.group_add("centre.1", channel)
        for n in range(2):
            own = {"type": "event.push", "payload": f"own {n}", "origin": NODE}
            await layer.group_send("centre.1", own)
            other = {"type": "event.push", "payload": f"other {n}", "origin": "b" * 32}
            await layer.group_send("centre.1", other)
            # Redis hands a subscriber the publishes in the order it ran them: had the own
            # push been queued, it would have come first.
            assert (await _receive(layer, channel))["payload"] == f"other {n}"
        await layer.flush()


async def test_pushes_handed_over_from_threads_reach_the_group_in_the_order_handed(
    tmp_path: Path,
) -> None:
    """``group_send_nowait`` (the server's commits, msa.core.publish) publishes from the layer's
    own thread: what a thread handed over arrives in its order, nothing is lost, and the other
    processes read it exactly as a ``group_send`` of the same message."""
    with redis_server(tmp_path / "redis") as redis:
        sender = PubSubChannelLayer(hosts=[redis.url])
        receiver = PubSubChannelLayer(hosts=[redis.url])
        channel = await receiver.new_channel()
        await receiver.group_add("centre.1", channel)
        await sender.group_send("centre.1", {"type": "event.push", "payload": "loop", "n": 1})
        assert await _receive(receiver, channel) == {
            "type": "event.push",
            "payload": "loop",
            "n": 1,
        }

        def hand_over(thread: int) -> None:
            for i in range(50):
                message = {"type": "event.push", "payload": f"{thread}.{i}", "origin": "b" * 32}
                assert sender.group_send_nowait("centre.1", message)

        threads = [threading.Thread(target=hand_over, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        got = [await _receive(receiver, channel) for _ in range(200)]
        assert {m["origin"] for m in got} == {"b" * 32}
        for t in range(4):
            mine = [str(m["payload"]) for m in got if str(m["payload"]).startswith(f"{t}.")]
            assert mine == [f"{t}.{i}" for i in range(50)]
        await sender.flush()
        await receiver.flush()


async def test_a_redis_outage_costs_the_thread_publisher_its_pushes_not_its_callers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While Redis is away a push handed over is dropped (the log has every event), logged
    once; once Redis answers, the next push goes out and the return is logged with the count."""
    caplog.set_level(logging.INFO, logger="msa.realtime")
    with redis_server(tmp_path / "redis") as redis:
        sender = PubSubChannelLayer(hosts=[redis.url])

        def logged() -> list[str]:
            return [r.getMessage() for r in caplog.records if "publish" in r.getMessage()]

        assert sender.group_send_nowait("centre.1", {"type": "event.push", "payload": "0"})
        redis.kill()
        for n in range(3):
            assert sender.group_send_nowait("centre.1", {"type": "event.push", "payload": str(n)})
        await _until(logged, "the publisher saw the outage")
        redis.start()
        receiver = PubSubChannelLayer(hosts=[redis.url])
        channel = await receiver.new_channel()
        await receiver.group_add("centre.1", channel)
        waiting = asyncio.ensure_future(_receive(receiver, channel))
        for _ in range(200):  # until the publisher's connection is back (each one dropped or sent)
            sender.group_send_nowait("centre.1", {"type": "event.push", "payload": "back"})
            if waiting.done():
                break
            await asyncio.sleep(0.05)
        assert (await waiting)["payload"] == "back"
        await _until(lambda: len(logged()) == 2, "the return logged")
        failed, back = logged()
        assert failed == "publish_failed error=ConnectionError"
        assert back.startswith("publish_back dropped=")
        assert int(back.rpartition("=")[2]) >= 3
        await receiver.flush()


async def test_a_redis_that_never_answers_blocks_no_commit(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis that takes the connection and then hangs: the publisher waits on it (bounded by
    its timeout), the callers never do, and what waits beyond ``PENDING_MAX`` is dropped."""
    monkeypatch.setattr(layer_module._ThreadPublisher, "PENDING_MAX", 5)
    caplog.set_level(logging.WARNING, logger="msa.realtime")
    with socket.create_server(("127.0.0.1", 0)) as silent:
        silent.settimeout(10)
        sender = PubSubChannelLayer(hosts=[f"redis://127.0.0.1:{silent.getsockname()[1]}/0"])
        assert sender.group_send_nowait("centre.1", {"type": "event.push", "payload": "first"})
        hung, _ = silent.accept()  # the publisher is connected, and waits for an answer
        for n in range(50):  # none of these waits
            assert sender.group_send_nowait("centre.1", {"type": "event.push", "payload": str(n)})
        publisher = sender._publisher
        assert publisher is not None
        assert (len(publisher._pending), publisher._dropped) == (5, 45)
        hung.close()  # the hung server goes away: the publisher's wait ends
        await _until(
            lambda: any(r.getMessage().startswith("publish_failed error=") for r in caplog.records),
            "the publisher's failure logged",
        )
