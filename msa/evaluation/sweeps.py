"""The worker's sweep of the evaluation part (one entry in ``msa.worker.sweeps.SWEEPS``).

1. every closed genuine incident without a review gets one (``review_open``);
2. every open review past its due date is escalated once;
3. every review action not done by the end of its due day is escalated once.

Candidates are read without a lock; each service claims its row and checks again, so several
workers never act twice.
"""

from __future__ import annotations

from datetime import timedelta

from msa.core import clock
from msa.core.actors import Actor
from msa.evaluation.models import IncidentReview, ReviewAction
from msa.evaluation.selectors import incidents_without_review
from msa.evaluation.services import review_action_escalate, review_escalate, review_open
from msa.evaluation.states import ReviewState

WORKER = Actor.system("worker")
BATCH = 200


def sweep_incident_reviews() -> int:
    now = clock.now()
    done = sum(
        1
        for incident in incidents_without_review(BATCH)
        if review_open(incident=incident, actor=WORKER) is not None
    )
    overdue = IncidentReview.objects.filter(
        status=ReviewState.OPEN, escalated_at__isnull=True, due_at__lte=now
    ).order_by("due_at")[:BATCH]
    done += sum(1 for review in overdue if review_escalate(review=review, actor=WORKER))
    # a day's margin for the centres' time zones; the service checks the exact end of the day
    late = ReviewAction.objects.filter(
        done_at__isnull=True, escalated_at__isnull=True, due_on__lt=(now + timedelta(days=1)).date()
    ).order_by("due_on")[:BATCH]
    done += sum(1 for action in late if review_action_escalate(action=action, actor=WORKER))
    return done
