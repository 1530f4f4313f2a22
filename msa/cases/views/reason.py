"""The reason for access to a dossier: the one form, and the session's grants.

The rule is ``msa.cases.selectors.dossier_access_reason_required`` (design section 3): the
case's owners (the zone roles of its police zone, the magistrates of its prosecutor's office)
read it as part of their work; anybody else states why, unless an incident of the case is
open. The stated reason is audited (``msa.cases.services.dossier.case_reason_state``, action
``dossier.reason``) and kept in the session for ``GRANT_S`` seconds for that one case; every
read it unlocks is audited with it.

How another page uses it (see ``msa.dispatch.views.incident_detail``)::

    reason = dossier_reason(request, case, default=..., open_incident=case_has_open_incident(case))
    if reason is None:
        return dossier_reason_prompt(request, case)   # the form; comes back here after
    ...                                               # the read's audit row carries the reason
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from msa.accounts.models import User
from msa.alarms.selectors import case_has_open_incident
from msa.cases import selectors as sel
from msa.cases.forms import ReasonForm
from msa.cases.models import ProtectionCase
from msa.cases.permissions import CASES
from msa.cases.services.dossier import case_reason_state
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import NotFoundError
from msa.core.permissions import requires

SESSION_KEY = "msa_dossier_reasons"
GRANT_S = 15 * 60


def dossier_reason_granted(request: HttpRequest, case: ProtectionCase) -> str | None:
    """The reason this session stated for ``case`` within the last ``GRANT_S`` seconds."""
    grants = request.session.get(SESSION_KEY, {})
    grant = grants.get(str(case.pk))
    if not grant or clock.now().timestamp() - float(grant["at"]) > GRANT_S:
        return None
    return str(grant["reason"])


def _remember(request: HttpRequest, case: ProtectionCase, reason: str) -> None:
    now = clock.now().timestamp()
    grants = {
        k: v
        for k, v in dict(request.session.get(SESSION_KEY, {})).items()
        if now - float(v["at"]) <= GRANT_S
    }
    grants[str(case.pk)] = {"reason": reason, "at": now}
    request.session[SESSION_KEY] = grants


def dossier_reason(
    request: HttpRequest, case: ProtectionCase, *, default: str, open_incident: bool
) -> str | None:
    """The reason to record for this read: ``default`` when none is required, the stated
    one when given, or None: then answer ``dossier_reason_prompt``."""
    user = request.user
    assert isinstance(user, User)
    if not sel.dossier_access_reason_required(user, case, open_incident=open_incident):
        return default
    return dossier_reason_granted(request, case)


def _render(
    request: HttpRequest, case: ProtectionCase, form: ReasonForm, target: str
) -> HttpResponse:
    return render(
        request,
        "cases/reason.html",
        {
            "form": form,
            "action": reverse("cases:reason", kwargs={"reference": case.reference}),
            "next": target,
        },
    )


def dossier_reason_prompt(request: HttpRequest, case: ProtectionCase) -> HttpResponse:
    """The reason form, coming back to this page once the reason is stated."""
    return _render(request, case, ReasonForm(), request.get_full_path())


@require_http_methods(["GET", "POST"])
@requires(CASES)
def case_reason(request: HttpRequest, reference: str) -> HttpResponse:
    """State the reason for a case (404 outside the reader's scope: the form reveals nothing),
    then go on to ``next`` (a page of this site; the dossier by default), which applies its
    own scope. A reader who needs no reason is sent straight on."""
    user = request.user
    assert isinstance(user, User)
    try:
        case = sel.case_get(user, reference)
        access = sel.case_access(
            user,
            case,
            open_incident=case_has_open_incident(case),
            stated_reason=dossier_reason_granted(request, case) is not None,
        )
    except NotFoundError:
        raise Http404 from None
    target = request.POST.get("next") or request.GET.get("next")
    if not target:
        target = reverse("cases:detail", kwargs={"reference": case.reference})
    elif not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = "/"  # a path of this site only (redirect() would try "²" as a view name: 500)
    if not access.may_state_reason:
        return redirect(target)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"].strip()
        case_reason_state(case=case, actor=Actor.for_user(user), reason=reason)
        _remember(request, case, reason)
        return redirect(target)
    return _render(request, case, form, target)
