"""The evaluation indicators of a period and an area, computed from the milestone timestamps
and states of cases, loans, incidents and device-health episodes (nothing is stored twice).

``indicators_compute`` is the one entry point; its result is typed (``Indicators``) and
``Indicators.as_json()`` gives one key per indicator, each defined in docs/indicators.md.
Percentiles and shares are computed in Python over the values one query returns, so the SQL
is the same on SQLite and PostgreSQL. Probe cases and the probe lane are never counted.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

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
        share_within_30s=_share(sum(1 for s in seconds if s <= ACK_TARGET_S), expected),
        share_within_10min=_share(sum(1 for s in seconds if s <= ON_SCENE_TARGET_S), expected),
    )


_INCIDENT_COLUMNS = (
    "reference",
    "lane",
    "trigger",
    "channels",
    "call_state",
    "received_at",
    "acknowledged_at",
    "dispatched_at",
    "on_scene_at",
    "closed_at",
    "victim_cancelled_at",
    "duress_at",
    "outcome",
    "violence_before_arrival",
    "victim_injured",
    "case__police_zone_id",
    "case_id",
)


@dataclass(slots=True)
class _Row:
    reference: str
    lane: str
    trigger: str
    channels: list[str]
    call_state: str
    received_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    on_scene_at: datetime | None
    closed_at: datetime | None
    victim_cancelled_at: datetime | None
    duress_at: datetime | None
    outcome: str
    violence_before_arrival: bool | None
    victim_injured: bool | None
    zone_id: int
    case_id: int

    @property
    def duress(self) -> bool:
        return self.trigger == Trigger.DURESS or self.duress_at is not None

    @property
    def cancelled(self) -> bool:
        return self.victim_cancelled_at is not None and not self.duress

    @property
    def genuine(self) -> bool:
        return self.outcome not in FALSE_OUTCOMES and not self.cancelled

    @property
    def arrested(self) -> bool:
        return self.outcome in (Outcome.ARRESTED_ON_SCENE, Outcome.ARRESTED_LATER)

    def secs(self, at: datetime | None) -> float | None:
        return None if at is None else (at - self.received_at).total_seconds()

    def breached(self, now: datetime) -> bool:
        """Dispatched, and no unit on scene within 10 minutes of receipt."""
        if self.dispatched_at is None:
            return False
        on_scene = self.secs(self.on_scene_at)
        if on_scene is not None:
            return on_scene > ON_SCENE_TARGET_S
        return (now - self.received_at).total_seconds() > ON_SCENE_TARGET_S


def _incident_rows(lo: datetime, hi: datetime, zones: Iterable[int]) -> list[_Row]:
    qs = Incident.objects.filter(
        received_at__gte=lo,
        received_at__lt=hi,
        lane__in=(Lane.LIVE, Lane.TEST),
        case__police_zone_id__in=list(zones),
        case__is_probe=False,
    ).order_by("received_at", "pk")
    return [_Row(*values) for values in qs.values_list(*_INCIDENT_COLUMNS)]


def _seconds(rows: Iterable[_Row], milestone: str) -> list[float]:
    """Seconds from receipt to ``milestone`` of the live rows that reached it."""
    out: list[float] = []
    for r in rows:
        s = r.secs(getattr(r, milestone))
        if r.lane == Lane.LIVE and s is not None:
            out.append(s)
    return out


def _month(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m")


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


def indicators_compute(*, period: Period, area: Area, now: datetime) -> Indicators:
    """Every indicator of ``period`` in ``area`` (its zones already cut to what the reader may
    read: see msa.stats.areas). ``now`` decides whether a dispatched incident with no unit on
    scene yet has missed the 10-minute target."""
    lo, hi = period.bounds()
    tz = ZoneInfo(settings.MSA_TIME_ZONE)
    zones = area.zone_ids
    zone_codes = dict(Organisation.objects.filter(pk__in=list(zones)).values_list("pk", "code"))
    rows = _incident_rows(lo, hi, zones)
    live = [r for r in rows if r.lane == Lane.LIVE]
    genuine = [r for r in live if r.genuine]
    dispatched = [r for r in live if r.dispatched_at is not None]

    ack = _seconds(live, "acknowledged_at")
    on_scene = _seconds(dispatched, "on_scene_at")
    breaches = [
        Breach(
            reference=r.reference,
            zone=zone_codes.get(r.zone_id, ""),
            received_at=r.received_at.isoformat(),
            on_scene_s=r.secs(r.on_scene_at),
            outcome=r.outcome,
        )
        for r in dispatched
        if r.breached(now)
    ]
    repeats = RepeatPress.objects.filter(
        incident__received_at__gte=lo,
        incident__received_at__lt=hi,
        incident__lane=Lane.LIVE,
        incident__case__police_zone_id__in=list(zones),
        incident__case__is_probe=False,
    ).count()
    devices = _devices(lo, hi, zones, {r.case_id for r in live})
    health = Counter(
        DeviceHealthIssue.objects.filter(
            opened_at__gte=lo,
            opened_at__lt=hi,
            case__police_zone_id__in=list(zones),
            case__is_probe=False,
        ).values_list("problem", flat=True)
    )
    safer, surveyed = survey_safety_share(start=period.start, end=period.end, zone_ids=zones)

    months: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        months[_month(r.received_at, tz)].append(r)
    by_month = [
        MonthRow(
            month=m,
            alarms_live=sum(1 for r in ms if r.lane == Lane.LIVE),
            alarms_genuine=sum(1 for r in ms if r.lane == Lane.LIVE and r.genuine),
            alarms_test=sum(1 for r in ms if r.lane == Lane.TEST),
            interventions=sum(1 for r in ms if r.lane == Lane.LIVE and r.dispatched_at),
            arrests=sum(1 for r in ms if r.lane == Lane.LIVE and r.arrested),
            ack_p90_s=percentile(_seconds(ms, "acknowledged_at"), 90),
            on_scene_p90_s=percentile(
                _seconds([r for r in ms if r.dispatched_at], "on_scene_at"), 90
            ),
        )
        for m, ms in sorted(months.items())
    ]
    per_zone: dict[int, list[_Row]] = defaultdict(list)
    for r in live:
        per_zone[r.zone_id].append(r)
    by_zone = [
        ZoneRow(
            zone=zone_codes.get(z, str(z)),
            alarms_live=len(zs),
            alarms_genuine=sum(1 for r in zs if r.genuine),
            interventions=sum(1 for r in zs if r.dispatched_at),
            arrests=sum(1 for r in zs if r.arrested),
            on_scene_breaches=sum(1 for r in zs if r.breached(now)),
        )
        for z, zs in sorted(per_zone.items(), key=lambda item: zone_codes.get(item[0], ""))
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
        alarms_live=len(live),
        alarms_genuine=len(genuine),
        alarms_test=sum(1 for r in rows if r.lane == Lane.TEST),
        alarms_mispress=sum(1 for r in live if r.outcome == Outcome.FALSE_MISPRESS),
        alarms_false_test=sum(1 for r in live if r.outcome == Outcome.FALSE_TEST),
        alarms_false_technical=sum(1 for r in live if r.outcome == Outcome.FALSE_TECHNICAL),
        alarms_cancelled=sum(1 for r in live if r.cancelled),
        alarms_duress=sum(1 for r in live if r.duress),
        alarms_ghost_call=sum(1 for r in live if r.call_state == CallState.GHOST),
        alarms_sms_only=sum(1 for r in live if r.channels and set(r.channels) <= SMS_CHANNELS),
        alarms_unverified_sms=sum(1 for r in live if Channel.UNVERIFIED_SMS in r.channels),
        alarms_aml=sum(1 for r in live if Channel.AML in r.channels),
        repeat_presses=repeats,
        alarms_per_device_month=(round(len(live) / device_months, 3) if device_months else None),
        interventions=len(dispatched),
        arrests_on_scene=sum(1 for r in live if r.outcome == Outcome.ARRESTED_ON_SCENE),
        arrests_later=sum(1 for r in live if r.outcome == Outcome.ARRESTED_LATER),
        violence_before_arrival=sum(1 for r in live if r.violence_before_arrival),
        victim_injured=sum(1 for r in live if r.victim_injured),
        time_to_acknowledge=_durations(ack, len(live)),
        time_to_on_scene=_durations(on_scene, len(dispatched)),
        on_scene_breaches=breaches,
        device_health_incidents=sum(health.values()),
        device_health_by_problem=dict(sorted(health.items())),
        victims_surveyed=surveyed,
        victims_feeling_safer=safer,
        share_feeling_safer=_share(safer, surveyed),
        by_month=by_month,
        by_zone=by_zone,
    )
