"""Under ASGI every request runs in a thread of its own: a server must pool its PostgreSQL
connections, or each thread strands one until PostgreSQL refuses new clients."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from bench.loadgen import closed_loop
from msa.demo_data import demo_device_id, demo_device_key
from msa_protocol import signed_headers
from tests.support.live import free_port, postgres_database, server_env, wait_until_serving

pytestmark = [pytest.mark.postgres_only, pytest.mark.live]
POOL = 4


def heartbeats(port: int) -> list[bytes]:
    now = datetime.now(UTC).replace(microsecond=0)
    body = json.dumps(
        {
            "at": now.isoformat().replace("+00:00", "Z"),
            "battery": {"phone_pct": 80, "button_pct": 70},
            "button": {"connected": True, "last_seen_at": None},
            "permissions": {"location": "always", "sms": True, "notifications": True},
            "network": {"data": True},
            "app_version": "pool-test",
        },
        separators=(",", ":"),
    ).encode()
    path = "/api/device/v1/heartbeat"
    requests = []
    for number in range(1, 6):
        headers = signed_headers(
            demo_device_id(number),
            demo_device_key(number),
            "POST",
            path,
            body,
            int(now.timestamp()),
        )
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{name}: {value}" for name, value in headers.items()]
        requests.append(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return requests


def test_a_server_holds_no_more_connections_than_its_pool(tmp_path: Path) -> None:
    port = free_port()
    with postgres_database() as database_url:
        assert database_url is not None
        env = server_env(tmp_path, database_url)
        env["MSA_DB_POOL_MAX"] = str(POOL)
        log = tmp_path / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "msa.cli", "demo", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until_serving(f"http://127.0.0.1:{port}", process, log)
                prepared = heartbeats(port)
                result = asyncio.run(
                    closed_loop(
                        "127.0.0.1",
                        port,
                        lambda i: prepared[i % len(prepared)],
                        connections=16,
                        duration_s=3.0,
                    )
                )
                assert result.statuses.get(200, 0) > 50, result.summary()
                name = urlsplit(database_url).path.lstrip("/")
                with psycopg.connect(database_url, autocommit=True) as admin:
                    held = admin.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                        "AND pid <> pg_backend_pid()",
                        (name,),
                    ).fetchone()
                assert held is not None
                assert held[0] <= POOL, f"{held[0]} connections for a pool of {POOL}"
            finally:
                process.terminate()
                process.wait(timeout=15)
