"""A console's socket in tests: signed in as a user of the centre, and its events read."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator

from msa.accounts.models import Organisation, User
from msa.realtime.routing import websocket_urlpatterns
from tests.support.auth import otp_verified_user
from tests.support.sessions import signed_in_session


async def connect(username: str, since: int = 0, centre: int | None = None) -> Any:
    """A communicator for the console socket of ``centre`` (the demo's OVL centre unless
    given), signed in as ``username`` with a verified second factor; not yet connected."""
    user = await database_sync_to_async(User.objects.get)(username=username)
    if centre is None:
        centre = (await database_sync_to_async(Organisation.objects.get)(code="OVL")).pk
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns),
        f"/ws/console/{centre}/?since={since}",
    )
    communicator.scope["user"] = await database_sync_to_async(otp_verified_user)(user)
    communicator.scope["session"] = await database_sync_to_async(signed_in_session)(user)
    return communicator


async def receive_events(communicator: Any, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events the socket sends (its hello, pongs and heartbeats skipped)."""
    received: list[dict[str, Any]] = []
    while len(received) < count:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] not in {"hello", "pong", "heartbeat"}:
            received.append(message)
    return received
