"""The floor of design.md section 5: a bare ASGI handler that commits one row durably and
sends one WebSocket message per request. Nothing of MSA; run under uvicorn like MSA.

    uvicorn bench.floor_app:app --port 8901   (FLOOR_DB=path.sqlite3, or a postgres:// URL)
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from typing import Any

DB = os.environ.get("FLOOR_DB", "floor.sqlite3")
_local = threading.local()
_create = threading.Lock()  # two threads creating the table at once race
_sockets: set[Any] = set()


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        if DB.startswith("postgres"):
            import psycopg  # noqa: PLC0415 - optional driver, --postgres only

            conn = psycopg.connect(DB)
            with _create:
                conn.execute("CREATE TABLE IF NOT EXISTS floor (id serial PRIMARY KEY, body text)")
                conn.commit()
        else:
            conn = sqlite3.connect(DB, check_same_thread=False)
            # Switching to WAL needs the database to itself: two threads' first requests at
            # once answered "database is locked" (the busy handler does not cover it).
            with _create:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS floor (id integer PRIMARY KEY, body text)")
                conn.commit()
        _local.conn = conn
    return conn


def _store(body: bytes) -> int:
    conn = _connection()
    if DB.startswith("postgres"):
        cur = conn.execute("INSERT INTO floor (body) VALUES (%s) RETURNING id", (body.decode(),))
        row = int(cur.fetchone()[0])
    else:
        row = int(conn.execute("INSERT INTO floor (body) VALUES (?)", (body.decode(),)).lastrowid)
    conn.commit()
    return row


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        _sockets.add(send)
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            _sockets.discard(send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    row = await asyncio.to_thread(_store, body)
    payload = json.dumps({"seq": row}).encode()
    for socket in list(_sockets):
        await socket({"type": "websocket.send", "text": payload.decode()})
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(payload)),
            ],
        },
    )
    await send({"type": "http.response.body", "body": payload})
