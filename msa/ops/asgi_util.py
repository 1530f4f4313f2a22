"""The few bytes of ASGI the operations endpoints need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import connections

T = TypeVar("T")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def respond(
    send: Send, status: int, body: bytes, content_type: str, *, head: bool = False
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


def header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def in_own_connection(fn: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """``fn`` in a worker thread, on a connection closed (returned to the pool) afterwards:
    these endpoints run outside Django's request cycle, which would otherwise close it."""

    def run() -> T:
        try:
            return fn()
        finally:
            connections["default"].close()

    return sync_to_async(run, thread_sensitive=False)
