"""Signing device requests in tests, exactly as a phone does."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from django.test import Client

from msa.demo_data import demo_device_id, demo_device_key
from msa_protocol import signed_headers


def body_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def signed_post(
    client: Client,
    path: str,
    body: bytes,
    *,
    now: datetime,
    device_id: str = demo_device_id(1),
    key: bytes = demo_device_key(1),
    timestamp: int | None = None,
) -> Any:
    headers = signed_headers(device_id, key, "POST", path, body, timestamp or int(now.timestamp()))
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers=headers,
    )


def alarm_payload(alarm_id: str, at: str, /, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "alarm_id": alarm_id,
        "trigger": "button",
        "pressed_at": at,
        "location": {
            "lat": 51.054342,
            "lon": 3.717424,
            "accuracy_m": 12,
            "fix_at": at,
            "source": "gps",
        },
        "battery": {"phone_pct": 80, "button_pct": 60},
        "call": {"state": "dialing"},
    }
    payload.update(overrides)
    return payload


async def machine_post(
    path: str,
    body: bytes,
    *,
    now: datetime,
    device_id: str = demo_device_id(1),
    key: bytes = demo_device_key(1),
) -> int:
    """A signed POST through the server's machine handler (msa.asgi: its threads, its kept
    connections), not Django's test client; the status."""
    from msa.asgi import machine_asgi  # noqa: PLC0415 - the ASGI application only where used

    headers = signed_headers(device_id, key, "POST", path, body, int(now.timestamp()))
    scope = http_post_scope(
        path,
        [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    )
    sent: list[dict[str, Any]] = []
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done:
            await asyncio.sleep(3600)
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(machine_asgi(scope, receive, send), timeout=30)
    return int(next(m for m in sent if m["type"] == "http.response.start")["status"])


def http_post_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The ASGI scope of a POST to ``path`` from this machine, with ``headers`` (and Host)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


def heartbeat_payload(*, at: str, phone_pct: int = 80) -> dict[str, Any]:
    """A heartbeat as protocol.md describes it (everything well)."""
    return {
        "at": at,
        "battery": {"phone_pct": phone_pct, "button_pct": 70},
        "button": {"connected": True, "last_seen_at": None},
        "permissions": {"location": "always", "sms": True, "notifications": True},
        "network": {"data": True},
        "app_version": "1.0",
    }
