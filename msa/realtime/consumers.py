"""The console's live feed: first every event after ``since``, then the live stream.

Sequence numbers are per centre and follow commit order, so the consumer only has to
remember the last one it sent: a live event at or below it is a duplicate of the replay,
one further ahead means a gap, which it fills from the log before sending.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from msa.accounts.mfa import session_is_verified
from msa.accounts.selectors import user_is_console_staff
from msa.realtime.selectors import REPLAY_PAGE, events_after, last_seq
from msa.realtime.services import centre_group

log = logging.getLogger("msa.realtime")

CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400


def _since(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("since", ["0"])
    try:
        since = int(values[-1])
    except ValueError:
        return None
    return since if since >= 0 else None


class ConsoleConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    centre_id: int
    last_sent: int
    group: str = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        try:
            self.centre_id = int(self.scope["url_route"]["kwargs"]["centre_id"])
        except (KeyError, ValueError):
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        since = _since(self.scope.get("query_string", b""))
        if since is None:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        allowed = (
            user is not None
            and user.is_authenticated
            # the session must have passed the second factor (TOTP), as on every staff page
            and await database_sync_to_async(session_is_verified)(user, self.scope.get("session"))
            and await database_sync_to_async(user_is_console_staff)(user, self.centre_id)
        )
        if not allowed:
            # Same close for "no such centre" and "not yours".
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.last_sent = since
        self.group = centre_group(self.centre_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        head = await database_sync_to_async(last_seq)(centre_id=self.centre_id)
        await self.send_json({"type": "hello", "last_seq": head, "since": since})
        await self._replay()
        log.info("console_connected centre=%s since=%s head=%s", self.centre_id, since, head)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def _replay(self) -> None:
        while True:
            batch = await database_sync_to_async(events_after)(
                centre_id=self.centre_id,
                since=self.last_sent,
            )
            for event in batch:
                await self._deliver(event)
            if len(batch) < REPLAY_PAGE:
                return

    async def _deliver(self, event: dict[str, Any]) -> None:
        await self.send_json(event)
        self.last_sent = int(event["seq"])

    async def event_push(self, message: dict[str, Any]) -> None:
        event = json.loads(message["payload"])
        seq = int(event["seq"])
        if seq <= self.last_sent:
            return
        if seq > self.last_sent + 1:
            await self._replay()
            if seq <= self.last_sent:
                return
        await self._deliver(event)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Consoles act through audited HTTP requests; the socket only listens.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "last_seq": self.last_sent})
