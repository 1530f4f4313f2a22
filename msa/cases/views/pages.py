"""The case pages: the list, a new case, the dossier, the assessment, the decision.

Every page that shows a dossier records the read (``dossier.read``) with what the reader saw.
What a reader may do on a case follows from ``case_access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msa.cases import forms as f
from msa.cases import selectors as sel
from msa.cases.models import ActivationChecklist, ProtectionCase, Referral, RiskLevel, Victim
from msa.cases.permissions import APPLICATIONS, APPLY, CASE_OPEN, CASES
from msa.cases.places import places_on_map
from msa.cases.risk import localised
from msa.cases.services.assessment import assessment_record
from msa.cases.services.decision import case_renew, decision_record
from msa.cases.services.dossier import case_dossier_read
from msa.cases.services.opening import PersonInput, case_open
from msa.cases.services.places import place_record
from msa.cases.states import (
    CASE_MACHINE,
    REFERRAL_MACHINE,
    REFERRAL_TRANSITION_LABELS,
    ApplicationState,
    CaseState,
)
from msa.cases.views.applications import application_items
from msa.cases.views.base import actor_of, back, do, fail, load, magistrate_case, officer_case
from msa.cases.views.base import user_of as _user
from msa.cases.views.followup import followup_forms
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import NotFoundError, TransitionNotAllowedError, ValidationError
from msa.core.permissions import requires
from msa.devices.inventory import LENDABLE_STATES
from msa.devices.models import InventoryItem, Loan
from msa.devices.states import ItemStatus

# --- list, new ----------------------------------------------------------------------------------


@require_GET
@requires(CASES)
def case_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = request.GET.get("status", "")
    cases = sel.cases_list(user, status=status if status in {s.value for s in CaseState} else "")
    return render(
        request,
        "cases/list.html",
        {
            "cases": cases[:200],
            "tasks": list(sel.tasks_open_for(user)),
            "states": list(CaseState),
            "status": status,
            "may_open": CASE_OPEN.check(user),
            "may_apply": APPLY.check(user),
            "may_applications": APPLICATIONS.check(user),
            "now": clock.now(),
        },
    )


@require_http_methods(["GET", "POST"])
@requires(CASE_OPEN)
def case_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = f.CaseOpenForm(request.POST or None, zones=sel.zones_run_by(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        victim: PersonInput | Victim = PersonInput(
            first_name=d["victim_first_name"],
            last_name=d["victim_last_name"],
            birth_date=d["victim_birth_date"],
            phone_number=d["victim_phone"],
            address=d["victim_address"],
            languages=d["victim_languages"],
            children_notes=d["victim_children"],
            health_notes=d["victim_health"],
        )
        if d["same_victim_as"]:
            try:
                victim = sel.case_get(user, d["same_victim_as"].strip()).victim
            except NotFoundError:
                form.add_error("same_victim_as", _("No such case."))
                return render(request, "cases/new.html", {"form": form})
        try:
            case = case_open(
                zone=d["zone"],
                victim=victim,
                suspect=PersonInput(
                    first_name=d["suspect_first_name"],
                    last_name=d["suspect_last_name"],
                    birth_date=d["suspect_birth_date"],
                    phone_number=d["suspect_phone"],
                    address=d["suspect_address"],
                    vehicle=d["suspect_vehicle"],
                    weapons=d["suspect_weapons"],
                ),
                relation=d["relation"],
                actor=Actor.for_user(user),
            )
        except ValidationError as exc:
            for name, problem in exc.fields.items():
                key = {"phone_number": "victim_phone"}.get(name, name)
                form.add_error(key if key in form.fields else None, f"{_(exc.message)}: {problem}")
        else:
            return _places_of_new_case(request, case, form.places())
    return render(request, "cases/new.html", {"form": form})


def _places_of_new_case(
    request: HttpRequest, case: ProtectionCase, places: list[tuple[str, str, str]]
) -> HttpResponse:
    """The places asked for on the new-case form (checked there against the gazetteer), each
    recorded as on the places page; one refused now goes to the places page to be pinned."""
    for kind, label, address in places:
        try:
            place_record(
                case=case, kind=kind, label=label, address=address, actor=actor_of(request)
            )
        except ValidationError as exc:
            messages.error(request, exc.translated())
            return redirect("cases:places", reference=case.reference)
    return redirect("cases:assess", reference=case.reference)


# --- the dossier ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReferralRow:
    """A referral with the buttons of the transitions its status allows."""

    referral: Referral
    actions: list[tuple[str, str]]


def _referral_rows(case: ProtectionCase) -> list[ReferralRow]:
    return [
        ReferralRow(
            referral=r,
            actions=[
                (str(t), str(REFERRAL_TRANSITION_LABELS[t]))
                for t in REFERRAL_MACHINE.allowed(r.status)
            ],
        )
        for r in case.referrals.select_related("organisation")
    ]


def stock_for(case: ProtectionCase) -> Any:
    """The items in stock of the case's judicial district (what may be lent to it)."""
    return InventoryItem.objects.filter(
        district=case.police_zone.prosecutor_office, status=ItemStatus.IN_STOCK
    )


@require_GET
@requires(CASES)
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case, access, reason = load(request, reference)
    case_dossier_read(
        case=case,
        actor=actor_of(request),
        reason=reason or f"case page ({access.level})",
        scope=access.level,
    )
    context: dict[str, Any] = {
        "case": case,
        "access": access,
        "full": access.level == sel.ACCESS_FULL,
        "team_view": access.level == sel.ACCESS_TEAM,
        "states": CaseState,
        # the case's allowed transitions: what the page offers (never a state literal)
        "can": {str(t): True for t in CASE_MACHINE.allowed(case.status)},
        "now": clock.now(),
    }
    if access.level == sel.ACCESS_SUMMARY:
        context["reason_form"] = f.ReasonForm()
        return render(request, "cases/detail.html", context)
    context.update(
        team=case.team.filter(left_at__isnull=True).select_related("organisation"),
        referrals=_referral_rows(case),
        notes=case.notes.all()[:50],
        reviews=case.reviews.all(),
        note_form=f.NoteForm(),
    )
    if access.level == sel.ACCESS_FULL:
        open_loans = Loan.objects.filter(case=case, returned_at__isnull=True).select_related(
            "item", "device"
        )
        context.update(
            assessment=case.assessments.select_related("instrument").first(),
            tasks=case.tasks.all(),
            decisions=case.decisions.prefetch_related("zones"),
            decision=sel.decision_in_force(case),
            zones=sel.exclusion_zones_for_case(case),
            consent=case.consents.first(),
            registrations=case.registrations.all(),
            checklist=ActivationChecklist.objects.filter(case=case).first(),
            loans=Loan.objects.filter(case=case).select_related("item", "device"),
            open_loans=open_loans,
            has_device=open_loans.filter(device__isnull=False).exists(),
            lendable=case.status in LENDABLE_STATES,
            history=case.transitions.all(),
            consent_form=f.ConsentForm(initial={"given_at": clock.now(), "method": "written"}),
            loan_form=f.LoanForm(items=stock_for(case)),
            review_form=f.ReviewForm(),
            end_form=f.EndForm(),
            renew_form=f.RenewForm(),
            suspend_form=f.SuspendForm(),
            team_form=f.TeamForm(),
            referral_form=f.ReferralForm(),
            return_form=f.ReturnForm(),
            risk_levels=RiskLevel,
        )
        context.update(_followup_context(case))
    return render(request, "cases/detail.html", context)


def _followup_context(case: ProtectionCase) -> dict[str, Any]:
    """Issue 17 on the dossier: the applications that led to the case, and what followed
    its interventions (the page shows them to the full-dossier readers only)."""
    applications = list(sel.applications_of_case(case))
    return {
        "case_applications": [
            {"application": a, "items": application_items(a)} for a in applications
        ],
        "application_pending": any(a.status == ApplicationState.RECEIVED for a in applications),
        "judicial_steps": case.judicial_steps.all(),
        "measure_changes": case.measure_changes.all(),
        "later_reports": case.later_reports.all(),
        "followup_forms": followup_forms(case),
    }


# --- assessment --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(CASES)
def case_assess(request: HttpRequest, reference: str) -> HttpResponse:
    case = officer_case(request, reference)
    instrument = sel.instrument_current()
    if instrument is None:
        messages.error(request, _("No risk instrument is loaded: msa instrument load <file>."))
        return back(case)
    form_class = f.assessment_form_class(instrument.definition)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        answers = {
            k: "" if v is None else str(v)
            for k, v in data.items()
            if k not in {"override_level", "override_reason"}
        }
        try:
            assessment = assessment_record(
                case=case,
                instrument=instrument,
                answers=answers,
                override_level=data.get("override_level") or "",
                override_reason=data.get("override_reason") or "",
                actor=actor_of(request),
            )
        except (ValidationError, TransitionNotAllowedError) as exc:
            fail(request, exc)
        else:
            messages.success(
                request, _("Assessment recorded: risk %(level)s.") % {"level": assessment.level}
            )
            return back(case)
    definition = instrument.definition
    sections = [
        {"title": localised(section["title"]), "fields": [form[i["key"]] for i in section["items"]]}
        for section in definition["sections"]
    ]
    levels = [
        {
            "level": lv["level"],
            "label": localised(lv.get("label")),
            "help": localised(lv.get("help")),
        }
        for lv in definition["levels"]
    ]
    return render(
        request,
        "cases/assess.html",
        {
            "case": case,
            "form": form,
            "instrument": instrument,
            "instrument_title": localised(definition["title"]),
            "instrument_about": localised(definition.get("about")),
            "levels": [lv for lv in levels if lv["help"]],
            "sections": sections,
        },
    )


# --- decision ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(CASES)
def case_decide(request: HttpRequest, reference: str) -> HttpResponse:
    case = magistrate_case(request, reference)
    form = f.DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            decision_record(
                case=case,
                approve=d["outcome"] == "approve",
                reference=d["reference"],
                valid_from=d["valid_from"],
                valid_until=d["valid_until"],
                contact_ban=d["contact_ban"],
                conditions=d["conditions"],
                grounds=d["grounds"],
                zones=form.zones(),
                actor=actor_of(request),
            )
        except (ValidationError, TransitionNotAllowedError) as exc:
            fail(request, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return back(case)
    case_dossier_read(case=case, actor=actor_of(request), reason="decision", scope="full")
    return render(
        request,
        "cases/decide.html",
        {
            "case": case,
            "form": form,
            "assessment": case.assessments.first(),
            "map_data": {
                "tile_url": settings.MSA_MAP_TILE_URL,
                "zones": sel.exclusion_zones_for_case(case),
                "places": places_on_map(_user(request), case, open_incident=False),
            },
        },
    )


@require_POST
@requires(CASES)
def case_renew_view(request: HttpRequest, reference: str) -> HttpResponse:
    case = magistrate_case(request, reference)
    form = f.RenewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A renewal needs the decision's reference."))
        return back(case)
    d = form.cleaned_data
    return do(
        request,
        case,
        lambda: case_renew(
            case=case,
            reference=d["reference"],
            valid_until=d["valid_until"],
            actor=actor_of(request),
        ),
        _("Renewed."),
    )
