"""The device API's direct route answers as the full chain does, byte for byte.

``msa.ingest.device_route`` answers device requests without Django's handler chain and ninja's
generic operation. Each request of the corpus below, good and hostile, runs both ways from the
same database state (each in a transaction rolled back after it): the status, every header, the
body and the statements run must be the same; and what the direct route does not route it must
hand back (``None``) for the full chain to answer.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils.module_loading import import_string

from msa.alarms.models import Incident
from msa.asgi import MACHINE_MIDDLEWARE, machine_handler
from msa.core.clock import Clock
from msa.demo_data import demo_device_id, demo_device_key
from msa.devices.models import Device
from msa.ingest.device_api import PREFIX
from msa.ingest.tests.moment import AT, NOW
from msa_protocol import signed_headers
from tests.support.device import alarm_payload, body_bytes, heartbeat_payload, http_post_scope


def t(seconds: float) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def fix(seconds: float, **overrides: Any) -> dict[str, Any]:
    return {"lat": 51.05, "lon": 3.72, "accuracy_m": 8, "fix_at": t(seconds), "source": "gps"} | (
        overrides
    )


@contextmanager
def rolled_back() -> Iterator[None]:
    """A transaction undone after the request (the durable services run in it as in the test's
    own transaction, which is what Django marks ``_from_testcase``)."""
    block = transaction.atomic()
    block._from_testcase = True  # type: ignore[attr-defined]
    with block:
        yield
        transaction.set_rollback(True)


def request_of(
    path: str,
    body: bytes,
    *,
    device: int = 1,
    key: bytes | None = None,
    timestamp: int | None = None,
    host: bytes = b"127.0.0.1",
    method: str = "POST",
    signed_path: str | None = None,
) -> Any:
    headers = signed_headers(
        demo_device_id(device),
        key if key is not None else demo_device_key(device),
        method,
        signed_path or path,
        body,
        timestamp if timestamp is not None else int(NOW.timestamp()),
    )
    scope = http_post_scope(
        path,
        [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    )
    scope["method"] = method
    scope["headers"] = [(b"host", host), *scope["headers"][1:]]
    request, error = machine_handler.create_request(scope, io.BytesIO(body))
    assert error is None
    return request


def answered(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.items()), response.content


def both_ways(path: str, payload: Any, **kw: Any) -> tuple[int, bytes]:
    """The request answered directly and by the full chain, from the same state: the same."""
    body = payload if isinstance(payload, bytes) else body_bytes(payload)
    assert machine_handler.direct is not None
    with rolled_back(), CaptureQueriesContext(connection) as direct_sql:
        direct = machine_handler.direct.answer(request_of(path, body, **kw))
        assert direct is not None, f"{path} was not routed directly"
        direct_answer = answered(direct)
    with rolled_back(), CaptureQueriesContext(connection) as full_sql:
        full_answer = answered(machine_handler.get_response(request_of(path, body, **kw)))
    assert direct_answer == full_answer
    assert statements(direct_sql) == statements(full_sql)
    return direct_answer[0], direct_answer[2]


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The statements run, their numbers and hashes masked: PostgreSQL does not take back the
    ids that a rolled-back transaction drew from a sequence, so the second way's rows get
    others (and the audit row, which names its incident, another hash)."""
    run = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    return [re.sub(r"\b\d+\b", "#", re.sub(r"\b[0-9a-f]{64}\b", "<hash>", sql)) for sql in run]


def code(body: bytes) -> str:
    found: str = json.loads(body)["error"]["code"]
    return found


def raised(device: int = 1) -> str:
    """An alarm of ``device`` raised through the full chain (kept: the state of what follows)."""
    alarm_id = str(uuid.uuid4())
    body = body_bytes(alarm_payload(alarm_id, AT))
    response = machine_handler.get_response(request_of(PREFIX + "alarms", body, device=device))
    assert response.status_code == 201, getattr(response, "content", b"")
    return alarm_id


def test_the_direct_route_calls_the_machine_middleware_and_routes_every_device_operation() -> None:
    assert machine_handler.direct is not None
    assert sorted(machine_handler.direct.routed) == [
        "/alarms",
        "/alarms/{alarm_id}/call",
        "/alarms/{alarm_id}/cancel",
        "/alarms/{alarm_id}/locations",
        "/heartbeat",
    ]
    assert [type(m) for m in machine_handler.direct._middleware] == [
        import_string(path) for path in MACHINE_MIDDLEWARE
    ]


@pytest.mark.django_db
def test_presses_answer_the_same_both_ways(demo: None, frozen: Clock) -> None:
    path = PREFIX + "alarms"
    assert both_ways(path, alarm_payload(str(uuid.uuid4()), AT))[0] == 201
    assert both_ways(path, alarm_payload(str(uuid.uuid4()), AT, location=None))[0] == 201
    future = alarm_payload(str(uuid.uuid4()), AT, location=fix(900))
    assert code(both_ways(path, future)[1]) == "validation_error"
    assert code(both_ways(path, alarm_payload(str(uuid.uuid4()), AT, trigger="x"))[1]) == (
        "validation_error"
    )
    assert code(both_ways(path, {"alarm_id": "not a uuid"})[1]) == "validation_error"
    first = raised()
    assert both_ways(path, alarm_payload(first, AT))[0] == 200  # the same press again
    assert both_ways(path, alarm_payload(str(uuid.uuid4()), AT))[0] == 201  # a repeat press


@pytest.mark.django_db
def test_follow_ups_answer_the_same_both_ways(demo: None, frozen: Clock) -> None:
    alarm_id = raised()
    base = f"{PREFIX}alarms/{alarm_id}/"
    status, body = both_ways(base + "locations", {"fixes": [fix(10), fix(20)]})
    assert status == 200
    assert json.loads(body)["continue"] is True
    assert both_ways(base + "locations", {"fixes": []})[0] == 400
    assert code(both_ways(base + "locations", {"fixes": [fix(10)] * 101})[1]) == "too_large"
    assert code(both_ways(base + "locations", {"fixes": [fix(900)]})[1]) == "validation_error"
    wrong = {"fixes": [fix(1, lat=91), fix(2, source="radio"), {"lat": "51"}]}
    status, body = both_ways(base + "locations", wrong)
    assert status == 400
    assert len(json.loads(body)["error"]["fields"]) >= 3
    assert both_ways(base + "call", {"event": "answered", "at": AT})[0] == 200
    assert both_ways(base + "cancel", {"at": AT, "pin": "normal"})[0] == 200
    assert both_ways(base + "cancel", {"at": AT, "pin": "duress"})[0] == 200
    unknown = f"{PREFIX}alarms/{uuid.uuid4()}/locations"
    assert code(both_ways(unknown, {"fixes": [fix(10)]})[1]) == "not_found"
    assert code(both_ways(f"{PREFIX}alarms/nope/call", {"event": "ended", "at": AT})[1]) == (
        "not_found"
    )
    Incident.objects.update(status="closed", closed_at=NOW)
    status, body = both_ways(base + "locations", {"fixes": [fix(30)]})
    assert status == 200
    assert json.loads(body)["continue"] is False


@pytest.mark.django_db
def test_heartbeats_and_refusals_answer_the_same_both_ways(demo: None, frozen: Clock) -> None:
    path = PREFIX + "heartbeat"
    assert both_ways(path, heartbeat_payload(at=AT))[0] == 200
    for bad in (
        heartbeat_payload(at="2026-03-14T08:15:02"),  # no zone
        {**heartbeat_payload(at=AT), "app_version": "1\x00"},
        {**heartbeat_payload(at=AT), "battery": {"phone_pct": 101}},
        {},
    ):
        assert code(both_ways(path, bad)[1]) == "validation_error"
    assert code(both_ways(path, b"not json")[1]) == "malformed"
    assert code(both_ways(path, b"[1, 2]")[1]) == "malformed"
    assert code(both_ways(path, b"[" * 100_000)[1]) == "too_large"
    assert code(both_ways(path, heartbeat_payload(at=AT), key=b"x" * 32)[1]) == (
        "invalid_signature"
    )
    skewed = int(NOW.timestamp()) - 3600
    _status, body = both_ways(path, heartbeat_payload(at=AT), timestamp=skewed)
    assert code(body) == "clock_skew"
    assert "server_time" in json.loads(body)
    signed_elsewhere = {"signed_path": PREFIX + "alarms"}
    assert code(both_ways(path, heartbeat_payload(at=AT), **signed_elsewhere)[1]) == (
        "invalid_signature"
    )
    Device.objects.filter(device_id=demo_device_id(2)).update(status="revoked")
    revoked = alarm_payload(str(uuid.uuid4()), AT)
    assert code(both_ways(PREFIX + "alarms", revoked, device=2)[1]) == "device_revoked"


@pytest.mark.django_db
@override_settings(MSA_HEARTBEAT_RATE_LIMIT=1)
def test_a_rate_limited_heartbeat_answers_the_same_both_ways(demo: None, frozen: Clock) -> None:
    path = PREFIX + "heartbeat"
    first = machine_handler.get_response(request_of(path, body_bytes(heartbeat_payload(at=AT))))
    assert first.status_code == 200
    status, body = both_ways(path, heartbeat_payload(at=AT, phone_pct=50))
    assert (status, code(body)) == (429, "rate_limited")


@pytest.mark.django_db
def test_an_unexpected_error_is_django_s_500_both_ways(
    demo: None, frozen: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("msa.ingest.device_api.device_heartbeat_record", broken)
    status, _ = both_ways(PREFIX + "heartbeat", heartbeat_payload(at=AT))
    assert status == 500


@pytest.mark.django_db
def test_what_it_does_not_route_goes_the_full_way(demo: None, frozen: Clock) -> None:
    assert machine_handler.direct is not None
    body = body_bytes(heartbeat_payload(at=AT))
    not_routed = [
        request_of(PREFIX + "heartbeat", body, host=b"evil.example"),  # the host check refuses
        request_of(PREFIX + "heartbeat", body, method="PUT"),
        request_of(PREFIX + "heartbeat/", body),
        request_of(PREFIX + "alarms/x/y/locations", body),
        request_of(PREFIX + "openapi.json", body),
        request_of(PREFIX + "heartbeat", b""),
    ]
    for request in not_routed:
        assert machine_handler.direct.answer(request) is None, request.path
    refused = machine_handler.get_response(
        request_of(PREFIX + "heartbeat", body, host=b"evil.example")
    )
    assert refused.status_code == 400
