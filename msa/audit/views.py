"""The audit viewer: supervisors and administrators filter the trail; each look is audited."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from msa.accounts.models import User
from msa.accounts.permissions import AUDIT_VIEW
from msa.audit.selectors import AuditFilter, audit_entries
from msa.audit.services import audit_record
from msa.core.actors import Actor
from msa.core.params import param_int
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
    page_number = param_int(raw_page, 1) or 1
    page = Paginator(audit_entries(flt), PAGE_SIZE).get_page(page_number)
    _record_view(user, flt, page.number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
