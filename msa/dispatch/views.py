"""The operator console: thin views over alarms' services and selectors."""

from __future__ import annotations

import contextlib
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from msa.accounts.models import Organisation, User
from msa.accounts.selectors import console_centres_for
from msa.alarms import selectors as alarm_selectors
from msa.alarms.services import incident_acknowledge, incident_dossier_open
from msa.alarms.states import IncidentState
from msa.core.actors import Actor
from msa.core.errors import NotFoundError, TransitionNotAllowedError
from msa.core.permissions import requires
from msa.dispatch.permissions import CONSOLE
from msa.realtime.selectors import last_seq


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _centre(user: User, centre_id: int | None) -> Organisation:
    centres = console_centres_for(user)
    centre = centres.filter(pk=centre_id).first() if centre_id else centres.first()
    if centre is None:
        raise Http404
    return centre


def _queue_context(user: User, centre: Organisation) -> dict[str, Any]:
    lanes = alarm_selectors.queue_for(user, centre.pk)
    unacknowledged = sum(1 for i in lanes["live"] if i.status == IncidentState.RECEIVED)
    return {"centre": centre, "lanes": lanes, "unacknowledged": unacknowledged}


@require_GET
@requires(CONSOLE)
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    raw = request.GET.get("centre", "")
    centre = _centre(user, int(raw) if raw.isdigit() else None)
    context = _queue_context(user, centre)
    context["last_seq"] = last_seq(centre_id=centre.pk)
    return render(request, "console/home.html", context)


@require_GET
@requires(CONSOLE)
def queue(request: HttpRequest, centre_id: int) -> HttpResponse:
    user = _user(request)
    centre = _centre(user, centre_id)
    return render(request, "console/_queue.html", _queue_context(user, centre))


@require_GET
@requires(CONSOLE)
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    try:
        incident = alarm_selectors.incident_get(user, reference)
    except NotFoundError:
        raise Http404 from None
    incident_dossier_open(incident=incident, actor=Actor.for_user(user))
    fixes = alarm_selectors.incident_fixes(incident)
    return render(
        request,
        "console/incident.html",
        {
            "incident": incident,
            "case": incident.case,
            "victim": incident.case.victim,
            "suspect": incident.case.suspect,
            "fixes": fixes,
            "last_fix": fixes[-1] if fixes else None,
            "map_data": {
                "fixes": [
                    {
                        "lat": f.lat,
                        "lon": f.lon,
                        "accuracy_m": f.accuracy_m,
                        "fix_at": f.fix_at.isoformat(),
                        "label": _("victim · %(time)s")
                        % {"time": date_format(localtime(f.fix_at), "H:i:s")},
                    }
                    for f in fixes
                ],
            },
        },
    )


@require_POST
@requires(CONSOLE)
def incident_acknowledge_view(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    try:
        incident = alarm_selectors.incident_get(user, reference)
    except NotFoundError:
        raise Http404 from None
    # When somebody else acknowledged first, the page shows who.
    with contextlib.suppress(TransitionNotAllowedError):
        incident_acknowledge(incident=incident, actor=Actor.for_user(user))
    return redirect("console:incident", reference=reference)
