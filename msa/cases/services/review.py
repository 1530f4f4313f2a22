"""Reviews, suspension and the end of a case.

``review_record`` and ``case_end`` are the cases halves (one transaction step each, not
durable): the entry points that also recall the lent devices when the case ends are
``msa.devices.case_end.review_record_and_recall`` and ``case_end_and_recall``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from msa.cases.models import (
    RISK_ORDER,
    ProtectionCase,
    Review,
    ReviewOutcome,
)
from msa.cases.services.application import applications_case_changed
from msa.cases.services.tasks import alert_recipient
from msa.cases.states import (
    CASE_MACHINE,
    CaseState,
    CaseTransitionName,
    EndReason,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ValidationError
from msa.core.transitions import transition_apply
from msa.messaging.escalation import Alert, escalate_once
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel

T = CaseTransitionName


def review_interval(level: str) -> timedelta:
    hours = settings.MSA_REVIEW_HOURS.get(level or "medium", settings.MSA_REVIEW_HOURS["medium"])
    return timedelta(hours=hours)


def review_schedule(case: ProtectionCase, now: datetime) -> Review:
    return Review.objects.create(case=case, due_at=now + review_interval(case.risk_level))


@transaction.atomic(durable=True)
def review_start(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    return transition_apply(CASE_MACHINE, case, T.START_REVIEW, actor=actor)


@transaction.atomic
def review_record(
    *,
    case: ProtectionCase,
    outcome: str,
    actor: Actor,
    notes: str = "",
    risk_level: str = "",
) -> Review:
    """Record the outcome of the due review: continue, adjust (a new risk level) or end.

    A step in the caller's transaction: the entry point, which also recalls the devices when
    the review ends the case, is ``msa.devices.case_end.review_record_and_recall``."""
    if outcome not in ReviewOutcome.values:
        raise ValidationError(gettext_noop("unknown outcome"), fields={"outcome": outcome})
    if risk_level and risk_level not in RISK_ORDER:
        raise ValidationError(gettext_noop("unknown level"), fields={"risk_level": risk_level})
    now = clock.now()
    locked = ProtectionCase.objects.select_for_update().get(pk=case.pk)
    if locked.status == CaseState.ACTIVE:
        locked = transition_apply(CASE_MACHINE, locked, T.START_REVIEW, actor=actor, at=now)
    review = locked.reviews.filter(done_at__isnull=True).order_by("due_at").first()
    if review is None:
        review = Review.objects.create(case=locked, due_at=now)
    review.done_at = now
    review.outcome = outcome
    review.notes = notes
    review.reviewed_by = actor.label
    review.save(update_fields=["done_at", "outcome", "notes", "reviewed_by"])
    if outcome == ReviewOutcome.END:
        ended = transition_apply(
            CASE_MACHINE,
            locked,
            T.END,
            actor=actor,
            at=now,
            reason="review: no longer needed",
            changes={"end_reason": EndReason.REVIEW},
        )
        applications_case_changed(case=ended, actor=actor)
        return review
    changes: dict[str, Any] = {}
    if outcome == ReviewOutcome.ADJUST and risk_level:
        changes["risk_level"] = risk_level
    active = transition_apply(
        CASE_MACHINE, locked, T.CONTINUE, actor=actor, at=now, reason=outcome, changes=changes
    )
    review_schedule(active, now)
    return review


def review_escalate(*, review: Review, actor: Actor) -> bool:
    """An overdue review: tell the zone's supervisors once."""

    def is_due(row: Review, now: datetime) -> bool:
        return (
            row.done_at is None
            and row.due_at <= now
            and row.case.status in {CaseState.ACTIVE, CaseState.UNDER_REVIEW}
        )

    def alert(row: Review) -> Alert:
        recipient = alert_recipient(row.case.police_zone)
        with in_recipient_language(recipient, row.case.police_zone):
            facts = {"case": row.case.reference, "due": row.due_at.isoformat()}
            subject = gettext("Overdue review — case %(case)s") % facts
            body = gettext("The review of case %(case)s was due at %(due)s.") % facts
        return Alert(
            recipient=recipient,
            subject=subject,
            body=body,
            about=row.case,
            action="case.review_escalated",
            audit_new={"review": row.pk, "due_at": row.due_at.isoformat()},
            channel=MessageChannel.NOTIFICATION,
            audit_subject=row.case,
        )

    return escalate_once(
        queryset=Review.objects.select_related("case__police_zone"),
        pk=review.pk,
        actor=actor,
        is_due=is_due,
        alert=alert,
    )


@transaction.atomic(durable=True)
def case_suspend(*, case: ProtectionCase, reason: str, actor: Actor) -> ProtectionCase:
    if not reason.strip():
        raise ValidationError(
            gettext_noop("a suspension needs a reason"), fields={"reason": "required"}
        )
    return transition_apply(
        CASE_MACHINE,
        case,
        T.SUSPEND,
        actor=actor,
        reason=reason.strip(),
        changes={"suspended_at": clock.now()},
    )


@transaction.atomic(durable=True)
def case_resume(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    return transition_apply(CASE_MACHINE, case, T.RESUME, actor=actor)


@transaction.atomic
def case_end(*, case: ProtectionCase, reason: str, actor: Actor, note: str = "") -> ProtectionCase:
    """End the case with a reason: a step in the caller's transaction. The entry point, which
    also recalls the devices still lent, is ``msa.devices.case_end.case_end_and_recall``."""
    if reason not in {r.value for r in EndReason}:
        raise ValidationError(gettext_noop("unknown end reason"), fields={"reason": reason})
    ended = transition_apply(
        CASE_MACHINE,
        case,
        T.END,
        actor=actor,
        reason=note.strip() or reason,
        changes={"end_reason": reason},
    )
    applications_case_changed(case=ended, actor=actor)
    return ended
