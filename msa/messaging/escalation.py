"""Escalating an overdue row once, through the outbox: one helper for every row kind (a case's
task or review, an incident review, a review action).

Claim the row (``SKIP LOCKED``: another worker that has it wins), check again that it is still
due and not yet escalated, mark it, queue the alert and write the audit row, all in one durable
transaction — so the alert is sent once or, when the transaction rolls back, never.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction

from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue

log = logging.getLogger("msa.messaging")

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True, slots=True)
class Alert:
    recipient: str
    subject: str
    body: str
    about: models.Model
    action: str  # the audit action, e.g. "incident_review.escalated"
    audit_new: Mapping[str, Any]
    channel: MessageChannel | None = None  # None: by the recipient (channel_for)
    audit_subject: models.Model | None = None  # None: the escalated row itself
    log_line: str | None = None  # None: "<action> id=<pk>"


def channel_for(recipient: str) -> MessageChannel:
    """A number gets an SMS; anything else an e-mail."""
    return MessageChannel.SMS if recipient.startswith("+") else MessageChannel.EMAIL


@transaction.atomic(durable=True)
def escalate_once(
    *,
    queryset: models.QuerySet[M],
    pk: int,
    actor: Actor,
    is_due: Callable[[M, datetime], bool],
    alert: Callable[[M], Alert],
    field: str = "escalated_at",
) -> bool:
    """Escalate the row ``pk`` of ``queryset`` once; True only for the call that did it.

    ``is_due(row, now)`` says whether the row is (still) overdue; ``field`` is its
    escalated-at timestamp, set once."""
    try:
        locked = queryset.select_for_update(skip_locked=True, of=("self",)).get(pk=pk)
    except ObjectDoesNotExist:
        return False  # another worker has it (or it is gone)
    now = clock.now()
    if getattr(locked, field) is not None or not is_due(locked, now):
        return False
    setattr(locked, field, now)
    locked.save(update_fields=[field])
    what = alert(locked)
    message_enqueue(
        channel=what.channel or channel_for(what.recipient),
        recipient=what.recipient,
        subject=what.subject,
        body=what.body,
        actor=actor,
        about=what.about,
    )
    audit_record(
        actor=actor,
        action=what.action,
        subject=what.audit_subject or locked,
        new=dict(what.audit_new),
        at=now,
    )
    if what.log_line is not None:
        log.info("%s", what.log_line)
    else:
        log.info("%s id=%s", what.action.replace(".", "_"), locked.pk)
    return True
