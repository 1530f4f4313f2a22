"""The reference officer's steps on a case, and the care team's posts.

``case_step`` is one POST endpoint for the simple steps: ``STEPS`` maps a step's name to the
form it reads (if any), the service it calls and what the page says when it worked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from msa.accounts.models import Membership, Organisation
from msa.alarms import revocation
from msa.alarms.selectors import case_has_open_incident, case_test_alarm_last
from msa.cases import forms as f
from msa.cases import selectors as sel
from msa.cases.models import CaseTask, ProtectionCase, Referral
from msa.cases.permissions import CASES
from msa.cases.services.assessment import case_submit
from msa.cases.services.enrolment import (
    CHECK_ITEMS,
    case_activate,
    checklist_confirm_test,
    checklist_mark,
    consent_record,
)
from msa.cases.services.review import case_resume, case_suspend, review_start
from msa.cases.services.tasks import task_complete
from msa.cases.services.team import note_add, referral_create, referral_update, team_member_add
from msa.cases.views.base import actor_of, back, do, fail, load, officer_case, user_of
from msa.cases.views.pages import stock_for
from msa.core.actors import Actor
from msa.core.errors import MsaError
from msa.core.permissions import requires
from msa.devices import inventory
from msa.devices.case_end import (
    case_end_and_recall,
    consent_withdraw_and_recall,
    review_record_and_recall,
)
from msa.devices.models import Loan
from msa.devices.services import device_credentials

# (the case, the officer, the form's cleaned data) -> whatever the service returns
StepCall = Callable[[ProtectionCase, Actor, Mapping[str, Any]], object]


@dataclass(frozen=True, slots=True)
class Step:
    call: StepCall
    ok: Promise
    # the form the step reads: (POST data, case) -> form
    form: Callable[[QueryDict, ProtectionCase], forms.Form] | None = None
    # what the page says when the form is invalid; None: call anyway with no data (the
    # service says what is missing)
    invalid: Promise | None = None


def _check(item: str) -> Step:
    return Step(
        call=lambda c, a, d: checklist_mark(case=c, item=item, actor=a),
        ok=gettext_lazy("Checked."),
    )


STEPS: dict[str, Step] = {
    "submit": Step(
        call=lambda c, a, d: case_submit(case=c, actor=a),
        ok=gettext_lazy("Sent to the magistrate."),
    ),
    "consent": Step(
        call=lambda c, a, d: consent_record(
            case=c, given_at=d["given_at"], method=d["method"], actor=a
        ),
        ok=gettext_lazy("Consent recorded."),
        form=lambda post, c: f.ConsentForm(post),
        invalid=gettext_lazy("Consent: when and how."),
    ),
    "withdraw": Step(
        call=lambda c, a, d: consent_withdraw_and_recall(case=c, actor=a),
        ok=gettext_lazy("Consent withdrawn; devices recalled."),
    ),
    "loan": Step(
        call=lambda c, a, d: inventory.loan_create(item=d["item"], case=c, actor=a),
        ok=gettext_lazy("Lent."),
        form=lambda post, c: f.LoanForm(post, items=stock_for(c)),
        invalid=gettext_lazy("Choose an item in stock."),
    ),
    **{item: _check(item) for item in CHECK_ITEMS},
    "confirm_test": Step(
        call=lambda c, a, d: checklist_confirm_test(
            case=c, test_incident_reference=case_test_alarm_last(c), actor=a
        ),
        ok=gettext_lazy("Test alarm confirmed."),
    ),
    "activate": Step(
        call=lambda c, a, d: case_activate(case=c, actor=a),
        ok=gettext_lazy("The alarm is active."),
    ),
    "review_start": Step(
        call=lambda c, a, d: review_start(case=c, actor=a),
        ok=gettext_lazy("Review started."),
    ),
    "review": Step(
        call=lambda c, a, d: review_record_and_recall(
            case=c, outcome=d["outcome"], risk_level=d["risk_level"], notes=d["notes"], actor=a
        ),
        ok=gettext_lazy("Review recorded."),
        form=lambda post, c: f.ReviewForm(post),
        invalid=gettext_lazy("Choose the review's outcome."),
    ),
    "suspend": Step(
        call=lambda c, a, d: case_suspend(case=c, reason=d.get("reason", ""), actor=a),
        ok=gettext_lazy("Suspended."),
        form=lambda post, c: f.SuspendForm(post),
    ),
    "resume": Step(
        call=lambda c, a, d: case_resume(case=c, actor=a),
        ok=gettext_lazy("Resumed."),
    ),
    "end": Step(
        call=lambda c, a, d: case_end_and_recall(
            case=c,
            reason=d["reason"],
            note=d["note"],
            actor=a,
            open_incident=case_has_open_incident(c),
        ),
        ok=gettext_lazy("Ended."),
        form=lambda post, c: f.EndForm(post),
        invalid=gettext_lazy(
            "Not ended: choose the reason, and confirm that the case ends and its devices "
            "are recalled."
        ),
    ),
    "team": Step(
        call=lambda c, a, d: team_member_add(
            case=c, organisation=d["organisation"], role=d["role"], person=d["person"], actor=a
        ),
        ok=gettext_lazy("Added to the team."),
        form=lambda post, c: f.TeamForm(post),
        invalid=gettext_lazy("Choose the organisation and the role."),
    ),
    "referral": Step(
        call=lambda c, a, d: referral_create(
            case=c, who=d["who"], organisation=d["organisation"], actor=a
        ),
        ok=gettext_lazy("Referred."),
        form=lambda post, c: f.ReferralForm(post),
        invalid=gettext_lazy("Choose who and where."),
    ),
}


@require_POST
@requires(CASES)
def case_step(request: HttpRequest, reference: str, step: str) -> HttpResponse:
    """One POST endpoint per simple step of the reference officer (``STEPS``)."""
    case = officer_case(request, reference)
    spec = STEPS.get(step)
    if spec is None:
        raise Http404
    data: Mapping[str, Any] = {}
    if spec.form is not None:
        form = spec.form(request.POST, case)
        if form.is_valid():
            data = form.cleaned_data
        elif spec.invalid is not None:
            messages.error(request, str(spec.invalid))
            return back(case)
    actor = actor_of(request)
    return do(request, case, lambda: spec.call(case, actor, data), str(spec.ok))


@require_POST
@requires(CASES)
def case_pair(request: HttpRequest, reference: str) -> HttpResponse:
    """Issue the phone's credentials and show them once: the QR code and the key (built by
    the devices part, from ``MSA_PUBLIC_URL``)."""
    case = officer_case(request, reference)
    try:
        pairing = revocation.loan_pair(case=case, actor=actor_of(request))
    except MsaError as exc:
        fail(request, exc)
        return back(case)
    credentials = device_credentials(pairing.device, pairing.key)
    response = render(
        request,
        "cases/paired.html",
        {
            "case": case,
            "device": credentials.device,
            "key_text": credentials.key_text,
            "qr_text": credentials.qr_text,
            "qr_svg": credentials.qr_svg(),
            "base_url": credentials.base_url,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@requires(CASES)
def case_return(request: HttpRequest, reference: str, loan_id: int) -> HttpResponse:
    case = officer_case(request, reference)
    loan = Loan.objects.filter(case=case, pk=loan_id).first()
    form = f.ReturnForm(request.POST)
    if loan is None or not form.is_valid():
        raise Http404
    condition = form.cleaned_data["condition"]
    return do(
        request,
        case,
        lambda: revocation.loan_return(loan=loan, condition=condition, actor=actor_of(request)),
        _("Return recorded."),
    )


@require_POST
@requires(CASES)
def task_done(request: HttpRequest, reference: str, task_id: int) -> HttpResponse:
    case = officer_case(request, reference)
    task = CaseTask.objects.filter(case=case, pk=task_id).first()
    if task is None:
        raise Http404
    task_complete(task=task, actor=actor_of(request))
    messages.success(request, _("Task done."))
    if request.POST.get("next") == "list":
        return redirect("cases:list")
    return back(case)


# --- the care team: notes and referral statuses (team members included) ------------------------


def _team_org(request: HttpRequest, case: ProtectionCase) -> Organisation | None:
    ids = case.team.filter(left_at__isnull=True).values_list("organisation_id", flat=True)
    membership = (
        Membership.objects.filter(user=user_of(request), organisation_id__in=list(ids))
        .select_related("organisation")
        .first()
    )
    return membership.organisation if membership else None


@require_POST
@requires(CASES)
def case_note(request: HttpRequest, reference: str) -> HttpResponse:
    case, access, _r = load(request, reference)
    if not (access.is_officer or access.is_magistrate or access.level == sel.ACCESS_TEAM):
        raise Http404
    form = f.NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A note needs a text."))
        return back(case)
    d = form.cleaned_data
    return do(
        request,
        case,
        lambda: note_add(
            case=case,
            kind=d["kind"],
            text=d["text"],
            actor=actor_of(request),
            organisation=_team_org(request, case),
        ),
        _("Saved."),
    )


@require_POST
@requires(CASES)
def referral_status(request: HttpRequest, reference: str, referral_id: int) -> HttpResponse:
    """A referral's transition (a button of the dossier), by the officer or the service."""
    case, access, _r = load(request, reference)
    referral = Referral.objects.filter(case=case, pk=referral_id).first()
    if referral is None:
        raise Http404
    own_service = _team_org(request, case) == referral.organisation
    if not (access.is_officer or own_service):
        raise Http404
    form = f.ReferralTransitionForm(request.POST)
    if not form.is_valid():
        raise Http404
    transition = form.cleaned_data["transition"]
    return do(
        request,
        case,
        lambda: referral_update(referral=referral, transition=transition, actor=actor_of(request)),
        _("Referral updated."),
    )
