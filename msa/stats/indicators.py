"""The evaluation indicators of a period and an area, computed from the milestone timestamps
and states of cases, loans, incidents and device-health episodes (nothing is stored twice).

``indicators_compute`` is the one entry point; its result is typed (``Indicators``) and
``Indicators.as_json()`` gives one key per indicator, each defined in docs/indicators.md.
Percentiles and shares are computed in Python over the values one query returns, so the SQL
is the same on SQLite and PostgreSQL. Probe cases and the probe lane are never counted.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    DateTimeField,
    ExpressionWrapper,
    FloatField,
    Func,
    IntegerField,
    Q,
    TextField,
    Value,
)
from django.db.models.functions import Cast

from msa.accounts.models import Organisation
from msa.alarms.models import Incident, RepeatPress
from msa.alarms.states import CallState, Channel, Lane, Outcome, Trigger
from msa.cases.models import CaseTransition, ProtectionCase, RiskAssessment
from msa.devices.models import DeviceHealthIssue, InventoryItem, ItemKind, Loan
from msa.devices.states import ItemStatus
from msa.evaluation.selectors import survey_safety_share
from msa.stats.areas import Area

ACK_TARGET_S = 30
ON_SCENE_TARGET_S = 600
FALSE_OUTCOMES = frozenset({Outcome.FALSE_MISPRESS, Outcome.FALSE_TEST, Outcome.FALSE_TECHNICAL})
SMS_CHANNELS = frozenset({Channel.SMS, Channel.UNVERIFIED_SMS})
OUT_OF_SERVICE = frozenset({ItemStatus.LOST, ItemStatus.IN_REPAIR, ItemStatus.RETIRED})
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive

    def bounds(self) -> tuple[datetime, datetime]:
        """[first instant, instant after the last day) in the deployment's time zone."""
        tz = ZoneInfo(settings.MSA_TIME_ZONE)
        lo = datetime.combine(self.start, time.min, tzinfo=tz).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
        return lo, hi


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds from receipt to a milestone: nearest-rank percentiles, and the share of the
    incidents it is expected of that reached it within each target."""

    n: int
    expected: int
    p50_s: float | None
    p90_s: float | None
    p99_s: float | None
    share_within_30s: float | None
    share_within_10min: float | None


@dataclass(frozen=True, slots=True)
class Breach:
    reference: str
    zone: str
    received_at: str
    on_scene_s: float | None
    outcome: str


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: str  # YYYY-MM
    alarms_live: int
    alarms_genuine: int
    alarms_test: int
    interventions: int
    arrests: int
    ack_p90_s: float | None
    on_scene_p90_s: float | None


@dataclass(frozen=True, slots=True)
class ZoneRow:
    zone: str
    alarms_live: int
    alarms_genuine: int
    interventions: int
    arrests: int
    on_scene_breaches: int


@dataclass(frozen=True, slots=True)
class Indicators:
    period_from: str
    period_to: str
    area: str
    area_kind: str
    zones: list[str]
    # devices (alarm sets, counted by their button)
    devices_in_stock: int
    devices_on_loan: int
    devices_loaned_in_period: int
    devices_active: int
    devices_idle: int
    device_months: float
    # cases
    cases_by_state: dict[str, int]
    cases_protected: int
    cases_by_risk_level: dict[str, int]
    cases_started: int
    cases_ended: int
    cases_ended_by_reason: dict[str, int]
    protection_days_p50: float | None
    protection_days_mean: float | None
    protection_days_max: float | None
    # alarms
    alarms_live: int
    alarms_genuine: int
    alarms_test: int
    alarms_mispress: int
    alarms_false_test: int
    alarms_false_technical: int
    alarms_cancelled: int
    alarms_duress: int
    alarms_ghost_call: int
    alarms_sms_only: int
    alarms_unverified_sms: int
    alarms_aml: int
    repeat_presses: int
    alarms_per_device_month: float | None
    # interventions and outcomes
    interventions: int
    arrests_on_scene: int
    arrests_later: int
    violence_before_arrival: int
    victim_injured: int
    # response times
    time_to_acknowledge: Durations
    time_to_on_scene: Durations
    on_scene_breaches: list[Breach]
    # device health
    device_health_incidents: int
    device_health_by_problem: dict[str, int]
    # the victims' sense of safety
    victims_surveyed: int
    victims_feeling_safer: int
    share_feeling_safer: float | None
    # series for the plots
    by_month: list[MonthRow] = field(default_factory=list)
    by_zone: list[ZoneRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least p % of the values at or below
    it); None for no value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _share(hits: int, of: int) -> float | None:
    return round(hits / of, 4) if of else None


def _durations(seconds: list[float], expected: int) -> Durations:
    return Durations(
        n=len(seconds),
        expected=expected,
        p50_s=percentile(seconds, 50),
        p90_s=percentile(seconds, 90),
        p99_s=percentile(seconds, 99),
        share_within_30s=_share(sum(1 for s in seconds if s <= ACK_TARGET_S + EPS), expected),
        share_within_10min=_share(
            sum(1 for s in seconds if s <= ON_SCENE_TARGET_S + EPS), expected
        ),
    )


class Seconds(Func):
    """Seconds from the second expression to the first (NULL when either is NULL), computed
    by the database: no row's timestamps are turned into Python datetimes."""

    arity = 2
    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM (%(expressions)s)) AS double precision)",
            arg_joiner=" - ",
            **extra,
        )


DATA_ONLY = (Channel.DATA.value,)
_RAW_DATA_ONLY = frozenset({'["data"]'})


# SQLite's julianday is a float of days: its seconds can be a few microseconds off, so a
# comparison with a target allows a millisecond
EPS = 0.001


@dataclass(slots=True)
class _Row:
    """One incident, its times in seconds: ``t`` from the period's start to receipt, the
    milestones from receipt (None: not reached)."""

    pk: int
    reference: str
    lane: str
    channels: tuple[str, ...]
    call_state: str
    t: float
    ack_s: float | None
    dispatch_s: float | None
    on_scene_s: float | None
    duress: bool
    cancelled: bool
    outcome: str
    violence_before_arrival: bool | None
    victim_injured: bool | None
    zone_id: int
    case_id: int
    genuine: bool
    arrested: bool
    dispatched: bool

    def breached(self, now_t: float) -> bool:
        """Dispatched, and no unit on scene within 10 minutes of receipt (``now_t``: now, in
        seconds from the period's start)."""
        if not self.dispatched:
            return False
        if self.on_scene_s is not None:
            return self.on_scene_s > ON_SCENE_TARGET_S + EPS
        return now_t - self.t > ON_SCENE_TARGET_S


def _row(values: tuple[Any, ...]) -> _Row:
    (
        pk,
        reference,
        lane,
        trigger,
        raw_channels,
        call_state,
        t,
        ack,
        dispatch,
        on_scene,
        cancel_s,
        duress_s,
        outcome,
        violence,
        injured,
        zone_id,
        case_id,
    ) = values
    channels = DATA_ONLY if raw_channels in _RAW_DATA_ONLY else tuple(json.loads(raw_channels))
    duress = trigger == Trigger.DURESS or bool(duress_s)
    cancelled = bool(cancel_s) and not duress
    return _Row(
        pk=pk,
        reference=reference,
        lane=lane,
        channels=channels,
        call_state=call_state,
        t=t,
        ack_s=ack,
        dispatch_s=dispatch,
        on_scene_s=on_scene,
        duress=duress,
        cancelled=cancelled,
        outcome=outcome,
        violence_before_arrival=None if violence is None else bool(violence),
        victim_injured=None if injured is None else bool(injured),
        zone_id=zone_id,
        case_id=case_id,
        genuine=outcome not in FALSE_OUTCOMES and not cancelled,
        arrested=outcome in (Outcome.ARRESTED_ON_SCENE, Outcome.ARRESTED_LATER),
        dispatched=dispatch is not None,
    )


def _incident_rows(lo: datetime, hi: datetime, zones: Iterable[int]) -> list[_Row]:
    """The incidents received in [lo, hi) in ``zones`` (live and test lanes, no probe case):
    one query whose times are seconds, so that 50,000 rows cost no datetime conversions."""
    start = Value(lo, output_field=DateTimeField())
    qs = (
        Incident.objects.filter(
            received_at__gte=lo,
            received_at__lt=hi,
            lane__in=(Lane.LIVE, Lane.TEST),
            case__police_zone_id__in=list(zones),
            case__is_probe=False,
        )
        .annotate(
            ch=Cast("channels", TextField()),
            t=Seconds("received_at", start),
            ack_s=Seconds("acknowledged_at", "received_at"),
            dispatch_s=Seconds("dispatched_at", "received_at"),
            on_scene_s=Seconds("on_scene_at", "received_at"),
            cancel_s=ExpressionWrapper(
                Q(victim_cancelled_at__isnull=False), output_field=BooleanField()
            ),
            duress_s=ExpressionWrapper(Q(duress_at__isnull=False), output_field=BooleanField()),
            # 0/1/NULL: no boolean converter per row
            violence=Cast("violence_before_arrival", IntegerField()),
            injured=Cast("victim_injured", IntegerField()),
        )
        .order_by("received_at", "pk")
    )
    columns = (
        "pk",
        "reference",
        "lane",
        "trigger",
        "ch",
        "call_state",
        "t",
        "ack_s",
        "dispatch_s",
        "on_scene_s",
        "cancel_s",
        "duress_s",
        "outcome",
        "violence",
        "injured",
        "case__police_zone_id",
        "case_id",
    )
    # Django's SQL for the vendor, read through the cursor: the values are plain floats, ints
    # and strings already, and 50,000 rows skip Django's per-row converters
    sql, params = qs.values_list(*columns).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_row(values) for values in cursor.fetchall()]


def _months(period: Period, lo: datetime) -> tuple[list[float], list[str]]:
    """The months of the period: their first instants in seconds from ``lo`` (local months
    of MSA_TIME_ZONE), and their names."""
    tz = ZoneInfo(settings.MSA_TIME_ZONE)
    starts: list[float] = []
    names: list[str] = []
    year, month = period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        first = max(datetime(year, month, 1, tzinfo=tz).astimezone(UTC), lo)
        starts.append((first - lo).total_seconds())
        names.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts, names


def _overlap_days(a0: datetime, a1: datetime | None, b0: datetime, b1: datetime) -> float:
    start, end = max(a0, b0), min(a1 or b1, b1)
    return max(0.0, (end - start).total_seconds() / 86400)


def _devices(
    lo: datetime, hi: datetime, zones: frozenset[int], used_cases: set[int]
) -> dict[str, Any]:
    loans = list(
        Loan.objects.filter(
            item__kind=ItemKind.BUTTON,
            case__police_zone_id__in=list(zones),
            case__is_probe=False,
            loaned_at__lt=hi,
        )
        .exclude(returned_at__lt=lo)
        .values_list("item_id", "case_id", "loaned_at", "returned_at")
    )
    on_loan = {item for item, _c, _at, back in loans if back is None or back >= hi}
    loaned = {item for item, *_ in loans}
    active = {item for item, case, *_ in loans if case in used_cases}
    device_days = sum(_overlap_days(at, back, lo, hi) for _i, _c, at, back in loans)
    districts = set(
        Organisation.objects.filter(
            pk__in=list(zones), prosecutor_office__isnull=False
        ).values_list("prosecutor_office_id", flat=True)
    )
    stock_items = set(
        InventoryItem.objects.filter(
            kind=ItemKind.BUTTON, district_id__in=districts, added_at__lt=hi
        )
        .exclude(status__in=list(OUT_OF_SERVICE))
        .values_list("pk", flat=True)
    )
    lent_at_end = set(
        Loan.objects.filter(item_id__in=stock_items, loaned_at__lt=hi)
        .exclude(returned_at__lt=hi)
        .values_list("item_id", flat=True)
    )
    return {
        "devices_in_stock": len(stock_items - lent_at_end),
        "devices_on_loan": len(on_loan),
        "devices_loaned_in_period": len(loaned),
        "devices_active": len(active),
        "devices_idle": len(loaned - active),
        "device_months": round(device_days / DAYS_PER_MONTH, 3),
        "_device_months_exact": device_days / DAYS_PER_MONTH,
    }


def _cases(lo: datetime, hi: datetime, zones: frozenset[int]) -> dict[str, Any]:
    cases = ProtectionCase.objects.filter(police_zone_id__in=list(zones), is_probe=False)
    # the last transition before the end of the period wins (ordered by time)
    state_at_end: dict[int, str] = dict(
        CaseTransition.objects.filter(subject__in=cases, at__lt=hi)
        .order_by("subject_id", "at", "pk")
        .values_list("subject_id", "to_state")
    )
    protected = list(
        cases.filter(activated_at__lt=hi).exclude(ended_at__lt=lo).values_list("pk", "activated_at")
    )
    protected_ids = [pk for pk, _at in protected]
    level: dict[int, str] = dict(
        RiskAssessment.objects.filter(case_id__in=protected_ids, assessed_at__lt=hi)
        .order_by("case_id", "assessed_at", "pk")
        .values_list("case_id", "level")
    )
    ended = list(
        cases.filter(ended_at__gte=lo, ended_at__lt=hi).values_list(
            "activated_at", "ended_at", "end_reason"
        )
    )
    days = [(end - start).total_seconds() / 86400 for start, end, _r in ended if start and end]
    return {
        "cases_by_state": dict(sorted(Counter(state_at_end.values()).items())),
        "cases_protected": len(protected),
        "cases_by_risk_level": dict(
            sorted(Counter(level.get(pk, "unassessed") for pk in protected_ids).items())
        ),
        "cases_started": sum(1 for _pk, at in protected if at is not None and at >= lo),
        "cases_ended": len(ended),
        "cases_ended_by_reason": dict(
            sorted(Counter(reason or "unstated" for *_t, reason in ended).items())
        ),
        "protection_days_p50": percentile(days, 50),
        "protection_days_mean": round(sum(days) / len(days), 1) if days else None,
        "protection_days_max": round(max(days), 1) if days else None,
    }


@dataclass
class _Tally:
    count: Counter[str] = field(default_factory=Counter)
    months: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_zone: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    month_ack: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    month_scene: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    ack: list[float] = field(default_factory=list)
    on_scene: list[float] = field(default_factory=list)
    breached: list[_Row] = field(default_factory=list)
    used_cases: set[int] = field(default_factory=set)


def _tally(
    rows: list[_Row], month_starts: list[float], month_names: list[str], now_t: float
) -> _Tally:
    """One pass over the rows: the totals, each month's and each zone's counts, the seconds
    to each milestone, the breaches, and the cases that raised a live alarm."""
    t = _Tally()
    for r in rows:
        month = month_names[max(0, bisect_right(month_starts, r.t) - 1)]
        m = t.months[month]
        if r.lane != Lane.LIVE:
            t.count["test"] += 1
            m["test"] += 1
            continue
        z = t.per_zone[r.zone_id]
        t.used_cases.add(r.case_id)
        breached = r.breached(now_t)
        # the counts kept for the total, the month and the zone alike
        for counter in (t.count, m, z):
            counter["live"] += 1
            counter["genuine"] += r.genuine
            counter["arrests"] += r.arrested
            counter["dispatched"] += r.dispatched
            counter["breached"] += breached
        c = t.count
        c[r.outcome] += 1
        c["cancelled"] += r.cancelled
        c["duress"] += r.duress
        c["ghost"] += r.call_state == CallState.GHOST
        c["sms_only"] += bool(r.channels) and set(r.channels) <= SMS_CHANNELS
        c["unverified_sms"] += Channel.UNVERIFIED_SMS in r.channels
        c["aml"] += Channel.AML in r.channels
        c["violence"] += bool(r.violence_before_arrival)
        c["injured"] += bool(r.victim_injured)
        if r.ack_s is not None:
            t.ack.append(r.ack_s)
            t.month_ack[month].append(r.ack_s)
        if r.dispatched and r.on_scene_s is not None:
            t.on_scene.append(r.on_scene_s)
            t.month_scene[month].append(r.on_scene_s)
        if breached:
            t.breached.append(r)
    return t


def indicators_compute(*, period: Period, area: Area, now: datetime) -> Indicators:
    """Every indicator of ``period`` in ``area`` (its zones already cut to what the reader may
    read: see msa.stats.areas). ``now`` decides whether a dispatched incident with no unit on
    scene yet has missed the 10-minute target."""
    lo, hi = period.bounds()
    now_t = (now - lo).total_seconds()
    zones = area.zone_ids
    zone_codes = dict(Organisation.objects.filter(pk__in=list(zones)).values_list("pk", "code"))
    rows = _incident_rows(lo, hi, zones)
    month_starts, month_names = _months(period, lo)
    t = _tally(rows, month_starts, month_names, now_t)
    count, months, per_zone = t.count, t.months, t.per_zone
    month_ack, month_scene, ack, on_scene = t.month_ack, t.month_scene, t.ack, t.on_scene
    breached, used_cases = t.breached, t.used_cases
    breaches = [
        Breach(
            reference=r.reference,
            zone=zone_codes.get(r.zone_id, ""),
            received_at=(lo + timedelta(seconds=round(r.t, 3))).isoformat(),
            on_scene_s=None if r.on_scene_s is None else round(r.on_scene_s, 1),
            outcome=r.outcome,
        )
        for r in breached
    ]
    repeats = RepeatPress.objects.filter(
        incident__received_at__gte=lo,
        incident__received_at__lt=hi,
        incident__lane=Lane.LIVE,
        incident__case__police_zone_id__in=list(zones),
        incident__case__is_probe=False,
    ).count()
    devices = _devices(lo, hi, zones, used_cases)
    health = Counter(
        DeviceHealthIssue.objects.filter(
            opened_at__gte=lo,
            opened_at__lt=hi,
            case__police_zone_id__in=list(zones),
            case__is_probe=False,
        ).values_list("problem", flat=True)
    )
    safer, surveyed = survey_safety_share(start=period.start, end=period.end, zone_ids=zones)

    by_month = [
        MonthRow(
            month=name,
            alarms_live=m["live"],
            alarms_genuine=m["genuine"],
            alarms_test=m["test"],
            interventions=m["dispatched"],
            arrests=m["arrests"],
            ack_p90_s=percentile(month_ack[name], 90),
            on_scene_p90_s=percentile(month_scene[name], 90),
        )
        for name, m in sorted(months.items())
    ]
    by_zone = [
        ZoneRow(
            zone=zone_codes.get(zone, str(zone)),
            alarms_live=z["live"],
            alarms_genuine=z["genuine"],
            interventions=z["dispatched"],
            arrests=z["arrests"],
            on_scene_breaches=z["breached"],
        )
        for zone, z in sorted(per_zone.items(), key=lambda item: zone_codes.get(item[0], ""))
    ]
    device_months = devices.pop("_device_months_exact")
    return Indicators(
        period_from=period.start.isoformat(),
        period_to=period.end.isoformat(),
        area=area.code,
        area_kind=area.kind,
        zones=sorted(zone_codes.values()),
        **devices,
        **_cases(lo, hi, zones),
        alarms_live=count["live"],
        alarms_genuine=count["genuine"],
        alarms_test=count["test"],
        alarms_mispress=count[Outcome.FALSE_MISPRESS],
        alarms_false_test=count[Outcome.FALSE_TEST],
        alarms_false_technical=count[Outcome.FALSE_TECHNICAL],
        alarms_cancelled=count["cancelled"],
        alarms_duress=count["duress"],
        alarms_ghost_call=count["ghost"],
        alarms_sms_only=count["sms_only"],
        alarms_unverified_sms=count["unverified_sms"],
        alarms_aml=count["aml"],
        repeat_presses=repeats,
        alarms_per_device_month=(
            round(count["live"] / device_months, 3) if device_months else None
        ),
        interventions=count["dispatched"],
        arrests_on_scene=count[Outcome.ARRESTED_ON_SCENE],
        arrests_later=count[Outcome.ARRESTED_LATER],
        violence_before_arrival=count["violence"],
        victim_injured=count["injured"],
        time_to_acknowledge=_durations(ack, count["live"]),
        time_to_on_scene=_durations(on_scene, count["dispatched"]),
        on_scene_breaches=breaches,
        device_health_incidents=sum(health.values()),
        device_health_by_problem=dict(sorted(health.items())),
        victims_surveyed=surveyed,
        victims_feeling_safer=safer,
        share_feeling_safer=_share(safer, surveyed),
        by_month=by_month,
        by_zone=by_zone,
    )
