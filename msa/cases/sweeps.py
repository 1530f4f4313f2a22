"""The worker's sweeps for cases: overdue urgent tasks and overdue reviews."""

from __future__ import annotations

from msa.cases.models import CaseTask, Review
from msa.cases.services.review import review_escalate
from msa.cases.services.tasks import task_escalate
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor

WORKER = Actor.system("worker")
BATCH = 200


def sweep_case_tasks() -> int:
    """Escalate the urgent tasks (a bombshell's 'contact the prosecutor') that ran out."""
    due = (
        CaseTask.objects.filter(
            done_at__isnull=True, escalated_at__isnull=True, due_at__lte=clock.now()
        )
        .exclude(case__status__in=[CaseState.ENDED, CaseState.REFUSED])
        .order_by("due_at")[:BATCH]
    )
    return sum(1 for task in due if task_escalate(task=task, actor=WORKER))


def sweep_case_reviews() -> int:
    """Escalate the reviews of live cases that are overdue."""
    due = Review.objects.filter(
        done_at__isnull=True,
        escalated_at__isnull=True,
        due_at__lte=clock.now(),
        case__status__in=[CaseState.ACTIVE, CaseState.UNDER_REVIEW],
    ).order_by("due_at")[:BATCH]
    return sum(1 for review in due if review_escalate(review=review, actor=WORKER))
