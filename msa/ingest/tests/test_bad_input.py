"""Issue 11, "Bad input gets a 4xx, never a 500": the causes the attack run found on the
machine endpoints, each as sent (validly signed where a signature is needed to reach it)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_create
from msa.asgi import application
from msa.core.actors import Actor
from msa.demo_data import demo_device_id, demo_device_key
from msa_protocol import MAX_BODY_BYTES, signature, signed_headers
from tests.support.device import alarm_payload, body_bytes, http_post_scope

PATH = "/api/device/v1/alarms"
DEEP = b"[" * 30_000 + b"]" * 30_000
BIG_NUMBER = b'{"alarm_id": ' + b"9" * 5_000 + b"}"


def now() -> int:
    return int(datetime.now(UTC).timestamp())


def device_post(client: Client, body: bytes, **headers: str) -> Any:
    signed = signed_headers(demo_device_id(1), demo_device_key(1), "POST", PATH, body, now())
    return client.post(PATH, data=body, content_type="application/json", headers=signed | headers)


def gateway_post(client: Client, body: bytes) -> Any:
    token = token_create(kind=TokenKind.SMS_GATEWAY, name="gw-bad", actor=Actor.system("t")).plain
    return client.post(
        "/api/sms/v1/inbound",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def code(response: Any) -> tuple[int, str]:
    return response.status_code, json.loads(response.content)["error"]["code"]


@pytest.mark.django_db
def test_a_non_ascii_signature_is_a_401(demo: None, client: Client) -> None:
    body = body_bytes(alarm_payload(str(uuid.uuid4()), "2026-03-14T08:15:02Z"))
    response = device_post(client, body, **{"X-MSA-Signature": "é" * 64})
    assert code(response) == (401, "invalid_signature")


@pytest.mark.django_db
@pytest.mark.parametrize("timestamp", ["9" * 5_000, "¹²", "٣٣٣"])
def test_a_signed_timestamp_of_any_length_or_script_is_a_401(
    demo: None, client: Client, timestamp: str
) -> None:
    body = body_bytes(alarm_payload(str(uuid.uuid4()), "2026-03-14T08:15:02Z"))
    headers = {"X-MSA-Timestamp": timestamp}
    if timestamp.isascii():  # signed with the device's key: it passes the signature check
        headers["X-MSA-Signature"] = signature(demo_device_key(1), "POST", PATH, timestamp, body)
    response = device_post(client, body, **headers)
    assert response.status_code == 401
    assert code(response)[1] in {"clock_skew", "invalid_signature"}


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, BIG_NUMBER], ids=["nested-30000", "5000-digits"])
def test_json_the_parser_refuses_is_malformed_on_the_device_api(
    demo: None, client: Client, body: bytes
) -> None:
    assert code(device_post(client, body)) == (400, "malformed")


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, BIG_NUMBER], ids=["nested-30000", "5000-digits"])
def test_json_the_parser_refuses_is_malformed_on_the_sms_webhook(
    demo: None, client: Client, body: bytes
) -> None:
    assert code(gateway_post(client, body)) == (400, "malformed")


# --- the body limit, before the body is read -----------------------------------------------


def drive(path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, int]:
    """Send a request straight to the ASGI application; (status, chunks it read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read >= len(chunks):
            await asyncio.sleep(3600)  # a client that never sends more
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_post_scope(path, headers)
    asyncio.run(asyncio.wait_for(application(scope, receive, send), timeout=30))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body)["error"]["code"] in {"too_large", "malformed"}
    return start["status"], read


CHUNK = b"x" * 65_536
HUNDRED_MIB = [CHUNK] * 1_600


@pytest.mark.parametrize("path", [PATH, "/api/sms/v1/inbound", "/api/unit/v1/positions"])
def test_a_body_declared_over_64_kib_is_refused_unread(path: str) -> None:
    length = str(len(HUNDRED_MIB) * len(CHUNK)).encode()
    status, read = drive(path, [(b"content-length", length)], HUNDRED_MIB)
    assert (status, read) == (413, 0)


def test_a_chunked_body_over_64_kib_is_refused_as_soon_as_it_passes_the_limit() -> None:
    status, read = drive(PATH, [(b"transfer-encoding", b"chunked")], HUNDRED_MIB)
    assert status == 413
    assert read == MAX_BODY_BYTES // len(CHUNK) + 1  # stopped at the first chunk over the limit


def test_a_content_length_that_is_no_number_is_a_400() -> None:
    status, read = drive(PATH, [(b"content-length", b"12x")], [b"{}"])
    assert (status, read) == (400, 0)


# --- sane bounds -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("location.fix_at", "1970-01-01T00:00:00Z"),
        ("location.fix_at", "2100-01-01T00:00:00Z"),
        ("location.accuracy_m", 1e12),
        ("location.accuracy_m", 100_001),
    ],
)
def test_times_and_accuracies_out_of_any_sane_range_are_refused(
    demo: None, client: Client, field: str, value: Any
) -> None:
    payload = alarm_payload(str(uuid.uuid4()), "2026-03-14T08:15:02Z")
    if field.startswith("location."):
        payload["location"][field.split(".")[1]] = value
    else:
        payload[field] = value
    response = device_post(client, body_bytes(payload))
    assert code(response) == (400, "validation_error")
    assert field in json.loads(response.content)["error"]["fields"]
