"""The operator console: thin views over the dispatch services and selectors.

Every action is a POST that calls one service and redirects back to the incident (or
answers the fragment for htmx); a refused action is shown as a message, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from msa.accounts.models import Organisation, User
from msa.accounts.selectors import console_centres_for
from msa.alarms import selectors as alarm_selectors
from msa.alarms.models import Incident
from msa.alarms.services.dossier import incident_dossier_open
from msa.alarms.states import OPEN_STATES, IncidentState, Outcome
from msa.cases.states import CaseState
from msa.cases.views.reason import dossier_reason, dossier_reason_prompt
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import MsaError, NotFoundError, ValidationError
from msa.core.params import param_int
from msa.core.permissions import requires
from msa.dispatch import selectors
from msa.dispatch.models import Dispatch
from msa.dispatch.permissions import CONSOLE, CONSOLE_ACT, SUPERVISE
from msa.dispatch.services.console import (
    MAX_NOTE,
    incident_acknowledge,
    incident_close,
    incident_note_add,
    incident_outcome_record,
    incident_reopen,
    tracking_extend,
    tracking_stop,
)
from msa.dispatch.services.dispatching import dispatch_create, dispatch_progress
from msa.dispatch.services.supervisor import incident_reassign
from msa.dispatch.states import DispatchTransitionName
from msa.dispatch.supervision import supervised_centres, supervisor_overview
from msa.realtime.selectors import last_seq

OUTCOME_LABELS: list[tuple[str, Any]] = [
    (Outcome.ARRESTED_ON_SCENE, gettext_lazy("suspect arrested on scene")),
    (Outcome.ARRESTED_LATER, gettext_lazy("suspect arrested later")),
    (Outcome.NOT_FOUND, gettext_lazy("suspect not found")),
    (Outcome.NO_OFFENCE, gettext_lazy("no offence")),
    (Outcome.FALSE_MISPRESS, gettext_lazy("false alarm: mis-press")),
    (Outcome.FALSE_TEST, gettext_lazy("false alarm: test")),
    (Outcome.FALSE_TECHNICAL, gettext_lazy("false alarm: technical")),
]


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


def _alerts(lanes: dict[str, list[Incident]], centre: Organisation) -> list[dict[str, Any]]:
    """The supervisor banner: every live incident whose timer ran out."""
    alerts = []
    for incident in lanes["live"]:
        kinds = []
        if incident.status == IncidentState.RECEIVED and incident.ack_escalated_at:
            kinds.append(_("not acknowledged"))
        if incident.backup_centre_id == centre.pk and incident.status == IncidentState.RECEIVED:
            kinds.append(_("offered to us as backup"))
        elif incident.backup_centre_id and incident.status == IncidentState.RECEIVED:
            kinds.append(_("offered to the backup centre"))
        if incident.status == IncidentState.ACKNOWLEDGED and incident.dispatch_overdue_at:
            kinds.append(_("no unit dispatched"))
        if incident.on_scene_breach_at and not incident.on_scene_at:
            kinds.append(_("10-minute on-scene target missed"))
        if kinds:
            alerts.append({"incident": incident, "kinds": kinds})
    return alerts


def _queue_context(user: User, centre: Organisation) -> dict[str, Any]:
    lanes = selectors.queue_for(user, centre.pk)
    unacknowledged = sum(1 for i in lanes["live"] if i.status == IncidentState.RECEIVED)
    alerts = _alerts(lanes, centre)
    test_waiting = sum(
        1
        for i in lanes["test"]
        if i.status == IncidentState.RECEIVED and i.case.status != CaseState.ENDED
    )
    return {
        "centre": centre,
        "lanes": lanes,
        "unacknowledged": unacknowledged,
        "test_waiting": test_waiting,
        "queue_rule": selectors.QUEUE_RULE,
        "now": clock.now(),
        "alerts": alerts,
        "ack_target_s": settings.MSA_ACK_TARGET_S,
        "on_scene_target_s": settings.MSA_ON_SCENE_TARGET_S,
    }


@require_GET
@requires(CONSOLE)
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    raw = request.GET.get("centre", "")
    centre = _centre(user, param_int(raw))
    context = _queue_context(user, centre)
    context["last_seq"] = last_seq(centre_id=centre.pk)
    return render(request, "console/home.html", context)


@require_GET
@requires(CONSOLE)
def queue(request: HttpRequest, centre_id: int) -> HttpResponse:
    user = _user(request)
    centre = _centre(user, centre_id)
    return render(request, "console/_queue.html", _queue_context(user, centre))


def _incident(request: HttpRequest, reference: str) -> Incident:
    try:
        return selectors.incident_get(_user(request), reference)
    except NotFoundError:
        raise Http404 from None


def _incident_context(user: User, incident: Incident) -> dict[str, Any]:
    """What the incident page and its live fragment show."""
    fixes = alarm_selectors.incident_fixes(incident)
    last_fix = fixes[-1] if fixes else None
    at = (last_fix.lat, last_fix.lon) if last_fix else None
    dispatches = selectors.dispatches_of(incident)
    open_dispatches = [d for d in dispatches if d.is_open]
    recommended = (
        selectors.units_recommend(incident, at=at) if incident.status in OPEN_STATES else []
    )
    units = list(selectors.units_for_centre(incident.centre).select_related("police_zone"))
    etas = selectors.unit_etas(units, at=at)
    now = clock.now()
    centre_id = incident.centre_id
    watching = [c.pk for c in console_centres_for(user)]
    if centre_id not in watching and incident.backup_centre_id in watching:
        centre_id = incident.backup_centre_id or centre_id
    return {
        "incident": incident,
        "case": incident.case,
        "victim": incident.case.victim,
        "suspect": incident.case.suspect,
        "fixes": fixes,
        "last_fix": last_fix,
        "dispatches": dispatches,
        "open_dispatches": open_dispatches,
        "recommended": recommended,
        "timeline": selectors.incident_timeline(incident),
        "earlier": selectors.earlier_incidents(incident),
        "outcomes": OUTCOME_LABELS,
        "is_open": incident.status in OPEN_STATES,
        "tracking_open": incident.track_until is None or incident.track_until > now,
        "watch_centre": centre_id,
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
            "units": [
                {
                    "id": u.pk,
                    "call_sign": u.call_sign,
                    "lat": u.lat,
                    "lon": u.lon,
                    "status": u.status,
                    "eta_s": etas.get(u.pk),
                }
                for u in units
                if u.lat is not None and u.lon is not None
            ],
            "zones": selectors.exclusion_zones_for(incident),
            "places": [],  # home/work with coordinates, when the cases part records them
        },
    }


@require_GET
@requires(CONSOLE)
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    incident = _incident(request, reference)
    # Outside an open incident the dossier needs a stated reason (msa.cases.views.reason).
    reason = dossier_reason(
        request,
        incident.case,
        default=f"open incident {reference}",
        open_incident=alarm_selectors.case_has_open_incident(incident.case),
    )
    if reason is None:
        return dossier_reason_prompt(request, incident.case)
    incident_dossier_open(incident=incident, actor=Actor.for_user(user), reason=reason)
    context = _incident_context(user, incident)
    context["last_seq"] = last_seq(centre_id=context["watch_centre"])
    return render(request, "console/incident.html", context)


@require_GET
@requires(CONSOLE)
def incident_live(request: HttpRequest, reference: str) -> HttpResponse:
    """The parts of the incident page that change: actions, units, timeline (for htmx).
    A read like the full page: the same reason rule, the same audit row (issue 11)."""
    user = _user(request)
    incident = _incident(request, reference)
    reason = dossier_reason(
        request,
        incident.case,
        default=f"open incident {reference}",
        open_incident=alarm_selectors.case_has_open_incident(incident.case),
    )
    if reason is None:  # the stated reason ran out: the full page asks again
        prompt = dossier_reason_prompt(request, incident.case)
        prompt["HX-Redirect"] = reverse("console:incident", kwargs={"reference": reference})
        return prompt
    incident_dossier_open(incident=incident, actor=Actor.for_user(user), reason=reason)
    return render(request, "console/_incident_live.html", _incident_context(user, incident))


def _act(
    request: HttpRequest, reference: str, action: Callable[[Incident, Actor], object]
) -> HttpResponse:
    incident = _incident(request, reference)
    try:
        action(incident, Actor.for_user(_user(request)))
    except MsaError as exc:
        messages.error(request, exc.translated())
    return redirect("console:incident", reference=reference)


@require_POST
@requires(CONSOLE_ACT)
def incident_acknowledge_view(request: HttpRequest, reference: str) -> HttpResponse:
    # When somebody else acknowledged first, the page shows who.
    return _act(request, reference, lambda i, a: incident_acknowledge(incident=i, actor=a))


@require_POST
@requires(CONSOLE_ACT)
def incident_note_view(request: HttpRequest, reference: str) -> HttpResponse:
    """A refused note is shown again with its text, never lost."""
    incident = _incident(request, reference)
    text = request.POST.get("text", "")
    try:
        incident_note_add(incident=incident, actor=Actor.for_user(_user(request)), text=text)
    except MsaError as exc:
        error = exc.translated()  # the service's words, marked with gettext_noop
        context = {"incident": incident, "text": text, "error": error, "max_note": MAX_NOTE}
        return render(request, "console/note_refused.html", context, status=422)
    return redirect("console:incident", reference=reference)


def _confirm(
    request: HttpRequest,
    incident: Incident,
    *,
    action: str,
    question: str,
    explanation: str,
    yes: str,
    no: str,
) -> HttpResponse:
    """Ask before a destructive step: the posted fields go back with ``confirm=yes`` only when
    the operator presses the explicit yes; no is the way back, and nothing is preset."""
    fields = [
        (k, v) for k, v in request.POST.items() if k not in {"csrfmiddlewaretoken", "confirm"}
    ]
    context = {
        "incident": incident,
        "action": action,
        "fields": fields,
        "question": question,
        "explanation": explanation,
        "yes": yes,
        "no": no,
    }
    return render(request, "console/confirm.html", context)


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirm") == "yes"


@require_POST
@requires(CONSOLE_ACT)
def incident_dispatch_view(request: HttpRequest, reference: str) -> HttpResponse:
    unit_ids = [i for i in (param_int(v) for v in request.POST.getlist("unit")) if i is not None]
    return _act(
        request,
        reference,
        lambda i, a: dispatch_create(incident=i, unit_ids=unit_ids, actor=a),
    )


def progress_transition(raw: str) -> DispatchTransitionName | None:
    """The progress step a form posts by its transition name (never a target state)."""
    try:
        return DispatchTransitionName(raw)
    except ValueError:
        return None


def _progress(incident: Incident, actor: Actor, dispatch_id: int, name: str) -> None:
    transition = progress_transition(name)
    dispatch = Dispatch.objects.filter(pk=dispatch_id, incident=incident).first()
    if transition is None or dispatch is None:
        raise NotFoundError(_("no such dispatch step"))
    dispatch_progress(dispatch=dispatch, transition=transition, actor=actor)


@require_POST
@requires(CONSOLE_ACT)
def dispatch_progress_view(request: HttpRequest, reference: str, dispatch_id: int) -> HttpResponse:
    name = request.POST.get("transition", "")
    return _act(request, reference, lambda i, a: _progress(i, a, dispatch_id, name))


def _tri(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def outcome_from(post: Any) -> tuple[Outcome, bool | None, bool | None]:
    try:
        outcome = Outcome(post.get("outcome", ""))
    except ValueError:
        raise ValidationError(_("choose an outcome"), fields={"outcome": "required"}) from None
    return outcome, _tri(post.get("violence", "")), _tri(post.get("injured", ""))


@require_POST
@requires(CONSOLE_ACT)
def incident_outcome_view(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident(request, reference)
    if (
        incident.is_duress
        and request.POST.get("outcome", "").startswith("false_")
        and not _confirmed(request)
    ):
        return _confirm(
            request,
            incident,
            action=reverse("console:outcome", kwargs={"reference": reference}),
            question=_("Record this duress alarm as a false alarm?"),
            explanation=_(
                "She cancelled with the duress PIN or pressed duress: she may be forced to "
                "say it was nothing. Only record a false alarm when a unit or the call "
                "established it."
            ),
            yes=_("Yes, it was a false alarm"),
            no=_("No, back to the incident"),
        )

    def act(incident: Incident, actor: Actor) -> None:
        outcome, violence, injured = outcome_from(request.POST)
        incident_outcome_record(
            incident=incident,
            actor=actor,
            outcome=outcome,
            violence_before_arrival=violence,
            victim_injured=injured,
        )

    return _act(request, reference, act)


@require_POST
@requires(CONSOLE_ACT)
def incident_close_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Back to the incident, which says it was closed (or to the reason asked to read a
    closed file on, which says so too)."""
    reason = request.POST.get("reason", "")

    def act(incident: Incident, actor: Actor) -> None:
        incident_close(incident=incident, actor=actor, reason=reason)
        messages.success(request, _("Incident %(ref)s is closed.") % {"ref": reference})

    return _act(request, reference, act)


@require_POST
@requires(CONSOLE_ACT)
def incident_reopen_view(request: HttpRequest, reference: str) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _act(
        request,
        reference,
        lambda i, a: incident_reopen(incident=i, actor=a, reason=reason),
    )


@require_POST
@requires(CONSOLE_ACT)
def incident_tracking_view(request: HttpRequest, reference: str) -> HttpResponse:
    reason = request.POST.get("reason", "")
    change = request.POST.get("change", "")
    raw = request.POST.get("minutes", "")
    minutes = param_int(raw, 0) or 0

    if change == "stop" and not _confirmed(request):
        return _confirm(
            request,
            _incident(request, reference),
            action=reverse("console:tracking", kwargs={"reference": reference}),
            question=_("Stop tracking her position now?"),
            explanation=_("Positions sent after this are not stored; it cannot be undone."),
            yes=_("Yes, stop tracking now"),
            no=_("No, keep tracking"),
        )

    def act(incident: Incident, actor: Actor) -> None:
        if change == "stop":
            tracking_stop(incident=incident, actor=actor, reason=reason)
        else:
            tracking_extend(
                incident=incident, actor=actor, reason=reason, by=timedelta(minutes=minutes)
            )

    return _act(request, reference, act)


# --- the supervisor ---------------------------------------------------------------------


def _supervised(user: User, centre_id: int | None) -> Organisation:
    centres = supervised_centres(user)
    centre = centres.filter(pk=centre_id).first() if centre_id else centres.first()
    if centre is None:
        raise Http404
    return centre


def _supervisor_context(user: User, centre: Organisation) -> dict[str, Any]:
    context = supervisor_overview(centre)
    context["centre"] = centre
    context["ack_target_s"] = settings.MSA_ACK_TARGET_S
    return context


@require_GET
@requires(SUPERVISE)
def supervisor(request: HttpRequest) -> HttpResponse:
    """Every operator's incidents, the alarms waiting, backup offers, breaches, escalations
    and the shift's figures; each open incident can be taken over or reassigned."""
    user = _user(request)
    centre = _supervised(user, param_int(request.GET.get("centre", "")))
    return render(request, "console/supervisor.html", _supervisor_context(user, centre))


@require_GET
@requires(SUPERVISE)
def supervisor_live(request: HttpRequest, centre_id: int) -> HttpResponse:
    """The part of the supervisor's view that the page re-reads every few seconds."""
    user = _user(request)
    centre = _supervised(user, centre_id)
    return render(request, "console/_supervisor_live.html", _supervisor_context(user, centre))


@require_POST
@requires(SUPERVISE)
def incident_reassign_view(request: HttpRequest, reference: str) -> HttpResponse:
    """Take over (``operator`` = the supervisor) or hand the incident to another operator."""
    incident = _incident(request, reference)
    to_user_id = param_int(request.POST.get("operator", ""))
    reason = request.POST.get("reason", "")
    try:
        if to_user_id is None:
            raise ValidationError(_("choose an operator"), fields={"operator": "required"})
        updated = incident_reassign(
            incident=incident,
            actor=Actor.for_user(_user(request)),
            to_user_id=to_user_id,
            reason=reason,
        )
    except MsaError as exc:
        messages.error(request, exc.translated())
    else:
        owner = updated.owner.get_username() if updated.owner else ""
        messages.success(
            request,
            _("%(ref)s is now worked by %(owner)s.") % {"ref": reference, "owner": owner},
        )
    return redirect(f"{reverse('console:supervisor')}?centre={incident.centre_id}")
