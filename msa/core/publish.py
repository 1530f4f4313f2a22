"""Side effects after commit, through one helper.

A live event pushed before its transaction commits could show a console an incident that
then rolls back; one pushed from inside the transaction cannot be taken back. So the
payload is serialised now and handed to the channel layer only once the commit succeeded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger("msa.publish")


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The event is in the persisted log: a console that misses the push replays it.
        log.exception("publish_failed group=%s type=%s", group, message.get("type"))


def publish_on_commit(group: str, payload: Mapping[str, Any]) -> None:
    """Send ``payload`` to the channel-layer ``group`` after the current transaction commits."""
    frozen = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    message = {"type": "event.push", "payload": frozen}
    transaction.on_commit(lambda: _send(group, message), robust=True)
