"""An ASGI wrapper that refuses a request body over a limit before reading it.

Django's ASGI handler reads the whole body (into memory or a temporary file) before any view
runs, so a view's own size check came after a 100 MiB upload had been read. In front of the
machine endpoints this wrapper answers 413 ``too_large`` in the protocol's error envelope at
once when ``Content-Length`` says the body is over the limit, and, for a body sent without a
length (chunked), as soon as the bytes received pass the limit. A body within the limit is
handed on to the application as one message.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Any, Any, Any], Awaitable[None]]  # an ASGI application (Django's is typed apart)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def body_limited(app: App, max_bytes: int) -> App:
    """``app`` behind a body limit of ``max_bytes`` (HTTP only)."""
    too_large = f"the body is over {max_bytes // 1024} KiB"

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                if not value.isdigit():
                    await _refuse(send, 400, "malformed", "the Content-Length is not a number")
                    return
                if len(value) > 12 or int(value) > max_bytes:
                    await _refuse(send, 413, "too_large", too_large)
                    return
        chunks: list[bytes] = []
        size = 0
        tail: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                tail = message  # the client went away: hand that on
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await _refuse(send, 413, "too_large", too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks)}]
        if tail is not None:
            pending.append(tail)

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await app(scope, replay, send)

    return limited
