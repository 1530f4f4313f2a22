"""The ASGI entry point: HTTP through Django, WebSockets through Channels.

Machine endpoints (phones, SMS gateways, AVL feeds, integrations) authenticate each request
by signature or bearer token: they get a lean Django handler without the session, CSRF,
message, second-factor, lock-out, CSP and time-zone middleware that staff pages need. The
device API is the hot path (design.md section 5).
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "msa.settings")

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()

import asyncio  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
from typing import Any  # noqa: E402

from django.urls import get_resolver  # noqa: E402

from msa.core.bodylimit import body_limited  # noqa: E402
from msa.ingest.device_api import PREFIX as DEVICE_API_PREFIX  # noqa: E402
from msa.ingest.device_api import api as device_api  # noqa: E402
from msa.ingest.machine_asgi import OneHopMachineHandler  # noqa: E402
from msa_protocol import MAX_BODY_BYTES  # noqa: E402

log = logging.getLogger("msa.asgi")

MACHINE_PREFIXES = ("/api/device/", "/api/sms/", "/api/unit/", "/api/cic/")
MACHINE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",  # host check, Content-Length
]


# The lean chain and the view run in one hop to a pool thread that keeps its connection
# (msa.ingest.machine_asgi). Bodies over the protocol's 64 KiB are refused before they are
# read (msa.core.bodylimit).
# The device API (the hot path) is answered below Django's handler and ninja's generic
# operation, with the same middleware, checks and answers (msa.ingest.device_route).
machine_handler = OneHopMachineHandler(MACHINE_MIDDLEWARE, direct=(DEVICE_API_PREFIX, device_api))
machine_asgi = body_limited(machine_handler, MAX_BODY_BYTES)


from msa.ops.health import healthz, readyz  # noqa: E402
from msa.ops.metrics import metrics  # noqa: E402

# Health, readiness and metrics: plain ASGI, before Django's request machinery (cheap enough
# for a load balancer's probe every second; no session, no host check, no personal data).
OPS_ENDPOINTS = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}


async def http_router(scope: dict[str, Any], receive: Any, send: Any) -> None:
    ops = OPS_ENDPOINTS.get(scope["path"])
    if ops is not None:
        await ops(scope, receive, send)
    elif scope["path"].startswith(MACHINE_PREFIXES):
        await machine_asgi(scope, receive, send)
    else:
        await django_asgi(scope, receive, send)


from msa.realtime.routing import (  # noqa: E402
    console_websocket_urlpatterns,
    machine_websocket_urlpatterns,
)

console_ws = AllowedHostsOriginValidator(
    AuthMiddlewareStack(URLRouter(console_websocket_urlpatterns))
)
machine_ws = URLRouter(machine_websocket_urlpatterns)


async def websocket_router(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["path"].startswith("/ws/cic/"):
        await machine_ws(scope, receive, send)
    else:
        await console_ws(scope, receive, send)


def server_ready() -> None:
    """Before the first request: import the URLconf (every app's views: about a second, not to
    be spent inside the first press), then move every object the start made, some 170,000, to
    the collector's permanent generation: a full collection scanned them all, a 30 ms pause of
    every request in flight each time (docs/performance.md, step 13)."""
    get_resolver().url_patterns  # noqa: B018 - imported for its side effect
    gc.collect()
    gc.freeze()


async def lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The server's start and stop (the ASGI lifespan protocol: uvicorn, once per process)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            server_ready()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                machine_handler.release_loop_connection()
                # the machine threads' kept connections go back (PostgreSQL: to the pool, with
                # the defaults), not cut when the process ends
                await asyncio.wait_for(asyncio.to_thread(machine_handler.release_connections), 10)
            except Exception:  # a database already gone: the process ends anyway
                log.warning("machine_connections_not_released", exc_info=True)
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {"http": http_router, "websocket": websocket_router, "lifespan": lifespan}
)
