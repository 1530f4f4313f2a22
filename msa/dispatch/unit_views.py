"""The unit's mobile page at /unit/: its dispatch, the people, the live position, the buttons.

A patrol officer sees an incident only while their unit is dispatched to it; each view of
the dossier is audited.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from msa.accounts.models import User
from msa.alarms import selectors as alarm_selectors
from msa.alarms.services.dossier import incident_dossier_open
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import MsaError, NotFoundError, ValidationError
from msa.core.permissions import requires
from msa.dispatch import selectors
from msa.dispatch.models import Unit
from msa.dispatch.permissions import UNIT_CREW
from msa.dispatch.services.console import incident_outcome_record
from msa.dispatch.services.dispatching import dispatch_progress
from msa.dispatch.services.units import unit_position_record, unit_status_change
from msa.dispatch.states import UnitTransitionName
from msa.dispatch.views import OUTCOME_LABELS, outcome_from, progress_transition


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _unit(request: HttpRequest) -> Unit:
    unit = selectors.unit_of(_user(request))
    if unit is None:
        raise Http404
    return unit


@require_GET
@requires(UNIT_CREW)
def unit_home(request: HttpRequest) -> HttpResponse:
    unit = _unit(request)
    dispatch = selectors.unit_current_dispatch(unit)
    context: dict[str, object] = {"unit": unit, "dispatch": dispatch, "outcomes": OUTCOME_LABELS}
    if dispatch is not None:
        incident = dispatch.incident
        incident_dossier_open(
            incident=incident,
            actor=Actor.for_user(_user(request)),
            reason=f"unit {unit.call_sign} dispatched to {incident.reference}",
        )
        fixes = alarm_selectors.incident_fixes(incident)
        context.update(
            {
                "incident": incident,
                "victim": incident.case.victim,
                "suspect": incident.case.suspect,
                "last_fix": fixes[-1] if fixes else None,
                "map_data": {
                    "fixes": [
                        {
                            "lat": f.lat,
                            "lon": f.lon,
                            "accuracy_m": f.accuracy_m,
                            "fix_at": f.fix_at.isoformat(),
                        }
                        for f in fixes
                    ],
                    "units": [
                        {
                            "id": unit.pk,
                            "call_sign": unit.call_sign,
                            "lat": unit.lat,
                            "lon": unit.lon,
                            "status": unit.status,
                            "eta_s": dispatch.eta_s,
                        },
                    ]
                    if unit.lat is not None and unit.lon is not None
                    else [],
                    "zones": selectors.exclusion_zones_for(incident),
                    "places": [],
                },
            },
        )
    return render(request, "unit/home.html", context)


@require_GET
@requires(UNIT_CREW)
def unit_track(request: HttpRequest) -> JsonResponse:
    """The victim's positions after ``after`` while the unit is on this dispatch."""
    unit = _unit(request)
    dispatch = selectors.unit_current_dispatch(unit)
    if dispatch is None:
        return JsonResponse({"dispatch": None, "positions": []})
    after = parse_datetime(request.GET.get("after", "")) if request.GET.get("after") else None
    fixes = alarm_selectors.incident_fixes(dispatch.incident)
    return JsonResponse(
        {
            "dispatch": dispatch.pk,
            "status": dispatch.status,
            "positions": [
                {
                    "lat": f.lat,
                    "lon": f.lon,
                    "accuracy_m": f.accuracy_m,
                    "fix_at": f.fix_at.isoformat(),
                }
                for f in fixes
                if after is None or f.fix_at > after
            ],
        },
    )


@require_POST
@requires(UNIT_CREW)
def unit_progress(request: HttpRequest, dispatch_id: int) -> HttpResponse:
    try:
        dispatch = selectors.unit_dispatch_get(_user(request), dispatch_id)
    except NotFoundError:
        raise Http404 from None
    transition = progress_transition(request.POST.get("transition", ""))
    if transition is None:
        raise Http404
    try:
        dispatch_progress(
            dispatch=dispatch, transition=transition, actor=Actor.for_user(_user(request))
        )
    except MsaError as exc:
        messages.error(request, exc.translated())
    return redirect("unit:home")


@require_POST
@requires(UNIT_CREW)
def unit_outcome(request: HttpRequest, dispatch_id: int) -> HttpResponse:
    try:
        dispatch = selectors.unit_dispatch_get(_user(request), dispatch_id)
    except NotFoundError:
        raise Http404 from None
    try:
        outcome, violence, injured = outcome_from(request.POST)
        incident_outcome_record(
            incident=dispatch.incident,
            actor=Actor.for_user(_user(request)),
            outcome=outcome,
            violence_before_arrival=violence,
            victim_injured=injured,
        )
    except MsaError as exc:
        messages.error(request, exc.translated())
    return redirect("unit:home")


@require_POST
@requires(UNIT_CREW)
def unit_status(request: HttpRequest) -> HttpResponse:
    try:
        transition = UnitTransitionName(request.POST.get("transition", ""))
        unit_status_change(
            unit=_unit(request), transition=transition, actor=Actor.for_user(_user(request))
        )
    except ValueError:
        messages.error(request, "unknown status")
    except MsaError as exc:
        messages.error(request, exc.translated())
    return redirect("unit:home")


def _fix_time(raw: object) -> datetime:
    fix_at = parse_datetime(raw) if isinstance(raw, str) else clock.now()
    if fix_at is None or fix_at.tzinfo is None:
        raise ValidationError("fix_at must be an ISO time with a zone", fields={"fix_at": "bad"})
    return fix_at


@require_POST
@requires(UNIT_CREW)
def unit_position(request: HttpRequest) -> JsonResponse:
    """The officer's browser reports where the unit is (JSON: lat, lon, accuracy_m, fix_at)."""
    unit = _unit(request)
    try:
        body = json.loads(request.body or b"{}")
        lat = float(body["lat"])
        lon = float(body["lon"])
        accuracy = float(body["accuracy_m"]) if body.get("accuracy_m") is not None else None
        fix_at = _fix_time(body.get("fix_at"))
        unit_position_record(
            unit=unit,
            lat=lat,
            lon=lon,
            accuracy_m=accuracy,
            fix_at=fix_at,
            source="browser",
            actor=Actor.for_user(_user(request)),
        )
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"code": "validation_error", "message": "lat and lon required"}, status=400
        )
    except ValidationError as exc:
        return JsonResponse(
            {"code": exc.code, "message": exc.message, "fields": exc.fields}, status=400
        )
    return JsonResponse({"ok": True})
