"""The console socket's heartbeat: the head sequence every beat, and the sign-in checked
again on each one, so that a signed-out, deactivated or revoked client stops listening."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django.db import transaction
from django.db.models import F
from django.test import Client

from msa.accounts.models import ApiToken, Organisation, TokenKind, User
from msa.accounts.tokens import token_create
from msa.alarms.models import Incident
from msa.core import clock
from msa.core.actors import Actor
from msa.realtime import events
from msa.realtime.consumers import CLOSE_SIGNED_OUT
from msa.realtime.models import EventStream, IncidentEvent
from msa.realtime.routing import websocket_urlpatterns
from tests.support.auth import otp_verified_user
from tests.support.events import synthetic
from tests.support.factories import press
from tests.support.sessions import session_of, signed_in_client

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
pytestmark = pytest.mark.django_db(transaction=True)
CLOSED_WITHIN_S = 5.0


@pytest.fixture(autouse=True)
def _fast_beat(settings: Any) -> None:
    settings.MSA_CONSOLE_HEARTBEAT_S = 1


async def console(username: str = "operator") -> tuple[WebsocketCommunicator, Client]:
    user = await database_sync_to_async(User.objects.get)(username=username)
    centre = await database_sync_to_async(Organisation.objects.get)(code="OVL")
    client = await database_sync_to_async(signed_in_client)(user)
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/console/{centre.pk}/?since=0"
    )
    communicator.scope["user"] = await database_sync_to_async(otp_verified_user)(user)
    communicator.scope["session"] = await database_sync_to_async(session_of)(client)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator, client


async def next_of_type(communicator: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


async def closed_code(communicator: WebsocketCommunicator) -> tuple[int, float]:
    """The close code of the socket and the seconds it took, skipping beats and events."""
    started = time.monotonic()
    while True:
        output = await communicator.receive_output(timeout=CLOSED_WITHIN_S + 1)
        if output["type"] == "websocket.close":
            return output["code"], time.monotonic() - started


async def test_the_heartbeat_carries_the_head_sequence(demo: None) -> None:
    communicator, _ = await console()
    assert (await next_of_type(communicator, "heartbeat"))["last_seq"] == 0
    result = await database_sync_to_async(press)(at=NOW, number=1)
    raised = await next_of_type(communicator, "alarm.raised")
    assert raised["data"]["incident"] == result.incident.reference
    assert (await next_of_type(communicator, "heartbeat"))["last_seq"] == raised["seq"]
    await communicator.disconnect()


async def test_a_lost_push_with_nothing_after_it_comes_with_the_next_beat(demo: None) -> None:
    await database_sync_to_async(press)(at=NOW, number=1)
    communicator, _ = await console()
    assert (await next_of_type(communicator, "alarm.raised"))["seq"] == 1

    def commit_without_push() -> None:
        with synthetic(), transaction.atomic():
            incident = Incident.objects.get()
            EventStream.objects.filter(centre=incident.centre).update(last_seq=F("last_seq") + 1)
            IncidentEvent.objects.create(
                centre=incident.centre,
                seq=2,
                type=events.AlarmChannelAdded.type,
                incident=incident,
                payload={"incident": incident.reference, "channel": "sms"},
                at=NOW,
            )

    await database_sync_to_async(commit_without_push)()
    filled = await next_of_type(communicator, "alarm.channel_added")
    assert filled["seq"] == 2
    assert (await next_of_type(communicator, "heartbeat"))["last_seq"] == 2
    await communicator.disconnect()


async def test_signed_out_elsewhere_the_socket_is_closed_within_5_s(demo: None) -> None:
    communicator, client = await console()
    await next_of_type(communicator, "heartbeat")
    await database_sync_to_async(client.logout)()  # another tab signs out: the session goes
    code, took = await closed_code(communicator)
    assert code == CLOSE_SIGNED_OUT
    assert took < CLOSED_WITHIN_S


async def test_a_deactivated_user_is_closed_within_5_s(demo: None) -> None:
    communicator, _ = await console("supervisor")
    await next_of_type(communicator, "heartbeat")
    await database_sync_to_async(User.objects.filter(username="supervisor").update)(is_active=False)
    code, took = await closed_code(communicator)
    assert code == CLOSE_SIGNED_OUT
    assert took < CLOSED_WITHIN_S


async def test_an_idle_session_is_closed(demo: None, settings: Any) -> None:
    communicator, client = await console()
    await next_of_type(communicator, "heartbeat")

    def idle_for_an_hour() -> None:
        session = client.session
        session["msa_last_seen"] = clock.now().timestamp() - 3600
        session.save()

    settings.MSA_SESSION_IDLE_S = 1800
    await database_sync_to_async(idle_for_an_hour)()
    code, _ = await closed_code(communicator)
    assert code == CLOSE_SIGNED_OUT


async def test_a_revoked_integration_token_is_closed_within_5_s(demo: None) -> None:
    from msa.asgi import application  # noqa: PLC0415 - builds the ASGI stack: only when run

    def issue() -> str:
        org = Organisation.objects.get(code="OVL")
        return token_create(
            kind=TokenKind.INTEGRATION, name="cad", actor=Actor.system("test"), organisation=org
        ).plain

    token = await database_sync_to_async(issue)()
    communicator = WebsocketCommunicator(
        application,
        "/ws/cic/v1/events?since=0",
        headers=[(b"authorization", f"Bearer {token}".encode())],
    )
    connected, _ = await communicator.connect()
    assert connected
    await next_of_type(communicator, "heartbeat")
    await database_sync_to_async(ApiToken.objects.update)(revoked_at=clock.now())
    code, took = await closed_code(communicator)
    assert code == CLOSE_SIGNED_OUT
    assert took < CLOSED_WITHIN_S
