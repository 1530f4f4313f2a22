"""The audit viewer: supervisors and administrators filter the trail; each look is audited."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from msa.accounts.models import User
from msa.accounts.permissions import AUDIT_VIEW, SIGNED_IN
from msa.audit.access import dossier_reason_remember
from msa.audit.selectors import AuditFilter, audit_entries
from msa.audit.services import audit_record
from msa.cases.selectors import cases_visible_to
from msa.core.actors import Actor
from msa.core.permissions import requires

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=80)
    subject_type = forms.CharField(label=_("Subject type"), required=False, max_length=60)
    subject_id = forms.CharField(label=_("Subject id"), required=False, max_length=64)
    since = forms.DateTimeField(label=_("From"), required=False)
    until = forms.DateTimeField(label=_("Until"), required=False)


@transaction.atomic(durable=True)
def _record_view(user: User, flt: AuditFilter, page: int) -> None:
    audit_record(
        actor=Actor.for_user(user),
        action="audit.view",
        subject_type="audit.auditentry",
        new={
            "actor": flt.actor,
            "action": flt.action,
            "subject_type": flt.subject_type,
            "subject_id": flt.subject_id,
            "since": flt.since.isoformat() if flt.since else "",
            "until": flt.until.isoformat() if flt.until else "",
            "page": page,
        },
    )


@require_GET
@requires(AUDIT_VIEW)
def audit_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = AuditFilterForm(request.GET or None)
    flt = AuditFilter()
    if form.is_valid():
        flt = AuditFilter(**{k: v for k, v in form.cleaned_data.items() if v})
    raw_page = request.GET.get("page", "1")
    page_number = int(raw_page) if raw_page.isdigit() else 1
    page = Paginator(audit_entries(flt), PAGE_SIZE).get_page(page_number)
    _record_view(user, flt, page.number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you open this file?"),
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@transaction.atomic(durable=True)
def _record_reason(user: User, case_id: int, reason: str) -> None:
    audit_record(
        actor=Actor.for_user(user),
        action="dossier.reason",
        subject_type="cases.protectioncase",
        subject_id=str(case_id),
        reason=reason,
    )


@require_http_methods(["GET", "POST"])
@requires(SIGNED_IN)
def dossier_reason_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The reason form of ``msa.audit.access``; the page behind ``next`` still applies its
    own scope, so this form reveals nothing about the case."""
    user = request.user
    assert isinstance(user, User)
    if not cases_visible_to(user).filter(pk=case_id).exists():
        raise Http404
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"].strip()
        _record_reason(user, case_id, reason)
        dossier_reason_remember(request, case_id, reason)
        return redirect(target)
    return render(
        request,
        "audit/reason.html",
        {"form": form, "action": request.path, "next": target},
    )
