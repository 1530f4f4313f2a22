"""Scoped reads of the evaluation part: reviews, surveys, evidence.

``survey_safety_share`` is a statistic (counts, no person): the stats part's indicator reads it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from msa.evaluation.models import Compared, VictimSurvey


def _local_day(at: datetime, time_zone: str) -> date:
    return at.astimezone(ZoneInfo(time_zone)).date()


def survey_safety_share(
    *, start: date, end: date, zone_ids: Collection[int] | None
) -> tuple[int, int]:
    """(victims whose latest answer in the period says they feel safer, victims who answered).

    A survey is in the period when the day it was answered, in its police zone's time zone,
    is between ``start`` and ``end`` inclusive; ``zone_ids`` limits it to cases of those police
    zones (None: every zone). A victim counts once, by her latest answer in the period (her
    answers over all her cases). Probe cases are never counted."""
    if end < start:
        return 0, 0
    # a day's margin either side for the zones' time zones, then the exact local day
    lo = datetime.combine(start - timedelta(days=1), time.min, tzinfo=ZoneInfo("UTC"))
    hi = datetime.combine(end + timedelta(days=2), time.min, tzinfo=ZoneInfo("UTC"))
    rows = VictimSurvey.objects.filter(
        answered_at__gte=lo, answered_at__lt=hi, case__is_probe=False
    )
    if zone_ids is not None:
        rows = rows.filter(case__police_zone_id__in=list(zone_ids))
    latest: dict[int, tuple[datetime, int, str]] = {}
    for victim_id, answered_at, pk, compared, time_zone in rows.values_list(
        "case__victim_id", "answered_at", "pk", "compared", "case__police_zone__time_zone"
    ):
        if not start <= _local_day(answered_at, time_zone) <= end:
            continue
        known = latest.get(victim_id)
        if known is None or (answered_at, pk) > known[:2]:
            latest[victim_id] = (answered_at, pk, compared)
    safer = sum(1 for _at, _pk, compared in latest.values() if compared == Compared.SAFER)
    return safer, len(latest)
