"""What every case page shares: who asks, loading a case with what they may see of it, and
answering a step (a message and back to the dossier)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from msa.accounts.models import User
from msa.alarms.selectors import case_has_open_incident
from msa.cases import selectors as sel
from msa.cases.models import ProtectionCase
from msa.cases.views.reason import dossier_reason_granted
from msa.core.actors import Actor
from msa.core.errors import MsaError, NotFoundError, ValidationError


def user_of(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def actor_of(request: HttpRequest) -> Actor:
    return Actor.for_user(user_of(request))


def load(request: HttpRequest, reference: str) -> tuple[ProtectionCase, sel.CaseAccess, str]:
    """The case (404 outside the reader's scope), what the reader may see of it, and the
    reason they stated for it within its grant period ("" when none)."""
    user = user_of(request)
    try:
        case = sel.case_get(user, reference)
        reason = dossier_reason_granted(request, case) or ""
        access = sel.case_access(
            user,
            case,
            open_incident=case_has_open_incident(case),
            stated_reason=bool(reason),
        )
    except NotFoundError:
        raise Http404 from None
    return case, access, reason


def officer_case(request: HttpRequest, reference: str) -> ProtectionCase:
    case, access, _reason = load(request, reference)
    if not access.is_officer:
        raise Http404
    return case


def magistrate_case(request: HttpRequest, reference: str) -> ProtectionCase:
    case, access, _reason = load(request, reference)
    if not access.is_magistrate:
        raise Http404
    return case


def back(case: ProtectionCase, anchor: str = "") -> HttpResponse:
    response = redirect("cases:detail", reference=case.reference)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


def fail(request: HttpRequest, exc: MsaError) -> None:
    detail = ""
    if isinstance(exc, ValidationError) and exc.fields:
        detail = " (" + ", ".join(f"{k}: {v}" for k, v in exc.fields.items()) + ")"
    messages.error(request, f"{exc.translated()}{detail}")  # marked with gettext_noop where raised


def do(
    request: HttpRequest, case: ProtectionCase, call: Callable[[], Any], ok: str
) -> HttpResponse:
    """Run one service call; say how it went; back to the dossier."""
    try:
        call()
    except MsaError as exc:
        fail(request, exc)
    else:
        messages.success(request, ok)
    return back(case)
