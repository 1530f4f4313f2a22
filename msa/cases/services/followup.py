"""What followed each intervention (issue 17): the suspect's judicial follow-up after an
incident (arrested, before the investigating judge, detained, released under conditions,
referred to a programme, each with its date), the measures that changed (a new or stricter
order), and the victim's later reports to the police.

Each record is append-only (the list is its history) and written by one service call with
its audit row, which carries the kind and the date, never the free text (encrypted at rest).
Only the zone's officer records them (the views take the case through ``officer_case``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.audit.services import audit_record
from msa.cases.models import (
    JudicialStep,
    JudicialStepKind,
    LaterReport,
    LaterReportKind,
    MeasureChange,
    MeasureChangeKind,
    Programme,
    ProtectionCase,
)
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ValidationError

# Nothing follows an intervention on a case that never became one.
NOT_YET = frozenset({CaseState.REQUESTED})


def _check(case: ProtectionCase, on: date) -> None:
    if case.status in NOT_YET:
        raise ValidationError(
            gettext_noop("the case has not been assessed yet"), fields={"case": str(case.status)}
        )
    if on > clock.now().date():
        raise ValidationError(gettext_noop("a date in the future"), fields={"on": on.isoformat()})


@dataclass(frozen=True, slots=True, kw_only=True)
class JudicialStepInput:
    kind: str
    on: date
    incident_reference: str = ""
    conditions: str = ""
    programme: str = ""
    notes: str = ""


@transaction.atomic(durable=True)
def judicial_step_record(
    *, case: ProtectionCase, step: JudicialStepInput, actor: Actor
) -> JudicialStep:
    """One step of the suspect's judicial follow-up. Released under conditions needs the
    conditions; referred needs the programme."""
    if step.kind not in JudicialStepKind.values:
        raise ValidationError(gettext_noop("unknown step"), fields={"kind": step.kind[:40]})
    if step.programme and step.programme not in Programme.values:
        raise ValidationError(
            gettext_noop("unknown programme"), fields={"programme": step.programme[:40]}
        )
    if step.kind == JudicialStepKind.RELEASED_CONDITIONS and not step.conditions.strip():
        raise ValidationError(gettext_noop("which conditions?"), fields={"conditions": "required"})
    if step.kind == JudicialStepKind.REFERRED and not step.programme:
        raise ValidationError(gettext_noop("which programme?"), fields={"programme": "required"})
    _check(case, step.on)
    row = JudicialStep.objects.create(
        case=case,
        incident_reference=step.incident_reference.strip()[:32],
        kind=step.kind,
        on=step.on,
        conditions=step.conditions.strip(),
        programme=step.programme,
        notes=step.notes.strip(),
        recorded_at=clock.now(),
        recorded_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="case.judicial_step",
        subject=case,
        new={
            "step": row.pk,
            "kind": row.kind,
            "on": row.on.isoformat(),
            "programme": row.programme,
            "incident": row.incident_reference,
        },
    )
    return row


@transaction.atomic(durable=True)
def measure_change_record(
    *,
    case: ProtectionCase,
    kind: str,
    on: date,
    description: str,
    incident_reference: str = "",
    actor: Actor,
) -> MeasureChange:
    """A measure that changed after an incident (a new or stricter order, a new area ban)."""
    if kind not in MeasureChangeKind.values:
        raise ValidationError(gettext_noop("unknown change"), fields={"kind": kind[:40]})
    if not description.strip():
        raise ValidationError(gettext_noop("say what changed"), fields={"description": "required"})
    _check(case, on)
    row = MeasureChange.objects.create(
        case=case,
        incident_reference=incident_reference.strip()[:32],
        kind=kind,
        on=on,
        description=description.strip(),
        recorded_at=clock.now(),
        recorded_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="case.measure_change",
        subject=case,
        new={
            "change": row.pk,
            "kind": kind,
            "on": on.isoformat(),
            "incident": row.incident_reference,
        },
    )
    return row


@transaction.atomic(durable=True)
def later_report_record(
    *,
    case: ProtectionCase,
    kind: str,
    reported_on: date,
    police_reference: str = "",
    notes: str = "",
    actor: Actor,
) -> LaterReport:
    """A report the victim made to the police about the suspect after the case began."""
    if kind not in LaterReportKind.values:
        raise ValidationError(gettext_noop("unknown report"), fields={"kind": kind[:40]})
    _check(case, reported_on)
    row = LaterReport.objects.create(
        case=case,
        reported_on=reported_on,
        kind=kind,
        police_reference=police_reference.strip()[:40],
        notes=notes.strip(),
        recorded_at=clock.now(),
        recorded_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="case.later_report",
        subject=case,
        new={"report": row.pk, "kind": kind, "on": reported_on.isoformat()},
    )
    return row
