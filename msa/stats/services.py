"""The statistics part's writes: the audit row of every look at, and export of, the figures."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from msa.audit.services import audit_record
from msa.core.actors import Actor
from msa.stats.areas import Area
from msa.stats.indicators import Period


@transaction.atomic
def stats_read_record(
    *, actor: Actor, what: str, period: Period, area: Area, extra: dict[str, Any] | None = None
) -> None:
    """Audit one reading or export of statistics (``what``: view, csv, pdf, plot, json,
    research): who, which period, which area and zones."""
    audit_record(
        actor=actor,
        action=f"stats.{what}",
        subject_type="stats.indicators",
        subject_id=area.code or "all",
        new={
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "area": area.code,
            "zones": len(area.zone_ids),
            **(extra or {}),
        },
    )
