"""Risk instruments (versioned, loaded once) and the assessment of a case: the score, a
professional override that may only raise the level, the urgent task that a bombshell opens,
and sending the assessed case to the magistrate."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from msa.audit.services import audit_record
from msa.cases.models import (
    RISK_ORDER,
    CaseTask,
    ProtectionCase,
    RiskAssessment,
    RiskInstrument,
    TaskKind,
)
from msa.cases.risk import answers_clean, instrument_validate, localised, score
from msa.cases.states import (
    CASE_MACHINE,
    ApplicationState,
    CaseTransitionName,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, ValidationError
from msa.core.transitions import transition_apply

T = CaseTransitionName


def _digest(definition: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


@transaction.atomic
def instrument_load(*, definition: Mapping[str, Any], actor: Actor) -> tuple[RiskInstrument, bool]:
    """Store one instrument version. Loading the same version again changes nothing; a
    different content under an existing version is refused (publish a new version)."""
    instrument_validate(definition)
    digest = _digest(definition)
    existing = RiskInstrument.objects.filter(
        code=definition["code"], version=definition["version"]
    ).first()
    if existing is not None:
        if existing.digest != digest:
            raise ConflictError(
                f"{definition['code']} {definition['version']} is already loaded with other "
                "content: give the changed instrument a new version",
            )
        return existing, False
    instrument = RiskInstrument.objects.create(
        code=definition["code"],
        version=definition["version"],
        title=localised(definition["title"], "en")[:200],
        definition=dict(definition),
        digest=digest,
        loaded_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="instrument.load",
        subject=instrument,
        new={"code": instrument.code, "version": instrument.version, "digest": digest},
    )
    return instrument, True


def instrument_read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: an instrument is a JSON object")
    return data


def bombshell_deadline() -> timedelta:
    return timedelta(seconds=settings.MSA_BOMBSHELL_DEADLINE_S)


@transaction.atomic(durable=True)
def assessment_record(
    *,
    case: ProtectionCase,
    instrument: RiskInstrument,
    answers: Mapping[str, str],
    override_level: str = "",
    override_reason: str = "",
    actor: Actor,
) -> RiskAssessment:
    """Score the answers, apply a professional override (it may only raise the level, and
    needs a reason), move the case to ``assessed``, and open the urgent task when a
    bombshell was answered yes."""
    if case.applications.filter(status=ApplicationState.RECEIVED).exists():
        raise ValidationError(
            gettext_noop(
                "decide on the support service's application first "
                "(accept it, merge it or decline it)"
            ),
            fields={"application": "not decided"},
        )
    clean = answers_clean(instrument.definition, answers)
    result = score(instrument.definition, clean)
    level = result.level
    if override_level:
        if override_level not in RISK_ORDER:
            raise ValidationError(
                gettext_noop("unknown level"), fields={"override_level": "unknown"}
            )
        if RISK_ORDER.index(override_level) <= RISK_ORDER.index(result.level):
            raise ValidationError(
                gettext_noop("an override may only raise the level"),
                fields={"override_level": "must be higher than the computed level"},
            )
        if not override_reason.strip():
            raise ValidationError(
                gettext_noop("an override needs a reason"), fields={"override_reason": "required"}
            )
        level = override_level
    now = clock.now()
    locked = transition_apply(
        CASE_MACHINE,
        case,
        T.ASSESS,
        actor=actor,
        at=now,
        changes={"risk_level": level},
    )
    assessment = RiskAssessment.objects.create(
        case=locked,
        instrument=instrument,
        answers=clean,
        score=result.score,
        computed_level=result.level,
        override_level=override_level,
        override_reason=override_reason.strip() if override_level else "",
        level=level,
        bombshells=result.bombshells,
        assessed_at=now,
        assessed_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="case.assessment",
        subject=locked,
        new={
            "instrument": f"{instrument.code} {instrument.version}",
            "score": result.score,
            "level": level,
            "overridden": bool(override_level),
            "bombshells": result.bombshells,
        },
        at=now,
    )
    if (
        result.bombshells
        and not locked.tasks.filter(kind=TaskKind.CONTACT_PROSECUTOR, done_at__isnull=True).exists()
    ):
        task = CaseTask.objects.create(
            case=locked,
            kind=TaskKind.CONTACT_PROSECUTOR,
            urgent=True,
            created_at=now,
            due_at=now + bombshell_deadline(),
        )
        audit_record(
            actor=actor,
            action="case.task_open",
            subject=task,
            new={"case": locked.reference, "kind": task.kind, "due_at": task.due_at.isoformat()},
            at=now,
        )
    return assessment


@transaction.atomic(durable=True)
def case_submit(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    """Send the assessed case to the magistrate."""
    return transition_apply(CASE_MACHINE, case, T.SUBMIT, actor=actor)
