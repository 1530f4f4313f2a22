"""Two nodes behind nginx on one PostgreSQL and one Redis (issue 12, "Proven on several nodes"):
an alarm posted through nginx reaches a console on the other node; with two workers every
timer fires exactly once; a worker killed leaves its timers to the other; a node killed, its
console reconnects through nginx to the other node and misses nothing.

One cluster for the module, the tests in order (the later ones kill its processes). The
console's own heartbeat is set to 60 s, so an event that reaches a socket within the
deadline came through the Redis fan-out, not through the heartbeat's re-read of the log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cluster import Cluster, Console, cluster

pytestmark = [pytest.mark.live, pytest.mark.postgres_only]

LIVE_DEADLINE_S = 15.0  # under the console's 60 s heartbeat: only a live push gets there
TIMER_DEADLINE_S = 30.0
KINDS = ("ack", "backup")  # MSA_ACK_TARGET_S=1, MSA_BACKUP_OFFER_S=2: both fire in seconds


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with cluster(
        tmp_path_factory.mktemp("cluster"),
        MSA_ACK_TARGET_S="1",
        MSA_BACKUP_OFFER_S="2",
        MSA_CONSOLE_HEARTBEAT_S="60",
    ) as group:
        yield group


def _escalations(centre: Cluster, reference: str) -> dict[str, int]:
    rows = centre.query(
        "SELECT e.payload->>'kind', count(*) FROM realtime_incidentevent e"
        " JOIN alarms_incident i ON i.id = e.incident_id"
        " WHERE i.reference = %s AND e.type = 'incident.escalated' GROUP BY 1",
        reference,
    )
    return {kind: int(n) for kind, n in rows}


def _audited(centre: Cluster, reference: str) -> dict[str, int]:
    rows = centre.query(
        "SELECT a.action, count(*) FROM audit_auditentry a"
        " JOIN alarms_incident i ON a.subject_id = i.id::text"
        " WHERE i.reference = %s AND a.action LIKE 'incident.escalate_%%' GROUP BY 1",
        reference,
    )
    return {action.removeprefix("incident.escalate_"): int(n) for action, n in rows}


def _mentions(events: list[dict[str, Any]], reference: str, event_type: str) -> int:
    return sum(1 for e in events if e["type"] == event_type and reference in str(e))


def _wait_for_timers(centre: Cluster, console: Console, socket: Any, refs: list[str]) -> None:
    """Every timer of ``refs`` fired, seen live on the console; then each exactly once."""

    def fired(events: list[dict[str, Any]]) -> bool:
        wanted = len(KINDS) * len(refs)
        return sum(_mentions(events, r, "incident.escalated") for r in refs) >= wanted

    console.read_until(socket, fired, TIMER_DEADLINE_S)
    for reference in refs:
        assert _escalations(centre, reference) == dict.fromkeys(KINDS, 1), reference
        assert _audited(centre, reference) == dict.fromkeys(KINDS, 1), reference
        assert _mentions(console.events, reference, "incident.escalated") == len(KINDS)


def test_a_press_through_nginx_reaches_a_console_on_the_other_node(centre: Cluster) -> None:
    console = Console(centre.url)
    other = centre.node_ports[1]
    with console.open(node=1) as socket:
        refs = [centre.press(victim) for victim in (1, 2, 3)]
        console.read_until(
            socket,
            lambda events: all(_mentions(events, r, "alarm.raised") for r in refs),
            LIVE_DEADLINE_S,
        )
        # nginx's round-robin sent at least one of the three presses to node 0
        assert set(centre.upstreams_of("POST", "/api/")) - {other}
        _wait_for_timers(centre, console, socket, refs)
    beats = centre.query("SELECT worker FROM worker_workerheartbeat WHERE loop = 'fast'")
    assert len({worker.rsplit(":", 1)[0] for (worker,) in beats}) == 2, beats
    assert console.missed(centre) == []


def test_a_killed_worker_leaves_its_timers_to_the_other(centre: Cluster) -> None:
    console = Console(centre.url)
    centre.kill_worker(0)
    with console.open(node=0) as socket:
        reference = centre.press(4)
        _wait_for_timers(centre, console, socket, [reference])
    assert console.missed(centre) == []


def test_a_killed_node_s_console_reconnects_through_nginx_and_misses_nothing(
    centre: Cluster,
) -> None:
    console = Console(centre.url)
    with console.open(node=1):
        centre.kill_node(1)
        reference = centre.press(5)  # while the console is cut off
    with console.open() as socket:  # through nginx, which skips the dead node
        _wait_for_timers(centre, console, socket, [reference])
    assert _mentions(console.events, reference, "alarm.raised") == 1
    assert console.missed(centre) == []
    assert console.last_seq == centre.query("SELECT max(seq) FROM realtime_incidentevent")[0][0]
