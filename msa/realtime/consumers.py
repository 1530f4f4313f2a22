"""The console's live feed: first every event after ``since``, then the live stream, with
a heartbeat.

Sequence numbers are per centre and follow commit order, so the consumer only has to
remember the last one it sent: a live event at or below it is a duplicate of the replay,
one further ahead means a gap, which it fills from the log before sending.

Every ``MSA_CONSOLE_HEARTBEAT_S`` the consumer re-authorises the socket (the session still
exists, is not idle or expired, names the same active user who passed the second factor
and is still console staff of the centre) and sends ``{"type": "heartbeat", "last_seq":
<head>}``; the page turns to its alarm state when no heartbeat came for 10 s. A socket whose
sign-in no longer holds is closed with ``CLOSE_SIGNED_OUT``, so a signed-out or deactivated
operator's console stops receiving within one beat. A head ahead of the last event sent
(a push lost between nodes) is filled from the log before the beat goes out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest

from msa.accounts.mfa import session_is_verified
from msa.accounts.selectors import user_is_console_staff
from msa.core import clock
from msa.core.middleware import IDLE_SESSION_KEY
from msa.core.publish import local_subscribe, relay_join, relay_release
from msa.realtime.selectors import REPLAY_PAGE, events_after, last_seq
from msa.realtime.services import centre_group

log = logging.getLogger("msa.realtime")

CLOSE_FORBIDDEN = 4403
CLOSE_BAD_REQUEST = 4400
# The sign-in ended while the socket was open (signed out, idle, deactivated, revoked).
CLOSE_SIGNED_OUT = 4401
# Pushes waiting for a console that does not keep up: beyond, one is dropped; the next push
# (or the heartbeat) then sees the gap and fills it from the log, as after a lost push.
INBOX_MAX = 1000


def _since(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("since", ["0"])
    try:
        since = int(values[-1])
    except ValueError:
        return None
    return since if since >= 0 else None


def console_sign_in_holds(*, session_key: str, user_pk: int, centre_id: int) -> bool:
    """Whether the console socket's sign-in still holds, read afresh from the session store
    and the database (nothing cached from the handshake)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request = HttpRequest()
    request.session = store
    user = get_user(request)  # None when the session is gone, expired or the user inactive
    if not user.is_authenticated or user.pk != user_pk:
        return False
    last = store.get(IDLE_SESSION_KEY)
    if isinstance(last, (int, float)) and clock.now().timestamp() - last > (
        settings.MSA_SESSION_IDLE_S
    ):
        return False
    return session_is_verified(user, store) and user_is_console_staff(user, centre_id)


class ConsoleConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    centre_id: int
    last_sent: int
    group: str = ""
    beat: asyncio.Task[None] | None = None
    layer_down = False  # the last group_add failed: the outage is logged once
    # Pushes come from msa.core.publish on this loop, not through the layer
    unsubscribe: Callable[[], None] | None = None
    inbox: deque[str]
    draining: asyncio.Task[None] | None = None

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
        session = self.scope.get("session")
        allowed = (
            user is not None
            and user.is_authenticated
            and session is not None
            and bool(session.session_key)
            # the session must have passed the second factor (TOTP), as on every staff page
            and await database_sync_to_async(session_is_verified)(user, session)
            and await database_sync_to_async(user_is_console_staff)(user, self.centre_id)
        )
        if not allowed:
            # Same close for "no such centre" and "not yours".
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.session_key = str(session.session_key)
        self.user_pk = int(user.pk)
        await self.start(since)
        log.info("console_connected centre=%s since=%s", self.centre_id, since)

    async def start(self, since: int) -> None:
        """Join the centre's group, accept, say hello, replay, and start the heartbeat."""
        self.last_sent = since
        self.sending = asyncio.Lock()
        self.group = centre_group(self.centre_id)
        await self._join()
        await self.accept()
        head = await database_sync_to_async(last_seq)(centre_id=self.centre_id)
        await self.send_json({"type": "hello", "last_seq": head, "since": since})
        async with self.sending:
            await self._replay()
        self.beat = asyncio.create_task(self._heartbeat())

    async def still_allowed(self) -> bool:
        return bool(
            await database_sync_to_async(console_sign_in_holds)(
                session_key=self.session_key, user_pk=self.user_pk, centre_id=self.centre_id
            )
        )

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(settings.MSA_CONSOLE_HEARTBEAT_S)
            if not await self.still_allowed():
                log.info("console_signed_out centre=%s", self.centre_id)
                await self.close(code=CLOSE_SIGNED_OUT)
                return
            await self._join()  # Redis restarted empty, or the membership expired: join again
            head = await database_sync_to_async(last_seq)(centre_id=self.centre_id)
            async with self.sending:
                if head > self.last_sent:
                    await self._replay()
                await self.send_json({"type": "heartbeat", "last_seq": head})

    async def disconnect(self, code: int) -> None:
        if self.beat is not None and self.beat is not asyncio.current_task():
            self.beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.beat
        if self.unsubscribe is not None:
            self.unsubscribe()
            self.unsubscribe = None
        if self.draining is not None and not self.draining.done():
            self.draining.cancel()
        if self.group:
            try:
                await relay_release(self.group)
            except Exception as exc:  # noqa: BLE001 - Redis away: its subscription goes with it
                log.warning("channel_layer_unavailable error=%s", type(exc).__name__)

    async def _join(self) -> None:
        """Follow the centre's pushes (idempotent): this process's commits hand them to the
        socket directly (msa.core.publish); with Redis, this process also follows the centre's
        group there, for the other nodes' (one channel per process, not per socket). Without
        Redis answering the socket still works: the heartbeat serves it from the event log
        until a beat joins again."""
        if self.unsubscribe is None:
            self.inbox = deque()
            self.unsubscribe = local_subscribe(self.group, self._offer, now=self._push_now)
        try:
            await relay_join(self.group)
        except Exception as exc:  # noqa: BLE001 - any layer failure; the log is the backstop
            # once per outage and socket, not at every heartbeat while Redis is away
            if not self.layer_down:
                log.warning("channel_layer_unavailable error=%s", type(exc).__name__)
            self.layer_down = True
            return
        if self.layer_down:
            log.info("channel_layer_back")
        self.layer_down = False

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

    async def _deliver(self, event: dict[str, Any], text: str | None = None) -> None:
        """Send ``event`` (``text``: as the JSON it was pushed as, not encoded again)."""
        seq = int(event["seq"])
        if seq <= self.last_sent:
            return
        if text is None:
            await self.send_json(event)
        else:
            await self.send(text_data=text)
        self.last_sent = seq

    def _offer(self, payload: str) -> None:
        """A push from this process (on this loop): queued, sent in commit order by one task."""
        if len(self.inbox) >= INBOX_MAX:
            return  # the gap is filled from the log at the next push or heartbeat
        self.inbox.append(payload)
        if self.draining is None or self.draining.done():
            self.draining = asyncio.create_task(self._drain())

    async def _push_now(self, payload: str) -> None:
        """A push of a commit on this loop's own thread, sent from the committing request's
        task before the loop takes its next request; behind older pushes still queued for this
        socket, it joins them (commit order)."""
        if self.inbox or (self.draining is not None and not self.draining.done()):
            self._offer(payload)
            return
        try:
            await self.event_push({"type": "event.push", "payload": payload})
        except Exception as exc:  # noqa: BLE001 - as in _drain
            self._push_failed(exc)

    async def _drain(self) -> None:
        try:
            while self.inbox:
                await self.event_push({"type": "event.push", "payload": self.inbox.popleft()})
        except Exception as exc:  # noqa: BLE001 - logged, see _push_failed
            self._push_failed(exc)

    def _push_failed(self, exc: Exception) -> None:
        """The socket went away mid-send (its disconnect follows), or the log's replay failed:
        the next push or heartbeat tries again."""
        log.warning(
            "console_push_failed centre=%s error=%s",
            self.centre_id,
            type(exc).__name__,
            exc_info=exc,
        )

    async def event_push(self, message: dict[str, Any]) -> None:
        event = json.loads(message["payload"])
        seq = int(event["seq"])
        async with self.sending:
            if seq <= self.last_sent:
                return
            if seq > self.last_sent + 1:
                await self._replay()
                if seq <= self.last_sent:
                    return
            await self._deliver(event, message["payload"])

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Consoles act through audited HTTP requests; the socket only listens.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "last_seq": self.last_sent})
