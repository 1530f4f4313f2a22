"""Reading the event log for replay."""

from __future__ import annotations

from typing import Any

from msa.realtime.events import wire
from msa.realtime.models import EventStream, IncidentEvent

REPLAY_PAGE = 500


def events_after(*, centre_id: int, since: int, limit: int = REPLAY_PAGE) -> list[dict[str, Any]]:
    rows = IncidentEvent.objects.filter(centre_id=centre_id, seq__gt=since).order_by("seq")[:limit]
    return [wire(r.seq, r.type, r.payload) for r in rows]


def last_seq(*, centre_id: int) -> int:
    value = EventStream.objects.filter(centre_id=centre_id).values_list("last_seq", flat=True)
    return next(iter(value), 0)
