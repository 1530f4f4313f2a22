"""On PostgreSQL a device request waits for a locked row at most MSA_MACHINE_DB_TIMEOUT_MS,
answers 503 (the phone sends its SMS), and hands its connection back with the defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client

from msa.core.clock import Clock
from msa.demo_data import demo_device_id
from msa.devices.models import Device
from tests.support.device import body_bytes, heartbeat_payload, signed_post

pytestmark = pytest.mark.postgres_only

NOW = datetime(2026, 3, 14, 8, 15, 3, tzinfo=UTC)
BEAT = heartbeat_payload(at="2026-03-14T08:15:00Z")


def _beat(client: Client, clock: Clock) -> Any:
    return signed_post(client, "/api/device/v1/heartbeat", body_bytes(BEAT), now=clock.now())


def _session_setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        row = cursor.fetchone()
        return str(row[0])


@pytest.mark.django_db(transaction=True)
def test_a_locked_device_row_is_503_and_the_connection_keeps_its_defaults(
    demo: None, clock: Clock, client: Client, settings: Any
) -> None:
    clock.freeze(NOW)
    settings.MSA_MACHINE_DB_TIMEOUT_MS = 300
    assert _beat(client, clock).status_code == 200
    device = Device.objects.get(device_id=demo_device_id(1))
    params = connection.get_connection_params()
    dsn = {k: v for k, v in params.items() if k in {"host", "port", "user", "dbname", "password"}}
    with psycopg.connect(**dsn) as holder:
        holder.execute(
            "SELECT 1 FROM devices_device WHERE id = %s FOR UPDATE", [device.pk]
        )  # held until the end of this block: the suspect's long transaction, say
        refused = _beat(client, clock)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "unavailable"
        holder.rollback()
    assert _session_setting("lock_timeout") == "0"
    assert _session_setting("statement_timeout") == "0"
    assert _beat(client, clock).status_code == 200
