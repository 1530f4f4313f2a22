"""Signing device requests in tests, exactly as a phone does."""

from __future__ import annotations

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
