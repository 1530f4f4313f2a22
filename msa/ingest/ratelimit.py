"""The device API's per-device rate limits: fixed-window counters in the database.

Two buckets, each one row per device holding the current window number and its count:

- the general bucket (``DeviceRateWindow``, ``MSA_DEVICE_RATE_LIMIT`` per
  ``MSA_DEVICE_RATE_WINDOW_S``): the follow-ups of an alarm that is not open (closed, or not
  this device's). The follow-ups of an **open** alarm (positions, call, cancel) and new alarms
  are never counted: no flood of anything else can make a duress cancel answer 429;
- the heartbeat bucket (``HeartbeatRateWindow``, ``MSA_HEARTBEAT_RATE_LIMIT`` per window):
  heartbeats only. An exact replay of the last heartbeat counted (the same signature, hence the
  same timestamp and body, within the clock-skew window) is answered without counting.

The common case is one ``UPDATE … WHERE window = current AND count < limit`` (autocommit, a row
lock held for that statement only; for heartbeats the replay check is in the same statement), so
it is exact across any number of server processes on PostgreSQL and on SQLite alike, and costs
one statement per request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from msa.core import clock
from msa.core.sql import Statement
from msa.ingest.models import DeviceRateWindow, HeartbeatRateWindow

# The heartbeat's common case in one statement (prepared once: msa.core.sql): a replay of the
# last beat counted leaves the count as it is, any other beat of this window under the limit
# counts one.
_HEARTBEAT_COUNTED = Statement(
    HeartbeatRateWindow,
    "UPDATE {table} SET {count} = CASE WHEN {last_signature} = %s THEN {count} "
    "ELSE {count} + 1 END, {last_signature} = %s "
    "WHERE {device} = %s AND ({last_signature} = %s OR ({window} = %s AND {count} < %s))",
    writes=["last_signature", "last_signature", "device", "last_signature", "window", "count"],
)


def _hit(
    model: type[DeviceRateWindow] | type[HeartbeatRateWindow],
    device_pk: int,
    limit: int,
    *,
    counted: bool = False,
    **mark: str,
) -> int | None:
    """``counted``: the caller already tried the common case (this window, under the limit)."""
    size = max(1, int(settings.MSA_DEVICE_RATE_WINDOW_S))
    now = clock.now().timestamp()
    window = int(now // size)
    rows = model.objects.filter(device_id=device_pk)
    if not counted and rows.filter(window=window, count__lt=limit).update(
        count=F("count") + 1, **mark
    ):
        return None
    # Not counted: a new window, the first request ever, or over the limit.
    if rows.filter(window__lt=window).update(window=window, count=1, **mark):
        return None
    try:
        with transaction.atomic():
            model.objects.create(device_id=device_pk, window=window, count=1, **mark)
    except IntegrityError:
        # The row exists for this window: over the limit (or another process just made it).
        if rows.filter(window=window, count__lt=limit).update(count=F("count") + 1, **mark):
            return None
        return max(1, int((window + 1) * size - now) + 1)
    return None


def rate_limit_hit(device_pk: int) -> int | None:
    """Count one request of the general bucket; the seconds to wait when over the limit."""
    return _hit(DeviceRateWindow, device_pk, int(settings.MSA_DEVICE_RATE_LIMIT))


def heartbeat_rate_hit(device_pk: int, signature: str) -> int | None:
    """Count one heartbeat, unless it is an exact replay of the last one counted (its
    signature covers the timestamp and the body); the seconds to wait when over the limit."""
    limit = int(settings.MSA_HEARTBEAT_RATE_LIMIT)
    window = int(clock.now().timestamp() // max(1, int(settings.MSA_DEVICE_RATE_WINDOW_S)))
    if _HEARTBEAT_COUNTED.rowcount(signature, signature, device_pk, signature, window, limit):
        return None
    return _hit(HeartbeatRateWindow, device_pk, limit, counted=True, last_signature=signature)
