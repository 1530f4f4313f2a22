"""What followed an intervention (issue 17): the case officer records the suspect's judicial
follow-up, the measures that changed and the victim's later reports; the case page shows
them (``cases/_followup.html``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from msa.alarms.models import Incident
from msa.alarms.states import Lane
from msa.cases import forms as f
from msa.cases.models import ProtectionCase
from msa.cases.permissions import CASES
from msa.cases.services.followup import (
    JudicialStepInput,
    judicial_step_record,
    later_report_record,
    measure_change_record,
)
from msa.cases.views.base import actor_of, back, do, officer_case
from msa.core.actors import Actor
from msa.core.permissions import requires

Record = Callable[[ProtectionCase, Actor, Mapping[str, Any]], object]

RECORDS: dict[str, tuple[type[forms.Form], Record]] = {
    "judicial": (
        f.JudicialStepForm,
        lambda case, actor, d: judicial_step_record(
            case=case,
            step=JudicialStepInput(
                kind=d["kind"],
                on=d["on"],
                incident_reference=d["incident_reference"],
                conditions=d["conditions"],
                programme=d["programme"],
                notes=d["notes"],
            ),
            actor=actor,
        ),
    ),
    "measure": (
        f.MeasureChangeForm,
        lambda case, actor, d: measure_change_record(
            case=case,
            kind=d["kind"],
            on=d["on"],
            description=d["description"],
            incident_reference=d["incident_reference"],
            actor=actor,
        ),
    ),
    "report": (
        f.LaterReportForm,
        lambda case, actor, d: later_report_record(
            case=case,
            kind=d["kind"],
            reported_on=d["reported_on"],
            police_reference=d["police_reference"],
            notes=d["notes"],
            actor=actor,
        ),
    ),
}


def case_incidents(case: ProtectionCase) -> list[tuple[str, str]]:
    """The case's live incidents, newest first, as choices (a record follows one of them)."""
    rows = (
        Incident.objects.filter(case=case, lane=Lane.LIVE)
        .order_by("-received_at")
        .values_list("reference", "received_at")[:50]
    )
    return [(ref, f"{ref} ({at:%Y-%m-%d})") for ref, at in rows]


def followup_forms(case: ProtectionCase) -> dict[str, forms.Form]:
    """The empty forms the case page shows (one per kind of record)."""
    incidents = case_incidents(case)
    return {
        kind: form_class(incidents=incidents)  # type: ignore[call-arg]  # each takes incidents
        for kind, (form_class, _call) in RECORDS.items()
    }


@require_POST
@requires(CASES)
def case_followup(request: HttpRequest, reference: str, kind: str) -> HttpResponse:
    case = officer_case(request, reference)
    if kind not in RECORDS:
        raise Http404
    form_class, call = RECORDS[kind]
    form = form_class(request.POST, incidents=case_incidents(case))  # type: ignore[call-arg]
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else name}: "
            + " ".join(str(e) for e in errs)
            for name, errs in form.errors.items()
        )
        messages.error(request, _("Not recorded: %(problems)s") % {"problems": problems})
        return back(case, "followup")
    data = form.cleaned_data
    response = do(request, case, lambda: call(case, actor_of(request), data), _("Recorded."))
    response["Location"] += "#followup"
    return response
