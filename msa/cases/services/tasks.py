"""A case's tasks: completing one, escalating an urgent one that ran out, and the task that
reminds the officer to renew or end before the decision expires."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from msa.accounts.models import Organisation
from msa.audit.services import audit_record
from msa.cases.models import (
    CaseTask,
    ProtectionCase,
    TaskKind,
)
from msa.cases.states import (
    CaseState,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.messaging.escalation import Alert, escalate_once
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel

log = logging.getLogger("msa.cases")


# Cases for which no task is escalated any more.
CLOSED_STATES = frozenset({CaseState.ENDED, CaseState.REFUSED})


@transaction.atomic(durable=True)
def task_complete(*, task: CaseTask, actor: Actor) -> CaseTask:
    locked = CaseTask.objects.select_for_update().get(pk=task.pk)
    if locked.done_at is not None:
        return locked
    locked.done_at = clock.now()
    locked.done_by = actor.label
    locked.save(update_fields=["done_at", "done_by"])
    audit_record(actor=actor, action="case.task_done", subject=locked, new={"kind": locked.kind})
    return locked


def alert_recipient(zone: Organisation) -> str:
    return settings.MSA_CASE_ALERT_TO or f"supervisors@{zone.code}"


def task_escalate(*, task: CaseTask, actor: Actor) -> bool:
    """Tell the zone's supervisors that an urgent task ran out. Idempotent: True once."""

    def is_due(row: CaseTask, now: datetime) -> bool:
        return row.done_at is None and row.due_at <= now and row.case.status not in CLOSED_STATES

    def alert(row: CaseTask) -> Alert:
        recipient = alert_recipient(row.case.police_zone)
        with in_recipient_language(recipient, row.case.police_zone):
            facts = {
                "task": row.get_kind_display(),
                "case": row.case.reference,
                "due": row.due_at.isoformat(),
            }
            subject = gettext("Overdue: %(task)s — case %(case)s") % facts
            body = (
                gettext("The task '%(task)s' for case %(case)s was due at %(due)s and is not done.")
                % facts
            )
        return Alert(
            recipient=recipient,
            subject=subject,
            body=body,
            about=row.case,
            action="case.task_escalated",
            audit_new={"case": row.case.reference, "kind": row.kind},
            channel=MessageChannel.NOTIFICATION,
            log_line=f"case_task_escalated case={row.case.reference} kind={row.kind}",
        )

    return escalate_once(
        queryset=CaseTask.objects.select_related("case__police_zone"),
        pk=task.pk,
        actor=actor,
        is_due=is_due,
        alert=alert,
    )


EXPIRY_NOTICE = timedelta(days=14)


def expiry_task_open(case: ProtectionCase, now: datetime) -> CaseTask | None:
    """Renew or end before the decision runs out: a task due two weeks before the end (the
    worker escalates it when it is overdue). A renewal replaces it."""
    case.tasks.filter(kind=TaskKind.REVIEW, done_at__isnull=True).update(
        done_at=now, done_by="superseded"
    )
    if case.expires_at is None:
        return None
    return CaseTask.objects.create(
        case=case,
        kind=TaskKind.REVIEW,
        urgent=False,
        created_at=now,
        due_at=max(now, case.expires_at - EXPIRY_NOTICE),
    )
