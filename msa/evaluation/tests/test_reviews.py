"""The working group's review: opened for every closed genuine incident (and only those),
escalated once when overdue, its actions too; the review's own steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.alarms.states import Lane, Outcome
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.core.errors import ConflictError, ValidationError
from msa.dispatch.services.console import (
    incident_acknowledge,
    incident_close,
    incident_outcome_record,
)
from msa.evaluation.models import IncidentReview
from msa.evaluation.selectors import incident_milestones
from msa.evaluation.services import (
    review_action_add,
    review_action_done,
    review_record_findings,
    review_transition,
)
from msa.evaluation.states import ReviewState, ReviewTransitionName
from msa.evaluation.sweeps import sweep_incident_reviews
from msa.messaging.models import OutboundMessage
from msa.worker.sweeps import SWEEPS
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def closed(victim: int, outcome: Outcome, *, lane: str = Lane.LIVE, number: int = 1) -> Incident:
    """A demo victim's press, taken, its outcome recorded and closed by the operator."""
    operator = Actor.for_user(User.objects.get(username="operator"))
    incident = press(victim, at=NOW, number=number).incident
    if lane != Lane.LIVE:
        Incident.objects.filter(pk=incident.pk).update(lane=lane)
    incident = incident_acknowledge(incident=incident, actor=operator)
    incident = incident_outcome_record(incident=incident, actor=operator, outcome=outcome)
    return incident_close(incident=incident, actor=operator)


@pytest.mark.django_db
def test_a_review_is_opened_for_a_closed_genuine_incident_only(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    genuine = closed(1, Outcome.ARRESTED_ON_SCENE)
    mispress = closed(2, Outcome.FALSE_MISPRESS)
    test_alarm = closed(3, Outcome.NO_OFFENCE, lane=Lane.TEST)
    still_open = press(4, at=NOW).incident
    assert sweep_incident_reviews() == 1
    review = IncidentReview.objects.get()
    assert review.incident == genuine
    assert review.status == ReviewState.OPEN
    assert review.due_at == NOW + timedelta(days=14)
    assert review.transitions.get().transition == "create"
    assert AuditEntry.objects.filter(action="incident_review.create").count() == 1
    assert sweep_incident_reviews() == 0  # once
    for other in (mispress, test_alarm, still_open):
        assert not IncidentReview.objects.filter(incident=other).exists()
    # the milestones are the incident's own
    rows = {m.key: m for m in incident_milestones(review.incident)}
    assert rows["acknowledged_at"].at == genuine.acknowledged_at
    assert rows["received_at"].since_received_s == 0
    assert "incident_reviews" in {s.name for s in SWEEPS}


@pytest.mark.django_db
def test_an_overdue_review_and_an_overdue_action_are_escalated_once(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    closed(1, Outcome.ARRESTED_LATER)
    sweep_incident_reviews()
    review = IncidentReview.objects.get()
    supervisor = Actor.for_user(User.objects.get(username="supervisor"))
    owner = User.objects.get(username="operator")
    action = review_action_add(
        review=review,
        actor=supervisor,
        description="Check the SMS gateway's delivery delay",
        owner=owner,
        due_on=NOW.date() + timedelta(days=2),
    )
    before = OutboundMessage.objects.count()
    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    assert sweep_incident_reviews() == 1  # the action (due 2 days on) only
    assert OutboundMessage.objects.count() == before + 1
    clock.advance(timedelta(seconds=1))
    assert sweep_incident_reviews() == 1  # now the review
    assert sweep_incident_reviews() == 0
    assert OutboundMessage.objects.count() == before + 2
    subjects = sorted(OutboundMessage.objects.order_by("-id").values_list("subject", flat=True)[:2])
    ref = review.incident.reference
    assert subjects == [f"Overdue incident review — {ref}", f"Overdue review action — {ref}"]
    review.refresh_from_db()
    action.refresh_from_db()
    assert review.escalated_at == NOW + timedelta(days=14)
    assert action.escalated_at is not None
    assert AuditEntry.objects.filter(action="incident_review.escalated").count() == 1
    assert AuditEntry.objects.filter(action="incident_review.action_escalated").count() == 1


@pytest.mark.django_db
def test_the_working_group_records_concludes_and_closes(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    closed(1, Outcome.ARRESTED_ON_SCENE)
    sweep_incident_reviews()
    review = IncidentReview.objects.get()
    actor = Actor.for_user(User.objects.get(username="supervisor"))
    with pytest.raises(ValidationError):
        review_transition(review=review, transition=ReviewTransitionName.CONCLUDE, actor=actor)
    with pytest.raises(ValidationError):
        review_record_findings(
            review=review, actor=actor, issues=["no_such"], findings="", no_issue=False
        )
    review = review_record_findings(
        review=review,
        actor=actor,
        issues=["fallback_sms", "position"],
        findings="The SMS came 40 s late; the first fix was 300 m off.",
        no_issue=False,
    )
    entry = AuditEntry.objects.filter(action="incident_review.findings").get()
    assert "SMS came" not in str(entry.new)  # the free text is never in the audit row
    action = review_action_add(
        review=review,
        actor=actor,
        description="Ask the vendor about the first fix",
        owner=User.objects.get(username="supervisor"),
        due_on=NOW.date(),
    )
    with pytest.raises(ValidationError):  # another centre's member cannot own it
        review_action_add(
            review=review,
            actor=actor,
            description="x",
            owner=User.objects.get(username="magistrate"),
            due_on=NOW.date(),
        )
    review = review_transition(review=review, transition=ReviewTransitionName.CONCLUDE, actor=actor)
    with pytest.raises(ConflictError):
        review_transition(review=review, transition=ReviewTransitionName.CLOSE, actor=actor)
    review_action_done(action=action, actor=actor)
    review = review_transition(review=review, transition=ReviewTransitionName.CLOSE, actor=actor)
    assert review.status == ReviewState.CLOSED
    assert (review.concluded_at, review.closed_at) == (NOW, NOW)
    with pytest.raises(ValidationError):
        review_transition(review=review, transition=ReviewTransitionName.REOPEN, actor=actor)
    review = review_transition(
        review=review, transition=ReviewTransitionName.REOPEN, actor=actor, reason="new facts"
    )
    assert review.status == ReviewState.OPEN
    assert review.closed_at is None
