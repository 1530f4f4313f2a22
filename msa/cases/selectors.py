"""Scoped reads about protection cases. Every read of a case goes through ``cases_visible_to``.

Who sees what:

- a police zone's reference officers and supervisors: the cases of their zone (full dossier);
- a magistrate: the cases of the zones in their prosecutor's office's district (full);
- a dispatch centre's operators and supervisors: the cases of the zones it covers; the full
  dossier only while an incident of that case is open, or after they state a reason
  (``ACCESS_SUMMARY`` otherwise: reference, status, zone) — the one rule of the reason for
  access is ``dossier_access_reason_required``;
- a support service's counsellors: only the cases whose care team their service is on, and
  only what the team needs (``ACCESS_TEAM``: the victim's name and languages, the team,
  referrals, notes and meetings, reviews — not the suspect, the assessment or the devices).

Anybody else (analysts, patrol officers, administrators without a case role) sees no case.
Missing and not visible both raise NotFoundError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from msa.accounts.models import CONSOLE_ROLES, Membership, Organisation, OrgKind, Role, User
from msa.cases.models import (
    CaseApplication,
    CaseTask,
    Decision,
    DecisionOutcome,
    ExclusionZone,
    JudicialStep,
    LaterReport,
    ProtectionCase,
    RiskInstrument,
)
from msa.core.errors import NotFoundError

ZONE_ROLES = frozenset({Role.REFERENCE_OFFICER, Role.SUPERVISOR})

ACCESS_FULL = "full"
ACCESS_SUMMARY = "summary"
ACCESS_TEAM = "team"


def _memberships(user: User) -> list[Membership]:
    if not user.is_authenticated or not user.is_active:
        return []
    return list(Membership.objects.filter(user=user).select_related("organisation"))


def _scope(user: User) -> tuple[Q, list[int], list[int]]:
    """(filter of every visible case, console centre ids, support org ids)."""
    q = Q(pk__in=[])
    centres: list[int] = []
    support: list[int] = []
    for m in _memberships(user):
        kind = m.organisation.kind
        if kind == OrgKind.POLICE_ZONE and m.role in ZONE_ROLES:
            q |= Q(police_zone=m.organisation_id)
        elif kind == OrgKind.PROSECUTOR_OFFICE and m.role == Role.MAGISTRATE:
            q |= Q(police_zone__prosecutor_office=m.organisation_id)
        elif kind == OrgKind.CIC and m.role in CONSOLE_ROLES:
            q |= Q(police_zone__covered_by=m.organisation_id)
            centres.append(m.organisation_id)
        elif kind == OrgKind.SUPPORT_SERVICE and m.role == Role.COUNSELLOR:
            q |= Q(team__organisation=m.organisation_id, team__left_at__isnull=True)
            support.append(m.organisation_id)
    return q, centres, support


def cases_visible_to(user: User) -> QuerySet[ProtectionCase]:
    """The one queryset scope of every case read."""
    q, _centres, _support = _scope(user)
    return ProtectionCase.objects.filter(q).distinct()


def zones_run_by(user: User) -> QuerySet[Organisation]:
    """The police zones whose cases ``user`` runs (a reference officer or supervisor there)."""
    return Organisation.objects.filter(
        kind=OrgKind.POLICE_ZONE,
        memberships__user=user,
        memberships__role__in=ZONE_ROLES,
    ).distinct()


def user_sees_cases(user: User) -> bool:
    q, _c, _s = _scope(user)
    return q != Q(pk__in=[])


@dataclass(frozen=True, slots=True)
class CaseAccess:
    level: str
    # the CIC's reader may state a reason to see the full dossier
    may_state_reason: bool = False
    # a zone's reference officer runs the case
    is_officer: bool = False
    is_magistrate: bool = False


def _owner_flags(memberships: list[Membership], case: ProtectionCase) -> tuple[bool, bool]:
    """(officer, magistrate): the owners of a case are the zone roles of its police zone and
    the magistrates of that zone's prosecutor's office. Any other membership of the zone (a
    patrol officer, an analyst) owns nothing."""
    officer = magistrate = False
    for m in memberships:
        org = m.organisation
        if (
            org.kind == OrgKind.POLICE_ZONE
            and m.role in ZONE_ROLES
            and org.pk == case.police_zone_id
        ):
            officer = True
        elif (
            org.kind == OrgKind.PROSECUTOR_OFFICE
            and m.role == Role.MAGISTRATE
            and case.police_zone.prosecutor_office_id == org.pk
        ):
            magistrate = True
    return officer, magistrate


def case_owned_by(user: User, case: ProtectionCase) -> bool:
    """Whether ``user`` owns ``case`` and reads it as part of their work, with no reason."""
    officer, magistrate = _owner_flags(_memberships(user), case)
    return officer or magistrate


def dossier_access_reason_required(
    user: User, case: ProtectionCase, *, open_incident: bool
) -> bool:
    """The one rule of the reason for access (design section 3): anybody but the case's
    owners states why they open the dossier, unless an incident of the case is open.

    ``open_incident`` is a fact of the alarms part, which the caller reads
    (``msa.alarms.selectors.case_has_open_incident``)."""
    return not open_incident and not case_owned_by(user, case)


def case_access(
    user: User,
    case: ProtectionCase,
    *,
    open_incident: bool = False,
    stated_reason: bool = False,
) -> CaseAccess:
    """How much of a visible case ``user`` may see (the case must come from the scope).

    ``open_incident``: whether a live incident of the case is open (the caller reads it from
    ``msa.alarms.selectors.case_has_open_incident``); ``stated_reason``: whether the reader
    stated a reason within its grant period."""
    memberships = _memberships(user)
    officer, magistrate = _owner_flags(memberships, case)
    if officer or magistrate:
        return CaseAccess(ACCESS_FULL, is_officer=officer, is_magistrate=magistrate)
    centre_ids: list[int] = []
    support_ids: list[int] = []
    for m in memberships:
        if m.organisation.kind == OrgKind.CIC and m.role in CONSOLE_ROLES:
            centre_ids.append(m.organisation_id)
        elif m.organisation.kind == OrgKind.SUPPORT_SERVICE and m.role == Role.COUNSELLOR:
            support_ids.append(m.organisation_id)
    if case.police_zone.covered_by_id in centre_ids:
        if not dossier_access_reason_required(user, case, open_incident=open_incident) or (
            stated_reason
        ):
            return CaseAccess(ACCESS_FULL)
        return CaseAccess(ACCESS_SUMMARY, may_state_reason=True)
    if case.team.filter(organisation_id__in=support_ids, left_at__isnull=True).exists():
        return CaseAccess(ACCESS_TEAM)
    raise NotFoundError("no such case")


def cases_read_in_full(
    user: User, cases: list[ProtectionCase], *, open_case_ids: set[int]
) -> set[int]:
    """The ids of ``cases`` whose full dossier ``user`` reads now without a stated reason:
    ``case_access`` giving ``ACCESS_FULL`` (the case's owners; a centre covering its zone
    while a live incident of it is open, ``open_case_ids``), for a whole list (the console's
    queue) in one read of the memberships. A case outside the scope is simply not in it."""
    memberships = _memberships(user)
    centre_ids = {
        m.organisation_id
        for m in memberships
        if m.organisation.kind == OrgKind.CIC and m.role in CONSOLE_ROLES
    }
    full: set[int] = set()
    for case in cases:
        officer, magistrate = _owner_flags(memberships, case)
        covered = case.police_zone.covered_by_id in centre_ids
        if officer or magistrate or (covered and case.pk in open_case_ids):
            full.add(case.pk)
    return full


def case_get(user: User, reference: str) -> ProtectionCase:
    case = (
        cases_visible_to(user)
        .select_related(
            "victim", "suspect", "police_zone__prosecutor_office", "police_zone__covered_by"
        )
        .filter(reference=reference)
        .first()
    )
    if case is None:
        raise NotFoundError("no such case")
    return case


def cases_list(user: User, *, status: str = "") -> QuerySet[ProtectionCase]:
    qs = (
        cases_visible_to(user)
        .filter(is_probe=False)  # the centre's path-monitoring probe is nobody's case
        .select_related("police_zone")
        .order_by("-created_at", "-id")
    )
    if status:
        qs = qs.filter(status=status)
    return qs


def tasks_open_for(user: User) -> QuerySet[CaseTask]:
    """The open tasks of the cases a zone's officer runs (urgent first)."""
    zone_ids = [
        m.organisation_id
        for m in _memberships(user)
        if m.organisation.kind == OrgKind.POLICE_ZONE and m.role in ZONE_ROLES
    ]
    return (
        CaseTask.objects.filter(
            case__in=cases_visible_to(user).filter(police_zone__in=zone_ids),
            done_at__isnull=True,
        )
        .select_related("case")
        .order_by("-urgent", "due_at")
    )


def instrument_current(code: str = "msa-risk") -> RiskInstrument | None:
    return RiskInstrument.objects.filter(code=code).order_by("-loaded_at", "-id").first()


def decision_in_force(case: ProtectionCase) -> Decision | None:
    return (
        case.decisions.filter(outcome__in=[DecisionOutcome.APPROVED, DecisionOutcome.RENEWED])
        .prefetch_related("zones")
        .order_by("-decided_at", "-id")
        .first()
    )


def zone_data(zone: ExclusionZone) -> dict[str, Any]:
    if zone.shape == "circle":
        return {
            "label": zone.label,
            "shape": "circle",
            "lat": zone.lat,
            "lon": zone.lon,
            "radius_m": zone.radius_m,
        }
    return {"label": zone.label, "shape": "polygon", "rings": zone.rings}


def exclusion_zones_for_case(case: ProtectionCase) -> list[dict[str, Any]]:
    """The area bans in force, as plain data for a map:
    ``{"label", "shape": "circle", "lat", "lon", "radius_m"}`` or
    ``{"label", "shape": "polygon", "rings": [[[lat, lon], ...], ...]}``.

    The caller has already obtained ``case`` through a scoped selector.
    """
    decision = decision_in_force(case)
    if decision is None:
        return []
    return [zone_data(z) for z in decision.zones.all().order_by("id")]


@dataclass(frozen=True, slots=True)
class ZoneView:
    """One exclusion zone for the console's map: a circle (lat, lon, radius_m) or a polygon
    (its outer ring of [lat, lon] points)."""

    label: str
    shape: str
    lat: float | None = None
    lon: float | None = None
    radius_m: int | None = None
    polygon: list[list[float]] | None = None


def exclusion_zones_for(case: ProtectionCase) -> list[ZoneView]:
    """The same zones as ``exclusion_zones_for_case``, as objects (the console's hook)."""
    views = []
    for z in exclusion_zones_for_case(case):
        if z["shape"] == "circle":
            views.append(
                ZoneView(
                    label=z["label"],
                    shape="circle",
                    lat=z["lat"],
                    lon=z["lon"],
                    radius_m=z["radius_m"],
                )
            )
        else:
            rings = z["rings"]
            views.append(
                ZoneView(label=z["label"], shape="polygon", polygon=rings[0] if rings else None)
            )
    return views


# --- applications from support services (issue 17) -------------------------------------------


def applications_visible_to(user: User) -> QuerySet[CaseApplication]:
    """The one scope of application reads: a support service's members see the
    applications their service made; a zone's reference officers and supervisors see those
    to their zone. Nobody else sees any (the CIC, the magistrate, analysts)."""
    q = Q(pk__in=[])
    for m in _memberships(user):
        kind = m.organisation.kind
        if kind == OrgKind.SUPPORT_SERVICE:
            q |= Q(source_org=m.organisation_id)
        elif kind == OrgKind.POLICE_ZONE and m.role in ZONE_ROLES:
            q |= Q(case__police_zone=m.organisation_id)
    return CaseApplication.objects.filter(q)


def application_get(user: User, reference: str) -> CaseApplication:
    application = (
        applications_visible_to(user)
        .select_related("case__police_zone", "case__victim", "merged_into", "source_org")
        .filter(reference=reference)
        .first()
    )
    if application is None:
        raise NotFoundError("no such application")
    return application


def application_decided_by(user: User, application: CaseApplication) -> bool:
    """Whether ``user`` decides on ``application``: a reference officer or supervisor of its
    zone (the applicant's service only reads it)."""
    return any(
        m.organisation.kind == OrgKind.POLICE_ZONE
        and m.role in ZONE_ROLES
        and m.organisation_id == application.case.police_zone_id
        for m in _memberships(user)
    )


def support_services_of(user: User) -> QuerySet[Organisation]:
    """The support services ``user`` is a member of (whom she may apply for)."""
    return Organisation.objects.filter(
        kind=OrgKind.SUPPORT_SERVICE, memberships__user=user
    ).distinct()


def user_applies(user: User) -> bool:
    return support_services_of(user).exists() if user.is_authenticated else False


def applications_of_case(case: ProtectionCase) -> QuerySet[CaseApplication]:
    """The applications that opened ``case`` or were merged into it (the caller has the case
    from a scoped selector and may read it in full)."""
    return (
        CaseApplication.objects.filter(Q(case=case) | Q(merged_into=case))
        .select_related("source_org")
        .order_by("submitted_at", "id")
    )


@dataclass(frozen=True, slots=True)
class ApplicationCount:
    source_code: str
    source_name: str
    outcome: str
    count: int


def applications_by_outcome(
    *, since: datetime, until: datetime, zones: Iterable[int] | None = None
) -> list[ApplicationCount]:
    """Applications from support services by source organisation and outcome, for the
    indicators (no personal data: counts only).

    - ``since`` / ``until``: the period, by the application's submission time
      (``since <= submitted_at < until``);
    - ``zones``: the area, as police-zone organisation ids (``None``: every zone);
    - the outcome is the application's state: ``received`` (not decided yet), ``accepted``
      (it became a case), ``merged`` (joined an existing case of the same victim) or
      ``declined``; what the accepted case became is the case indicators' business.

    Returns one ``ApplicationCount(source_code, source_name, outcome, count)`` per source and
    outcome that occurs, ordered by source code then outcome. Probe cases are left out."""
    qs = CaseApplication.objects.filter(
        submitted_at__gte=since, submitted_at__lt=until, case__is_probe=False
    )
    if zones is not None:
        qs = qs.filter(case__police_zone__in=list(zones))
    rows = (
        qs.values("source_org__code", "source_org__name", "status")
        .annotate(n=Count("id"))
        .order_by("source_org__code", "status")
    )
    return [
        ApplicationCount(
            source_code=r["source_org__code"],
            source_name=r["source_org__name"],
            outcome=r["status"],
            count=r["n"],
        )
        for r in rows
    ]


# --- what followed each intervention (issue 17) -----------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportsAfterAlarm:
    """Whether the victims' reports to the police stopped after the alarm went live."""

    cases: int  # cases whose alarm went live in the period
    without_reports_after: int  # of those, with no later report after activation
    reports_before: int  # later reports recorded before activation (same cases)
    reports_after: int  # reports after activation

    @property
    def share_without_reports_after(self) -> float | None:
        return self.without_reports_after / self.cases if self.cases else None


def _live_cases(
    since: datetime, until: datetime, zones: Iterable[int] | None
) -> QuerySet[ProtectionCase]:
    qs = ProtectionCase.objects.filter(
        activated_at__gte=since, activated_at__lt=until, is_probe=False
    )
    if zones is not None:
        qs = qs.filter(police_zone__in=list(zones))
    return qs


def reports_after_alarm(
    *, since: datetime, until: datetime, zones: Iterable[int] | None = None
) -> ReportsAfterAlarm:
    """For the indicators: the cases whose alarm went live (``activated_at``) in
    ``since <= activated_at < until`` in ``zones`` (police-zone ids, ``None``: all), and the
    victim's later reports recorded on them (``LaterReport``) before and after activation
    (a report on the activation day counts as after). Counts only, no personal data."""
    cases = list(_live_cases(since, until, zones).values_list("pk", "activated_at"))
    activated = {pk: at.date() for pk, at in cases if at is not None}
    before = after = 0
    with_after: set[int] = set()
    for case_id, on in LaterReport.objects.filter(case_id__in=activated).values_list(
        "case_id", "reported_on"
    ):
        if on >= activated[case_id]:
            after += 1
            with_after.add(case_id)
        else:
            before += 1
    return ReportsAfterAlarm(
        cases=len(cases),
        without_reports_after=len(cases) - len(with_after),
        reports_before=before,
        reports_after=after,
    )


def judicial_steps_by_kind(
    *, since: datetime, until: datetime, zones: Iterable[int] | None = None
) -> dict[str, int]:
    """For the indicators: the judicial follow-up's steps (``JudicialStepKind``: arrested,
    before_judge, detained, released_conditions, released, referred, dismissed) dated
    ``since.date() <= on < until.date()`` in ``zones`` (police-zone ids, ``None``: all), as
    ``{kind: count}``; referred steps also count per programme as ``referred:<programme>``."""
    qs = JudicialStep.objects.filter(
        on__gte=since.date(), on__lt=until.date(), case__is_probe=False
    )
    if zones is not None:
        qs = qs.filter(case__police_zone__in=list(zones))
    counts: dict[str, int] = {}
    for kind, programme in qs.values_list("kind", "programme"):
        counts[kind] = counts.get(kind, 0) + 1
        if programme:
            key = f"{kind}:{programme}"
            counts[key] = counts.get(key, 0) + 1
    return counts
