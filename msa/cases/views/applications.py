"""Applications from support services (issue 17): the counsellor applies and follows the
state of her service's applications; the zone's officer accepts, merges or declines.

The applicant sees what her service wrote and the application's state (received, accepted,
declined with the reason, active, ended), nothing of the police file; once accepted, her
service is on the case's care team and sees the team's part of the case, as any team member.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from msa.cases import forms as f
from msa.cases import selectors as sel
from msa.cases.models import ApplicationItem, CaseApplication
from msa.cases.permissions import APPLICATIONS, APPLY
from msa.cases.services.application import (
    ApplicationInput,
    applicant_view,
    application_accept,
    application_decline,
    application_merge,
    application_read,
    application_submit,
)
from msa.cases.services.opening import PersonInput
from msa.cases.states import APPLICANT_VIEW_LABELS, ApplicationState
from msa.cases.views.base import actor_of, fail, user_of
from msa.core.errors import MsaError, NotFoundError, ValidationError
from msa.core.permissions import requires


def application_items(application: CaseApplication) -> list[tuple[str, str]]:
    """(key, label) of what the service saw."""
    labels = dict(ApplicationItem.choices)
    return [(key, str(labels.get(key, key))) for key in application.items]


def _row(application: CaseApplication) -> dict[str, Any]:
    view = applicant_view(application)
    return {"a": application, "view": str(view), "label": APPLICANT_VIEW_LABELS[view]}


@require_GET
@requires(APPLICATIONS)
def application_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    rows = (
        sel.applications_visible_to(user)
        .select_related("source_org", "case__police_zone", "merged_into")
        .order_by("-submitted_at", "-id")[:200]
    )
    return render(
        request,
        "cases/applications.html",
        {"rows": [_row(a) for a in rows], "may_apply": APPLY.check(user)},
    )


@require_http_methods(["GET", "POST"])
@requires(APPLY)
def application_new(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = f.ApplicationForm(request.POST or None, services=sel.support_services_of(user))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        data = ApplicationInput(
            victim=PersonInput(
                first_name=d["victim_first_name"],
                last_name=d["victim_last_name"],
                birth_date=d["victim_birth_date"],
                languages=d["victim_languages"],
                address=d["victim_address"],
                children_notes=d["victim_children"],
            ),
            suspect=PersonInput(
                first_name=d["suspect_first_name"],
                last_name=d["suspect_last_name"],
                birth_date=d["suspect_birth_date"],
                address=d["suspect_address"],
                vehicle=d["suspect_vehicle"],
                weapons=d["suspect_weapons"],
            ),
            relation=d["relation"],
            safe_number=d["safe_number"],
            times_to_avoid=d["times_to_avoid"],
            org_level=d["org_level"],
            urgency_notes=d["urgency_notes"],
            items=tuple(d["items"]),
            victim_agrees=d["victim_agrees"],
        )
        try:
            application = application_submit(
                organisation=d["organisation"], zone=d["zone"], data=data, applicant=user
            )
        except ValidationError as exc:
            for name, problem in exc.fields.items():
                key = {"phone_number": "safe_number"}.get(name, name)
                form.add_error(key if key in form.fields else None, f"{_(exc.message)}: {problem}")
        else:
            messages.success(
                request,
                _("Application %(reference)s sent to the police zone.")
                % {"reference": application.reference},
            )
            return redirect("cases:application_detail", reference=application.reference)
    return render(request, "cases/application_new.html", {"form": form})


def _load(request: HttpRequest, reference: str) -> CaseApplication:
    try:
        return sel.application_get(user_of(request), reference)
    except NotFoundError:
        raise Http404 from None


@require_GET
@requires(APPLICATIONS)
def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    application = _load(request, reference)
    user = user_of(request)
    officer = sel.application_decided_by(user, application)
    application_read(
        application=application,
        actor=actor_of(request),
        scope="officer" if officer else "applicant",
    )
    context: dict[str, Any] = {
        "application": application,
        "row": _row(application),
        "officer": officer,
        "received": application.status == ApplicationState.RECEIVED,
        "items": application_items(application),
        "history": application.transitions.all(),
    }
    if officer:
        context.update(merge_form=f.ApplicationMergeForm(), decline_form=f.ApplicationDeclineForm())
    return render(request, "cases/application_detail.html", context)


def _accept(request: HttpRequest, application: CaseApplication) -> HttpResponse:
    accepted = application_accept(application=application, actor=actor_of(request))
    messages.success(request, _("Accepted: assess the risk now."))
    return redirect("cases:detail", reference=accepted.case.reference)


def _merge(request: HttpRequest, application: CaseApplication) -> HttpResponse | None:
    merge = f.ApplicationMergeForm(request.POST)
    if not merge.is_valid():
        messages.error(request, _("Give the reference of the victim's existing case."))
        return None
    try:
        into = sel.case_get(user_of(request), merge.cleaned_data["into"])
    except NotFoundError:
        messages.error(request, _("No such case."))
        return None
    application_merge(application=application, into=into, actor=actor_of(request))
    messages.success(request, _("Merged into %(ref)s.") % {"ref": into.reference})
    return redirect("cases:detail", reference=into.reference)


def _decline(request: HttpRequest, application: CaseApplication) -> HttpResponse | None:
    decline = f.ApplicationDeclineForm(request.POST)
    if not decline.is_valid():
        messages.error(request, _("Choose the reason for declining."))
        return None
    application_decline(
        application=application,
        reason=decline.cleaned_data["reason"],
        note=decline.cleaned_data["note"],
        actor=actor_of(request),
    )
    messages.success(request, _("Declined; the applicant sees the reason."))
    return None


DECISIONS: dict[str, Callable[[HttpRequest, CaseApplication], HttpResponse | None]] = {
    "accept": _accept,
    "merge": _merge,
    "decline": _decline,
}


@require_POST
@requires(APPLICATIONS)
def application_decide(request: HttpRequest, reference: str) -> HttpResponse:
    """Accept (on to the case), merge (on to the existing case) or decline (back here)."""
    application = _load(request, reference)
    if not sel.application_decided_by(user_of(request), application):
        raise Http404
    decide = DECISIONS.get(request.POST.get("action", ""))
    response: HttpResponse | None = None
    if decide is None:
        messages.error(request, _("Accept, merge or decline."))
    else:
        try:
            response = decide(request, application)
        except MsaError as exc:
            fail(request, exc)
    return response or redirect("cases:application_detail", reference=application.reference)
