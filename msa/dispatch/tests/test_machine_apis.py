"""The AVL feed and the centre's integration feed (HTTP and WebSocket)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.db import OperationalError, connections
from django.test import Client

from msa.accounts.models import Organisation, OrgKind, TokenKind
from msa.accounts.tokens import token_create
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch import selectors
from msa.dispatch.models import Unit, UnitPosition
from msa.dispatch.services.units import unit_avl_token_issue
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
ACTOR = Actor.system("test")


def integration_token(code: str = "OVL") -> str:
    org = Organisation.objects.get(code=code)
    return token_create(
        kind=TokenKind.INTEGRATION, name=f"cad-{code}", actor=ACTOR, organisation=org
    ).plain


@pytest.mark.django_db
def test_avl_positions_move_the_unit(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(NOW)
    Unit.objects.update(position_at=None)  # seeded at the real time, after NOW
    unit = Unit.objects.get(call_sign="G-12")
    token = unit_avl_token_issue(unit=unit, actor=ACTOR)
    body = {"positions": [{"lat": 51.05, "lon": 3.73, "accuracy_m": 5, "fix_at": NOW.isoformat()}]}
    response = client.post(
        "/api/unit/v1/positions",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1}
    unit.refresh_from_db()
    assert (unit.lat, unit.lon, unit.position_at) == (51.05, 3.73, NOW)
    assert UnitPosition.objects.get().source == "avl"
    # No token, a wrong token, a token of another kind: 401.
    other = integration_token()
    for header in ({}, {"Authorization": "Bearer msa_nope"}, {"Authorization": f"Bearer {other}"}):
        r = client.post(
            "/api/unit/v1/positions", body, content_type="application/json", headers=header
        )
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_token"
    bad = {"positions": [{"lat": 95, "lon": 3.73, "fix_at": NOW.isoformat()}]}
    r = client.post(
        "/api/unit/v1/positions",
        bad,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code in {400, 422}
    # the protocol's one error envelope, as every machine API answers
    assert r.json() == {
        "error": {
            "code": "validation_error",
            "message": "the request has invalid fields",
            "fields": {"positions.0.lat": "Input should be less than or equal to 90"},
        }
    }


@pytest.mark.django_db
def test_integration_lists_its_centres_incidents_without_names(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    auth = {"Authorization": f"Bearer {integration_token()}"}
    listed = client.get("/api/cic/v1/incidents", headers=auth)
    assert listed.status_code == 200
    (row,) = listed.json()
    assert row["reference"] == incident.reference
    assert row["status"] == "received"
    assert row["last_position"]["lat"] == 51.05
    detail = client.get(f"/api/cic/v1/incidents/{incident.reference}", headers=auth)
    assert detail.status_code == 200
    assert len(detail.json()["positions"]) == 1
    assert "Vandersteene" not in detail.content.decode()
    # Another centre's integration sees nothing of it: 404, like a missing one.
    Organisation.objects.create(kind=OrgKind.CIC, name="CIC Antwerpen", code="ANT")
    other = {"Authorization": f"Bearer {integration_token('ANT')}"}
    assert client.get("/api/cic/v1/incidents", headers=other).json() == []
    missing = client.get(f"/api/cic/v1/incidents/{incident.reference}", headers=other)
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "no such incident"}}
    unsigned = client.get("/api/cic/v1/incidents")
    assert unsigned.status_code == 401
    assert unsigned.json() == {
        "error": {"code": "invalid_token", "message": "the bearer token is not valid"}
    }
    spec = client.get("/api/cic/v1/openapi.json").json()
    assert "/api/cic/v1/incidents/{reference}" in spec["paths"]


async def _connect(token: str, since: int) -> Any:
    # Through the whole ASGI application, as a dispatch system connects: no Origin header.
    from msa.asgi import application  # noqa: PLC0415 - builds the ASGI stack: only when run

    return WebsocketCommunicator(
        application,
        f"/ws/cic/v1/events?since={since}",
        headers=[(b"authorization", f"Bearer {token}".encode())],
    )


@pytest.mark.django_db(transaction=True)
async def test_the_integration_websocket_replays_then_streams(demo: None) -> None:
    first = await database_sync_to_async(press)(at=NOW, number=1)
    token = await database_sync_to_async(integration_token)()
    communicator = await _connect(token, since=0)
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    replayed = await communicator.receive_json_from(timeout=5)
    assert replayed["data"]["incident"] == first.incident.reference
    second = await database_sync_to_async(press)(victim=2, at=NOW, number=2)
    live = await communicator.receive_json_from(timeout=5)
    assert (live["seq"], live["data"]["incident"]) == (2, second.incident.reference)
    await communicator.disconnect()

    refused = await _connect("msa_wrong", since=0)
    connected, code = await refused.connect()
    assert not connected
    assert code == 4403
    await database_sync_to_async(close_connections)()


def close_connections() -> None:
    connections.close_all()


@pytest.mark.django_db
def test_a_database_that_cannot_answer_is_503_in_the_envelope(
    demo: None, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(org: Any) -> Any:
        raise OperationalError("the database is away")

    monkeypatch.setattr(selectors, "integration_incident_list", down)
    auth = {"Authorization": f"Bearer {integration_token()}"}
    response = client.get("/api/cic/v1/incidents", headers=auth)
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "unavailable", "message": "cannot answer now: retry"}
    }
