"""``GET /healthz`` and ``GET /readyz``: unauthenticated, cheap, no personal data.

``/healthz`` says that the process answers (nothing else is touched): a supervisor restarts a
process that stops answering it. ``/readyz`` says whether this node can do its work: the
database answers, the channel layer carries a message, and the worker's timer loop has beaten
within ``MSA_READY_WORKER_MAX_AGE_S`` (escalations fire), and the centre's path-monitoring
probe is in order (``msa.worker.probe``: its newest synthetic alarm came back in time; no probe
enrolled is in order); 503 when one fails, so that the load balancer sends phones and
consoles elsewhere. The answer names checks and figures only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
import weakref
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections
from django.db.models import Max

from msa.core import clock
from msa.ops.asgi_util import Receive, Scope, Send, in_own_connection, respond
from msa.worker.models import WorkerHeartbeat
from msa.worker.probe import probe_health

log = logging.getLogger("msa.ops")

CHANNEL_LAYER_TIMEOUT_S = 1.0
JSON = "application/json"


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def probe_check() -> dict[str, Any]:
    """Every enrolled probe path in order (none enrolled: in order, and said so)."""
    paths = probe_health()
    ok = all(p.ok for p in paths)
    if not ok:
        log.warning(
            "ready_check_failed check=probe paths=%s",
            ",".join(f"{p.centre_id}:{p.path}:{p.status}" for p in paths if not p.ok),
        )
    return {
        "ok": ok,
        "enrolled": len({p.centre_id for p in paths}),
        "paths": [
            {"centre": p.centre_id, "path": p.path, "status": p.status, "age_s": p.age_s}
            for p in paths
        ],
    }


def database_and_worker() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """One connection: ``SELECT 1``, the newest heartbeat of each worker loop, the probe."""
    started = time.perf_counter()
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
        database = {"ok": True, "ms": _ms(started)}
        beats = {
            row["loop"]: row["at"]
            for row in WorkerHeartbeat.objects.values("loop").annotate(at=Max("beat_at"))
        }
    except Exception as exc:  # noqa: BLE001 - any failure is the answer: not ready
        log.warning("ready_check_failed check=database error=%s", type(exc).__name__)
        return (
            {"ok": False, "ms": _ms(started), "error": type(exc).__name__},
            {"ok": False, "error": "database"},
            {"ok": False, "error": "database"},
        )
    now = clock.now()
    ages = {loop: round(max(0.0, (now - at).total_seconds()), 1) for loop, at in beats.items()}
    limit = settings.MSA_READY_WORKER_MAX_AGE_S
    worker: dict[str, Any] = {
        "ok": "fast" in ages and ages["fast"] <= limit,
        "heartbeat_age_s": ages,
        "max_age_s": limit,
    }
    if not worker["ok"]:
        log.warning("ready_check_failed check=worker age_s=%s", ages.get("fast"))
    try:
        probe = probe_check()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer: not ready
        probe = {"ok": False, "error": type(exc).__name__}
    return database, worker, probe


class _Probe:
    """The channel of this event loop's probes (one, reused: a pub/sub layer subscribes Redis
    to every new channel, and a load balancer asks every second), and the lock that lets one
    probe use it at a time."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.channel = ""


_probes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Probe] = weakref.WeakKeyDictionary()


async def channel_layer_check() -> dict[str, Any]:
    """A message through the channel layer to a channel of our own, and back."""
    started = time.perf_counter()
    probe = _probes.setdefault(asyncio.get_running_loop(), _Probe())
    try:
        layer = get_channel_layer()
        if layer is None:
            return {"ok": False, "error": "not_configured"}
        token = uuid.uuid4().hex
        async with asyncio.timeout(CHANNEL_LAYER_TIMEOUT_S), probe.lock:
            if not probe.channel:
                probe.channel = await layer.new_channel()
            await layer.send(probe.channel, {"type": "ops.ping", "token": token})
            # a late answer to an earlier probe that gave up may come first
            while (await layer.receive(probe.channel)).get("token") != token:
                pass
    except Exception as exc:  # noqa: BLE001 - any failure is the answer: not ready
        probe.channel = ""  # a receive cut short may have ended its subscription: a new one
        log.warning("ready_check_failed check=channel_layer error=%s", type(exc).__name__)
        return {"ok": False, "ms": _ms(started), "error": type(exc).__name__}
    return {"ok": True, "ms": _ms(started)}


async def readiness() -> dict[str, Any]:
    (database, worker, probe), layer = await asyncio.gather(
        in_own_connection(database_and_worker)(), channel_layer_check()
    )
    checks = {"database": database, "channel_layer": layer, "worker": worker, "probe": probe}
    return {"ready": all(c["ok"] for c in checks.values()), **checks}


def _method_ok(scope: Scope) -> bool:
    return scope.get("method") in {"GET", "HEAD"}


async def healthz(scope: Scope, receive: Receive, send: Send) -> None:
    if not _method_ok(scope):
        await respond(send, 405, b'{"error": "method_not_allowed"}', JSON)
        return
    await respond(send, 200, b'{"alive": true}', JSON, head=scope["method"] == "HEAD")


async def readyz(scope: Scope, receive: Receive, send: Send) -> None:
    if not _method_ok(scope):
        await respond(send, 405, b'{"error": "method_not_allowed"}', JSON)
        return
    answer = await readiness()
    body = json.dumps(answer, sort_keys=True).encode()
    await respond(send, 200 if answer["ready"] else 503, body, JSON, head=scope["method"] == "HEAD")
