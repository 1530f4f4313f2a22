"""Scoped reads of the evaluation part: reviews, surveys, evidence.

``survey_safety_share`` is a statistic (counts, no person): the stats part's indicator reads it.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_stubs_ext import StrOrPromise

from msa.accounts.models import Membership, OrgKind, Role, User
from msa.accounts.pseudonyms import pseudonym
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Lane, Outcome
from msa.cases.models import ProtectionCase
from msa.cases.selectors import case_owned_by
from msa.cases.states import CaseState
from msa.core.errors import NotFoundError
from msa.evaluation.models import (
    Compared,
    IncidentReview,
    ReviewAction,
    SurveyWave,
    VictimSurvey,
)
from msa.evaluation.states import ReviewState


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


# --- which incidents are reviewed -------------------------------------------------------------

# Outcomes that say the alarm was not a genuine one (a mis-press, a test, a technical fault).
NOT_GENUINE_OUTCOMES = frozenset(
    {Outcome.FALSE_MISPRESS, Outcome.FALSE_TEST, Outcome.FALSE_TECHNICAL}
)


def genuine_closed_incidents() -> QuerySet[Incident]:
    """Closed incidents of the live lane whose outcome is not a false alarm: the ones the
    technical working group reviews (tests, probes and false alarms are not)."""
    return Incident.objects.filter(
        lane=Lane.LIVE, status=IncidentState.CLOSED, case__is_probe=False
    ).exclude(outcome__in=[str(o) for o in NOT_GENUINE_OUTCOMES])


def is_genuine_closed(incident: Incident) -> bool:
    return genuine_closed_incidents().filter(pk=incident.pk).exists()


def incidents_without_review(limit: int) -> list[Incident]:
    return list(
        genuine_closed_incidents().filter(review__isnull=True).order_by("closed_at", "id")[:limit]
    )


# --- the working group's scope ----------------------------------------------------------------

GROUP_ROLES = frozenset({Role.SUPERVISOR, Role.ANALYST})


def group_centres(user: User, roles: Collection[str] = GROUP_ROLES) -> list[int]:
    """The dispatch centres whose incidents ``user`` reviews (a supervisor or an analyst
    there)."""
    if not user.is_authenticated or not user.is_active:
        return []
    return list(
        Membership.objects.filter(
            user=user, organisation__kind=OrgKind.CIC, role__in=list(roles)
        ).values_list("organisation_id", flat=True)
    )


def reviews_visible_to(user: User) -> QuerySet[IncidentReview]:
    """The one scope of review reads: the reviews of the incidents of the reader's centres."""
    return IncidentReview.objects.filter(incident__centre_id__in=group_centres(user))


def review_get(user: User, reference: str) -> IncidentReview:
    review = (
        reviews_visible_to(user)
        .select_related("incident__case", "incident__centre")
        .filter(incident__reference=reference)
        .first()
    )
    if review is None:
        raise NotFoundError(gettext_noop("no such review"))
    return review


def reviews_open(user: User) -> QuerySet[IncidentReview]:
    return (
        reviews_visible_to(user)
        .exclude(status=ReviewState.CLOSED)
        .select_related("incident__case")
        .order_by("due_at", "id")
    )


def actions_open(user: User) -> QuerySet[ReviewAction]:
    return (
        ReviewAction.objects.filter(review__in=reviews_visible_to(user), done_at__isnull=True)
        .select_related("review__incident", "owner")
        .order_by("due_on", "id")
    )


@dataclass(frozen=True, slots=True)
class Milestone:
    """One milestone of the incident, with its time and the time since the alarm arrived."""

    key: str
    label: str
    at: datetime | None
    since_received_s: float | None


MILESTONES: tuple[tuple[str, StrOrPromise], ...] = (
    ("pressed_at", _("button pressed (phone's clock)")),
    ("received_at", _("alarm received")),
    ("acknowledged_at", _("acknowledged by an operator")),
    ("call_answered_at", _("call answered")),
    ("dispatched_at", _("first unit dispatched")),
    ("on_scene_at", _("first unit on scene")),
    ("call_ended_at", _("call ended")),
    ("closed_at", _("incident closed")),
)


def incident_milestones(incident: Incident) -> list[Milestone]:
    """The incident's milestones as the incident holds them (never a copy)."""
    rows = []
    for key, label in MILESTONES:
        at = getattr(incident, key)
        since = (at - incident.received_at).total_seconds() if at is not None else None
        rows.append(Milestone(key=key, label=str(label), at=at, since_received_s=since))
    return rows


def victim_pseudonym(incident: Incident) -> str:
    return pseudonym("victim", incident.case.victim_id)


# --- the victim's surveys -----------------------------------------------------------------------

WAVE_MONTHS: dict[str, int] = {
    SurveyWave.ENROLMENT: 0,
    SurveyWave.MONTH_3: 3,
    SurveyWave.MONTH_6: 6,
}
SURVEY_STATES = frozenset(
    {CaseState.ENROLLING, CaseState.ACTIVE, CaseState.UNDER_REVIEW, CaseState.SUSPENDED}
)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class SurveySlot:
    wave: str
    label: str
    due_on: date | None
    survey: VictimSurvey | None
    due: bool  # not answered, and its day has come


def case_survey_slots(case: ProtectionCase, today: date) -> list[SurveySlot]:
    """The three waves of ``case``: answered, due, or later. The enrolment survey is due from
    the victim's consent; the others 3 and 6 months after the case became active."""
    answered = {s.wave: s for s in VictimSurvey.objects.filter(case=case)}
    live = case.status in SURVEY_STATES
    slots = []
    for wave, months in WAVE_MONTHS.items():
        base = case.consented_at if months == 0 else case.activated_at
        due_on = _add_months(base.date(), months) if base is not None else None
        survey = answered.get(wave)
        due = survey is None and live and due_on is not None and due_on <= today
        slots.append(
            SurveySlot(
                wave=wave,
                label=str(SurveyWave(wave).label),
                due_on=due_on,
                survey=survey,
                due=due,
            )
        )
    return slots


# --- the evidence bundle ------------------------------------------------------------------------


def evidence_incident_get(user: User, reference: str) -> Incident:
    """An incident whose bundle ``user`` may export: one of a case they own (the case's zone
    officer, or a magistrate of its prosecutor's office). Missing and not theirs: NotFound."""
    incident = (
        Incident.objects.select_related("case__police_zone", "centre")
        .filter(reference=reference, case__is_probe=False)
        .exclude(lane=Lane.PROBE)
        .first()
    )
    if incident is None or not case_owned_by(user, incident.case):
        raise NotFoundError(gettext_noop("no such incident"))
    return incident


def case_incidents_for_evidence(user: User, case: ProtectionCase) -> list[Incident]:
    """The live incidents of ``case`` whose bundle ``user`` may export (none when not theirs)."""
    if not case_owned_by(user, case):
        return []
    return list(case.incidents.filter(lane=Lane.LIVE).order_by("-received_at")[:50])
