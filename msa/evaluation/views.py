"""The evaluation pages: the working group's reviews, the victim's survey, the evidence bundle.

Thin: each parses, calls one selector or service, and renders. Every page is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msa.accounts.models import Role, User
from msa.cases import selectors as case_sel
from msa.cases.services.dossier import case_dossier_read
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import MsaError, NotFoundError, ValidationError
from msa.core.permissions import requires
from msa.evaluation import forms as f
from msa.evaluation import selectors as sel
from msa.evaluation.evidence import bundle_export
from msa.evaluation.models import IncidentReview, ReviewAction, TechnicalIssue
from msa.evaluation.permissions import EVIDENCE, REVIEW_EDIT, REVIEWS, SURVEYS
from msa.evaluation.services import (
    action_owner_candidates,
    review_action_add,
    review_action_done,
    review_read,
    review_record_findings,
    review_transition,
    survey_record,
)
from msa.evaluation.states import REVIEW_MACHINE, ReviewState, ReviewTransitionName


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _actor(request: HttpRequest) -> Actor:
    return Actor.for_user(_user(request))


def _fail(request: HttpRequest, exc: MsaError) -> None:
    detail = ""
    if isinstance(exc, ValidationError) and exc.fields:
        detail = " (" + ", ".join(f"{k}: {v}" for k, v in exc.fields.items()) + ")"
    messages.error(request, f"{exc.translated()}{detail}")  # marked with gettext_noop where raised


def _review(request: HttpRequest, reference: str) -> IncidentReview:
    try:
        return sel.review_get(_user(request), reference)
    except NotFoundError:
        raise Http404 from None


def _back(review: IncidentReview) -> HttpResponse:
    return redirect("evaluation:review", reference=review.incident.reference)


# --- the working group --------------------------------------------------------------------------


@require_GET
@requires(REVIEWS)
def review_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    now = clock.now()
    review_read(review=None, actor=_actor(request), what="list")
    reviews = [
        {
            "review": r,
            "victim": sel.victim_pseudonym(r.incident),
            "overdue": r.status == ReviewState.OPEN and r.due_at <= now,
        }
        for r in sel.reviews_open(user)[:200]
    ]
    return render(
        request,
        "evaluation/review_list.html",
        {
            "reviews": reviews,
            "actions": list(sel.actions_open(user)[:200]),
            "today": now.date(),
            # free text may name people: supervisors read it, analysts never do
            "supervised": sel.group_centres(user, {Role.SUPERVISOR}),
        },
    )


@require_GET
@requires(REVIEWS)
def review_detail(request: HttpRequest, reference: str) -> HttpResponse:
    review = _review(request, reference)
    user = _user(request)
    review_read(review=review, actor=_actor(request), what="detail")
    may_edit = REVIEW_EDIT.check(user) and review.incident.centre_id in sel.group_centres(
        user, {Role.SUPERVISOR}
    )
    labels = dict(TechnicalIssue.choices)
    context: dict[str, Any] = {
        "review": review,
        "incident": review.incident,
        "victim": sel.victim_pseudonym(review.incident),
        "milestones": sel.incident_milestones(review.incident),
        "issues": [labels.get(c, c) for c in review.issues],
        "actions": review.actions.select_related("owner"),
        "history": review.transitions.all(),
        "may_edit": may_edit,
        "steps": [str(t) for t in REVIEW_MACHINE.allowed(review.status)],
        "findings_open": review.status == ReviewState.OPEN,
        # free text may name people: the centre's supervisors read it, analysts never do
        "show_text": review.incident.centre_id in sel.group_centres(user, {Role.SUPERVISOR}),
        "actions_open": review.status != ReviewState.CLOSED,
        "today": clock.now().date(),
    }
    if may_edit:
        context["findings_form"] = f.FindingsForm(
            initial={
                "issues": review.issues,
                "no_issue": review.no_issue,
                "findings": review.findings,
            }
        )
        context["action_form"] = f.ActionForm(owners=action_owner_candidates(review))
    return render(request, "evaluation/review_detail.html", context)


def _editable(request: HttpRequest, reference: str) -> IncidentReview:
    review = _review(request, reference)
    if review.incident.centre_id not in sel.group_centres(_user(request), {Role.SUPERVISOR}):
        raise Http404
    return review


@require_POST
@requires(REVIEW_EDIT)
def review_findings(request: HttpRequest, reference: str) -> HttpResponse:
    review = _editable(request, reference)
    form = f.FindingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the findings."))
        return _back(review)
    d = form.cleaned_data
    try:
        review_record_findings(
            review=review,
            actor=_actor(request),
            issues=d["issues"],
            findings=d["findings"],
            no_issue=d["no_issue"],
        )
    except MsaError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Findings saved."))
    return _back(review)


@require_POST
@requires(REVIEW_EDIT)
def review_action_new(request: HttpRequest, reference: str) -> HttpResponse:
    review = _editable(request, reference)
    form = f.ActionForm(request.POST, owners=action_owner_candidates(review))
    if not form.is_valid():
        messages.error(request, _("An action needs a description, an owner and a due date."))
        return _back(review)
    d = form.cleaned_data
    try:
        review_action_add(
            review=review,
            actor=_actor(request),
            description=d["description"],
            owner=d["owner"],
            due_on=d["due_on"],
        )
    except MsaError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Action added."))
    return _back(review)


@require_POST
@requires(REVIEW_EDIT)
def review_action_finish(request: HttpRequest, reference: str) -> HttpResponse:
    review = _editable(request, reference)
    action = ReviewAction.objects.filter(review=review, pk=_int(request.POST.get("action"))).first()
    if action is None:
        messages.error(request, _("No such action."))
        return _back(review)
    review_action_done(action=action, actor=_actor(request))
    messages.success(request, _("Action done."))
    return _back(review)


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0


@require_POST
@requires(REVIEW_EDIT)
def review_step(request: HttpRequest, reference: str, transition: str) -> HttpResponse:
    review = _editable(request, reference)
    if transition not in {t.value for t in ReviewTransitionName} - {"create"}:
        raise Http404
    try:
        review_transition(
            review=review,
            transition=ReviewTransitionName(transition),
            actor=_actor(request),
            reason=request.POST.get("reason", ""),
        )
    except MsaError as exc:
        _fail(request, exc)
    else:
        messages.success(request, _("Review updated."))
    return _back(review)


# --- the victim's survey ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(SURVEYS)
def case_survey(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    try:
        case = case_sel.case_get(user, reference)
    except NotFoundError:
        raise Http404 from None
    if not case_sel.case_access(user, case).is_officer:
        raise Http404
    slots = sel.case_survey_slots(case, clock.now().date())
    waves = [(s.wave, s.label) for s in slots if s.survey is None]
    form = f.SurveyForm(request.POST or None, waves=waves)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            survey_record(
                case=case,
                actor=_actor(request),
                wave=d["wave"],
                answered_at=d["answered_at"],
                safety_now=d["safety_now"],
                compared=d["compared"],
                help_confidence=d["help_confidence"],
                comment=d["comment"],
            )
        except MsaError as exc:
            _fail(request, exc)
        else:
            messages.success(request, _("Survey recorded."))
            return redirect("cases:detail", reference=case.reference)
    case_dossier_read(case=case, actor=_actor(request), reason="survey page", scope="survey")
    return render(request, "evaluation/survey.html", {"case": case, "slots": slots, "form": form})


# --- the evidence bundle ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@requires(EVIDENCE)
def evidence_export(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        incident = sel.evidence_incident_get(_user(request), reference)
    except NotFoundError:
        raise Http404 from None
    form = f.EvidenceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            bundle = bundle_export(
                incident=incident,
                actor=_actor(request),
                reason=form.cleaned_data["reason"],
                language=translation.get_language() or "",
            )
        except MsaError as exc:
            _fail(request, exc)
        else:
            response = HttpResponse(bundle.data, content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "evaluation/evidence.html", {"incident": incident, "form": form})
