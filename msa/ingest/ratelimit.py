"""The device API's per-device rate limit: a fixed-window counter in the database.

One row per device holds the current window number and its count. The common case is one
``UPDATE … WHERE window = current AND count < limit`` (autocommit, a row lock held for that
statement only), so it is exact across any number of server processes on PostgreSQL and on
SQLite alike, and costs one statement per request. Settings: ``MSA_DEVICE_RATE_LIMIT``
requests per ``MSA_DEVICE_RATE_WINDOW_S`` seconds.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from msa.core import clock
from msa.ingest.models import DeviceRateWindow


def rate_limit_hit(device_pk: int) -> int | None:
    """Count one request of the device; the seconds to wait when it is over the limit."""
    size = max(1, int(settings.MSA_DEVICE_RATE_WINDOW_S))
    limit = int(settings.MSA_DEVICE_RATE_LIMIT)
    now = clock.now().timestamp()
    window = int(now // size)
    rows = DeviceRateWindow.objects.filter(device_id=device_pk)
    if rows.filter(window=window, count__lt=limit).update(count=F("count") + 1):
        return None
    # Not counted: a new window, the first request ever, or over the limit.
    if rows.filter(window__lt=window).update(window=window, count=1):
        return None
    try:
        with transaction.atomic():
            DeviceRateWindow.objects.create(device_id=device_pk, window=window, count=1)
    except IntegrityError:
        # The row exists for this window: over the limit (or another process just made it).
        if rows.filter(window=window, count__lt=limit).update(count=F("count") + 1):
            return None
        return max(1, int((window + 1) * size - now) + 1)
    return None
