"""Redis away and back (issue 12): while the channel layer is down, presses are still answered
2xx and consoles, open ones and new ones, keep working from the database (the heartbeat re-reads
the event log); when Redis returns, empty, every console joins its centre's group again and
the live fan-out resumes; no console misses an event. Our own redis-server on a free port: the
shared one is never stopped."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from msa.core.env import channel_layer_config, database_config
from msa.demo_data import CENTRE_CODE
from tests.support.cluster import Cluster, Console, RedisServer, cluster, redis_server

pytestmark = [pytest.mark.live, pytest.mark.postgres_only]

DEADLINE_S = 15.0  # the console heartbeat is 2 s here


def _raised(reference: str) -> Any:
    return lambda events: any(e["type"] == "alarm.raised" and reference in str(e) for e in events)


def _wait_for_members(redis: RedisServer, centre: Cluster, nodes: int) -> None:
    """``nodes`` server processes are subscribed to the centre's group again (bounded): each
    holds one subscription for all its consoles of the centre (msa.realtime.layer)."""
    (centre_id,) = centre.query(
        "SELECT id FROM accounts_organisation WHERE code = %s", CENTRE_CODE
    )[0]
    database = database_config(centre.database_url, "")
    prefix = channel_layer_config(redis.url, database)["CONFIG"]["prefix"]  # as the nodes have it
    deadline = time.monotonic() + DEADLINE_S
    while redis.subscribers(f"{prefix}__group__centre.{centre_id}") != nodes:
        assert time.monotonic() < deadline, "the nodes did not subscribe to the group again"
        time.sleep(0.2)


def test_consoles_work_through_a_redis_outage_and_resume_live_fan_out(tmp_path: Path) -> None:
    with (
        redis_server(tmp_path / "redis") as redis,
        cluster(tmp_path, workers=0, REDIS_URL=redis.url, MSA_CONSOLE_HEARTBEAT_S="2") as centre,
    ):
        first = Console(centre.url)
        with first.open(node=1) as socket:
            before = centre.press(1)
            first.read_until(socket, _raised(before), DEADLINE_S)
            redis.kill()
            during = centre.press(2)  # answered 2xx with the channel layer down
            first.read_until(socket, _raised(during), DEADLINE_S)
            second = Console(centre.url)  # signs in and connects during the outage
            assert second.last_seq >= first.last_seq  # its page already shows the press
            with second.open(node=0) as other:  # the other node
                redis.start()
                _wait_for_members(redis, centre, 2)
                after = centre.press(3)
                first.read_until(socket, _raised(after), DEADLINE_S)
                second.read_until(other, _raised(after), DEADLINE_S)
        assert first.missed(centre) == []
        assert second.missed(centre) == []
