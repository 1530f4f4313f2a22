"""The integration feed's WebSocket: ``/ws/cic/v1/events?since=<seq>``.

The same events as the console, from the same per-centre log, for the centre's own
dispatch system. It authenticates with a bearer token of kind ``integration`` in the
``Authorization`` header of the handshake; the token is scoped to one CIC, and checked
again on every heartbeat: a revoked token's socket is closed (``CLOSE_SIGNED_OUT``).
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async

from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_authenticate
from msa.realtime.consumers import CLOSE_BAD_REQUEST, CLOSE_FORBIDDEN, ConsoleConsumer, _since

log = logging.getLogger("msa.realtime")


def _bearer(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def _centre_of_token(presented: str) -> int | None:
    token = token_authenticate(TokenKind.INTEGRATION, presented) if presented else None
    return token.organisation_id if token is not None else None


class IntegrationConsumer(ConsoleConsumer):
    presented: str = ""

    async def connect(self) -> None:
        since = _since(self.scope.get("query_string", b""))
        if since is None:
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        self.presented = _bearer(self.scope.get("headers", []))
        centre_id = await database_sync_to_async(_centre_of_token)(self.presented)
        if centre_id is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.centre_id = centre_id
        await self.start(since)
        log.info("integration_connected centre=%s since=%s", centre_id, since)

    async def still_allowed(self) -> bool:
        centre_id: int | None = await database_sync_to_async(_centre_of_token)(self.presented)
        return centre_id == self.centre_id
