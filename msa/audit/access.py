"""Reason for access: a dossier opened outside an open incident needs a stated reason.

Design section 3: the dispatch centre sees a dossier in full only while an incident of that
case is open, or when the reader states why. The owners of the case (its police zone and
that zone's prosecutor's office) read it as part of their work and state no reason.

How a view uses it (see ``msa.dispatch.views.incident_detail``)::

    reason = dossier_reason(request, case, default=f"open incident {incident.reference}")
    if reason is None:
        return dossier_reason_prompt(request, case)   # the form; comes back here after
    case_dossier_read(..., reason=reason)             # the audit row carries the reason

The reason form (``audit:reason``) records an audit row ``dossier.reason`` and remembers
the reason in the session for ``GRANT_S`` seconds for that one case.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from msa.accounts.models import Membership
from msa.core import clock

SESSION_KEY = "msa_dossier_reasons"
GRANT_S = 15 * 60


def _open_incident_exists(case: Any) -> bool:
    from msa.alarms.models import Incident
    from msa.alarms.states import OPEN_STATES

    return Incident.objects.filter(
        case=case, lane="live", status__in=[str(s) for s in OPEN_STATES]
    ).exists()


def _owns_case(user: Any, case: Any) -> bool:
    zone = case.police_zone
    owners = [zone.pk] + ([zone.prosecutor_office_id] if zone.prosecutor_office_id else [])
    return Membership.objects.filter(user=user, organisation_id__in=owners).exists()


def dossier_access_reason_required(user: Any, case: Any) -> bool:
    """True when ``user`` must state a reason before reading the dossier of ``case``."""
    return not _owns_case(user, case) and not _open_incident_exists(case)


def dossier_reason_granted(request: HttpRequest, case: Any) -> str | None:
    """The reason this session stated for ``case`` within the last ``GRANT_S`` seconds."""
    grants = request.session.get(SESSION_KEY, {})
    grant = grants.get(str(case.pk))
    if not grant or clock.now().timestamp() - float(grant["at"]) > GRANT_S:
        return None
    return str(grant["reason"])


def dossier_reason_remember(request: HttpRequest, case_id: int, reason: str) -> None:
    grants = dict(request.session.get(SESSION_KEY, {}))
    now = clock.now().timestamp()
    grants = {k: v for k, v in grants.items() if now - float(v["at"]) <= GRANT_S}
    grants[str(case_id)] = {"reason": reason, "at": now}
    request.session[SESSION_KEY] = grants


def dossier_reason(request: HttpRequest, case: Any, *, default: str) -> str | None:
    """The reason to record for this read: ``default`` when none is required, the stated
    one when given, or None: then answer ``dossier_reason_prompt``."""
    if not dossier_access_reason_required(request.user, case):
        return default
    return dossier_reason_granted(request, case)


def dossier_reason_prompt(request: HttpRequest, case: Any) -> HttpResponse:
    return render(
        request,
        "audit/reason.html",
        {
            "action": reverse("audit:reason", kwargs={"case_id": case.pk}),
            "next": request.get_full_path(),
        },
    )
