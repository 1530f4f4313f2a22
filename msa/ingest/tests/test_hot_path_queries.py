"""How many SQL statements one device request costs (design.md section 5: the hot path).

Counts, not times: each figure is the number of statements a request runs, asserted so that a
change that adds a query to the hot path is seen. Timings are in bench/, never in tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from msa.alarms.models import LocationFix
from msa.core.clock import Clock
from msa.demo_data import demo_device_id, demo_device_key
from msa.ingest.tests.moment import AT, NOW
from msa.realtime.models import IncidentEvent
from tests.support.device import alarm_payload, body_bytes, signed_post

BASE = "/api/device/v1"


def post(client: Client, path: str, payload: Any, clock: Clock) -> Any:
    return signed_post(client, BASE + path, body_bytes(payload), now=clock.now())


def fix(seconds: float) -> dict[str, Any]:
    at = (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    return {"lat": 51.05, "lon": 3.72, "accuracy_m": 8, "fix_at": at, "source": "gps"}


def counted(client: Client, path: str, payload: Any, clock: Clock) -> tuple[Any, list[str]]:
    """The answer and the statements the request ran, without the savepoints (the test's
    transaction; BEGIN/COMMIT in production) and the lock-wait PRAGMAs of the deadline."""
    with CaptureQueriesContext(connection) as queries:
        response = post(client, path, payload, clock)
    sql = [q["sql"] for q in queries.captured_queries]
    return response, [q for q in sql if not q.startswith(SKIPPED)]


SKIPPED = (
    "SAVEPOINT",
    "RELEASE SAVEPOINT",
    "PRAGMA",
    "SET lock_timeout",
    "SET statement_timeout",
    "RESET lock_timeout",
    "RESET statement_timeout",
)


@pytest.mark.django_db
def test_one_position_costs_few_statements(demo: None, frozen: Clock, client: Client) -> None:
    alarm_id = str(uuid.uuid4())
    assert post(client, "/alarms", alarm_payload(alarm_id, AT), frozen).status_code == 201
    response, sql = counted(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(10)]}, frozen)
    assert response.status_code == 200, response.content
    assert LocationFix.objects.filter(fix_at=NOW + timedelta(seconds=10)).count() == 1
    assert IncidentEvent.objects.filter(type="alarm.located").count() == 1
    # the device and whether the alarm is open (no rate limit then: one statement); the
    # incident, locked; the new fix unless it is held already (ON CONFLICT DO NOTHING); the
    # centre's next sequence number and the event. On PostgreSQL the fix and the event are
    # one statement (msa.realtime.services.incident_event_append_after)
    assert len(sql) == (3 if connection.vendor == "postgresql" else 5), "\n".join(sql)

    # The same fix again: stored once, no second event, the same answer.
    again, _ = counted(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(10)]}, frozen)
    assert again.json() == response.json()
    assert LocationFix.objects.filter(fix_at=NOW + timedelta(seconds=10)).count() == 1
    assert IncidentEvent.objects.filter(type="alarm.located").count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_one_position_outside_a_transaction_is_two_statements_on_postgresql(
    demo: None, frozen: Clock, client: Client
) -> None:
    """As in production (no test transaction around it): the device with its alarm's incident,
    then the fix and its event in one statement that is its own transaction, no BEGIN or
    COMMIT (msa.alarms.services.tracking._one_fix_at_once)."""
    alarm_id = str(uuid.uuid4())
    assert post(client, "/alarms", alarm_payload(alarm_id, AT), frozen).status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = post(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(10)]}, frozen)
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(SKIPPED)]
    assert len(sql) == 2, "\n".join(sql)
    assert LocationFix.objects.filter(fix_at=NOW + timedelta(seconds=10)).count() == 1
    assert IncidentEvent.objects.filter(type="alarm.located").count() == 1


@pytest.mark.django_db
def test_one_press_costs_few_statements(demo: None, frozen: Clock, client: Client) -> None:
    first = alarm_payload(str(uuid.uuid4()), AT)
    assert post(client, "/alarms", first, frozen).status_code == 201
    other = {"device_id": demo_device_id(2), "key": demo_device_key(2)}
    with CaptureQueriesContext(connection) as queries:
        response = signed_post(
            client,
            BASE + "/alarms",
            body_bytes(alarm_payload(str(uuid.uuid4()), AT)),
            now=frozen.now(),
            **other,  # type: ignore[arg-type]
        )
    assert response.status_code == 201, response.content
    sql = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(SKIPPED)]
    # A new incident: the device locked with its case, zone and centre (one prepared joined
    # read), its reference, rows, transitions, audit row (the chain head locked and moved on)
    # and event. A bound, not a target: a new query here should be a decision. On PostgreSQL
    # the incident, its first position and its two first transitions are one statement, the
    # audit row and the head's move another, and so are the event and its sequence number.
    assert len(sql) <= (9 if connection.vendor == "postgresql" else 14), "\n".join(sql)


@pytest.mark.django_db
def test_one_heartbeat_costs_few_statements(demo: None, frozen: Clock, client: Client) -> None:
    beat = {
        "at": AT,
        "battery": {"phone_pct": 80, "button_pct": 70},
        "button": {"connected": True, "last_seen_at": None},
        "permissions": {"location": "always", "sms": True, "notifications": True},
        "network": {"data": True},
        "app_version": "test",
    }
    assert post(client, "/heartbeat", beat, frozen).status_code == 200
    response, sql = counted(client, "/heartbeat", {**beat, "app_version": "t2"}, frozen)
    assert response.status_code == 200, response.content
    # the device; the rate counter (a replay check in the same statement); the device's
    # health row; the last test alarm
    assert len(sql) == 4, "\n".join(sql)
