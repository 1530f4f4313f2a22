"""Writes of the evaluation part: incident reviews, their actions, and victim surveys.

The review of an incident is opened by the worker (``sweep_incident_reviews``) for every
closed genuine incident that has none: the evaluation part is above dispatch, which closes
incidents, so it reads what dispatch wrote instead of dispatch calling up into it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, TransitionNotAllowedError, ValidationError
from msa.core.transitions import history_start, transition_apply
from msa.evaluation.models import (
    Compared,
    Confidence,
    IncidentReview,
    ReviewAction,
    SurveyWave,
    TechnicalIssue,
    VictimSurvey,
)
from msa.evaluation.selectors import is_genuine_closed
from msa.evaluation.states import REVIEW_MACHINE, ReviewState, ReviewTransitionName
from msa.messaging.escalation import Alert, escalate_once

log = logging.getLogger("msa.evaluation")

MAX_TEXT = 2000
_T = ReviewTransitionName


def review_due_after() -> timedelta:
    return timedelta(days=int(settings.MSA_INCIDENT_REVIEW_DAYS))


def review_alert_recipient(centre_code: str) -> str:
    return str(settings.MSA_REVIEW_ALERT_TO or f"supervisor@{centre_code}")


# Marked with gettext_noop: the pages translate them (``exc.translated()``).
_REQUIRED = {
    "description": gettext_noop("the description is required"),
    "reason": gettext_noop("the reason is required"),
}
_TOO_LONG = {
    "findings": gettext_noop("the findings are too long"),
    "description": gettext_noop("the description is too long"),
    "reason": gettext_noop("the reason is too long"),
    "comment": gettext_noop("the comment is too long"),
}


def _text(value: str, name: str, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationError(_REQUIRED[name], fields={name: "required"})
    if len(value) > MAX_TEXT:
        raise ValidationError(_TOO_LONG[name], fields={name: "too long"})
    return value


# --- opening a review -------------------------------------------------------------------------


def review_open(*, incident: Incident, actor: Actor) -> IncidentReview | None:
    """Open the review of a closed genuine incident that has none; None when it is not one,
    or already has its review (another worker's, when two race)."""
    try:
        return _review_open(incident=incident, actor=actor)
    except IntegrityError:
        return None  # the one-review-per-incident constraint: another worker won


@transaction.atomic(durable=True)
def _review_open(*, incident: Incident, actor: Actor) -> IncidentReview | None:
    current = Incident.objects.filter(pk=incident.pk).first()
    if current is None or not is_genuine_closed(current):
        return None
    if IncidentReview.objects.filter(incident=current).exists():
        return None
    now = clock.now()
    review = IncidentReview.objects.create(
        incident=current,
        status=ReviewState.OPEN,
        created_at=now,
        due_at=now + review_due_after(),
    )
    history_start(REVIEW_MACHINE, review, transition=_T.CREATE, actor=actor, at=now)
    audit_record(
        actor=actor,
        action="incident_review.create",
        subject=review,
        new={"incident": current.reference, "due_at": review.due_at.isoformat()},
        at=now,
    )
    log.info("incident_review_opened incident=%s", current.reference)
    return review


# --- the working group's record -----------------------------------------------------------------


def _review_locked(review: IncidentReview) -> IncidentReview:
    return IncidentReview.objects.select_for_update().get(pk=review.pk)


@transaction.atomic(durable=True)
def review_record_findings(
    *,
    review: IncidentReview,
    actor: Actor,
    issues: Iterable[str],
    findings: str,
    no_issue: bool,
) -> IncidentReview:
    """What went wrong technically: categories (``TechnicalIssue``) and free text; or that
    nothing did. Only while the review is open."""
    locked = _review_locked(review)
    if locked.status != ReviewState.OPEN:
        raise TransitionNotAllowedError(
            gettext_noop("incident review: reopen it before changing its findings")
        )
    known = {c.value for c in TechnicalIssue}
    chosen = sorted(set(issues))
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise ValidationError(
            gettext_noop("unknown category"), fields={"issues": ",".join(unknown)}
        )
    if no_issue and chosen:
        raise ValidationError(
            gettext_noop("either nothing went wrong or something did"),
            fields={"no_issue": "conflict"},
        )
    findings = _text(findings, "findings", required=False)
    old = {"issues": locked.issues, "no_issue": locked.no_issue}
    locked.issues, locked.findings, locked.no_issue = chosen, findings, no_issue
    locked.save(update_fields=["issues", "findings", "no_issue"])
    audit_record(
        actor=actor,
        action="incident_review.findings",
        subject=locked,
        old=old,
        # the free text may name people: its length only, never the text
        new={"issues": chosen, "no_issue": no_issue, "findings_chars": len(findings)},
    )
    return locked


def action_owner_candidates(review: IncidentReview) -> list[User]:
    """Who may own an action: the members of the incident's dispatch centre and of the police
    zones it covers (the working group's own people)."""
    centre_id = review.incident.centre_id
    members = Q(memberships__organisation_id=centre_id) | Q(
        memberships__organisation__covered_by_id=centre_id
    )
    return list(User.objects.filter(members, is_active=True).distinct().order_by("username"))


@transaction.atomic(durable=True)
def review_action_add(
    *,
    review: IncidentReview,
    actor: Actor,
    description: str,
    owner: User,
    due_on: date,
) -> ReviewAction:
    locked = _review_locked(review)
    if locked.status == ReviewState.CLOSED:
        raise TransitionNotAllowedError(
            gettext_noop("incident review: reopen it before adding an action")
        )
    description = _text(description, "description", required=True)
    if owner.pk not in {u.pk for u in action_owner_candidates(locked)}:
        raise ValidationError(
            gettext_noop("the owner must work at the centre"), fields={"owner": "scope"}
        )
    if due_on < clock.now().date():
        raise ValidationError(
            gettext_noop("the due date is in the past"), fields={"due_on": "past"}
        )
    now = clock.now()
    action = ReviewAction.objects.create(
        review=locked,
        description=description,
        owner=owner,
        due_on=due_on,
        created_at=now,
        created_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="incident_review.action_add",
        subject=locked,
        new={"action": action.pk, "owner": owner.get_username(), "due_on": due_on.isoformat()},
        at=now,
    )
    return action


@transaction.atomic(durable=True)
def review_action_done(*, action: ReviewAction, actor: Actor) -> ReviewAction:
    locked = ReviewAction.objects.select_for_update().get(pk=action.pk)
    if locked.done_at is not None:
        return locked
    locked.done_at = clock.now()
    locked.done_by = actor.label
    locked.save(update_fields=["done_at", "done_by"])
    audit_record(
        actor=actor,
        action="incident_review.action_done",
        subject=locked.review,
        new={"action": locked.pk},
    )
    return locked


@transaction.atomic(durable=True)
def review_transition(
    *, review: IncidentReview, transition: ReviewTransitionName, actor: Actor, reason: str = ""
) -> IncidentReview:
    """Conclude (findings recorded), close (every action done) or reopen (with a reason)."""
    locked = _review_locked(review)
    changes: dict[str, object] = {}
    if transition == _T.CONCLUDE and not (locked.issues or locked.no_issue):
        raise ValidationError(
            gettext_noop("record what went wrong (or that nothing did) first"),
            fields={"issues": "required"},
        )
    if transition == _T.CLOSE and locked.actions.filter(done_at__isnull=True).exists():
        raise ConflictError(gettext_noop("every action must be done before the review is closed"))
    if transition == _T.REOPEN:
        reason = _text(reason, "reason", required=True)
        changes = {"concluded_at": None, "closed_at": None}
    if transition == _T.CREATE:
        raise TransitionNotAllowedError(
            gettext_noop("incident review: a review is created by the worker")
        )
    return transition_apply(
        REVIEW_MACHINE, locked, transition, actor=actor, reason=reason, changes=changes
    )


# --- overdue reviews and actions ----------------------------------------------------------------


def review_escalate(*, review: IncidentReview, actor: Actor) -> bool:
    """An open review past its due date: tell the centre's supervisors once."""

    def due(row: IncidentReview, now: datetime) -> bool:
        return row.status == ReviewState.OPEN and row.due_at <= now

    def alert(row: IncidentReview) -> Alert:
        ref = row.incident.reference
        return Alert(
            recipient=review_alert_recipient(row.incident.centre.code),
            subject=f"Overdue incident review — {ref}",
            body=f"The review of incident {ref} was due at {row.due_at.isoformat()}.",
            about=row.incident,
            action="incident_review.escalated",
            audit_new={"incident": ref, "due_at": row.due_at.isoformat()},
        )

    return escalate_once(
        queryset=IncidentReview.objects.select_related("incident__centre"),
        pk=review.pk,
        actor=actor,
        is_due=due,
        alert=alert,
    )


def action_due_end(action: ReviewAction) -> datetime:
    """The end of an action's due day, in its centre's time zone."""
    zone = ZoneInfo(action.review.incident.centre.time_zone)
    return datetime.combine(action.due_on + timedelta(days=1), time.min, tzinfo=zone)


def review_action_escalate(*, action: ReviewAction, actor: Actor) -> bool:
    """An action not done by the end of its due day: tell the supervisors (and name the owner)
    once."""

    def due(row: ReviewAction, now: datetime) -> bool:
        return row.done_at is None and action_due_end(row) <= now

    def alert(row: ReviewAction) -> Alert:
        ref = row.review.incident.reference
        return Alert(
            recipient=review_alert_recipient(row.review.incident.centre.code),
            subject=f"Overdue review action — {ref}",
            body=(
                f"An action decided in the review of incident {ref} was due on "
                f"{row.due_on.isoformat()} and is not done (owner: {row.owner.get_username()})."
            ),
            about=row.review.incident,
            action="incident_review.action_escalated",
            audit_new={"incident": ref, "action": row.pk, "due_on": row.due_on.isoformat()},
        )

    return escalate_once(
        queryset=ReviewAction.objects.select_related("review__incident__centre", "owner"),
        pk=action.pk,
        actor=actor,
        is_due=due,
        alert=alert,
    )


# --- the victim's survey ------------------------------------------------------------------------


@transaction.atomic(durable=True)
def survey_record(
    *,
    case: ProtectionCase,
    actor: Actor,
    wave: str,
    answered_at: datetime,
    safety_now: int,
    compared: str,
    help_confidence: str,
    comment: str = "",
) -> VictimSurvey:
    """The case officer records one wave of the victim's answers (once per wave)."""
    problems: dict[str, str] = {}
    if wave not in SurveyWave.values:
        problems["wave"] = "unknown"
    if not 1 <= safety_now <= 5:
        problems["safety_now"] = "1 to 5"
    if compared not in Compared.values:
        problems["compared"] = "unknown"
    if help_confidence not in Confidence.values:
        problems["help_confidence"] = "unknown"
    now = clock.now()
    if answered_at > now:
        problems["answered_at"] = "in the future"
    if problems:
        raise ValidationError(gettext_noop("the survey is incomplete"), fields=problems)
    comment = _text(comment, "comment", required=False)
    locked = ProtectionCase.objects.select_for_update().get(pk=case.pk)
    if VictimSurvey.objects.filter(case=locked, wave=wave).exists():
        raise ConflictError(gettext_noop("this survey has already been recorded"))
    survey = VictimSurvey.objects.create(
        case=locked,
        wave=wave,
        answered_at=answered_at,
        safety_now=safety_now,
        compared=compared,
        help_confidence=help_confidence,
        comment=comment,
        recorded_at=now,
        recorded_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="victim_survey.record",
        subject=survey,
        new={"case": locked.reference, "wave": wave, "compared": compared},
        at=now,
    )
    return survey


# --- reads that are audited ---------------------------------------------------------------------


@transaction.atomic
def review_read(*, review: IncidentReview | None, actor: Actor, what: str) -> None:
    """Every page of the working group is audited (``what``: the page)."""
    if review is None:
        audit_record(actor=actor, action="incident_review.read", new={"page": what})
    else:
        audit_record(actor=actor, action="incident_review.read", subject=review, new={"page": what})
