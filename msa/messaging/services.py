"""Queueing outbound messages in the caller's transaction; delivering them after commit.

A message written inside a transaction that rolls back is never sent; one that commits
is delivered by the worker's outbox sweep, retried with backoff, and recorded.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import models, transaction

from msa.audit.services import audit_record, subject_type_of
from msa.core import clock
from msa.core.actors import Actor
from msa.messaging.models import MessageChannel, MessageStatus, OutboundMessage
from msa.messaging.providers import Outgoing, ProviderError, provider_for

log = logging.getLogger("msa.messaging")

MAX_ATTEMPTS = 8
BATCH = 50


def message_enqueue(
    *,
    channel: MessageChannel,
    recipient: str,
    subject: str,
    body: str,
    actor: Actor,
    about: models.Model | None = None,
) -> OutboundMessage:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("message_enqueue must run in the transaction that decides to send")
    now = clock.now()
    message = OutboundMessage.objects.create(
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        about_type=subject_type_of(about) if about is not None else "",
        about_id=str(about.pk) if about is not None else "",
        created_at=now,
        next_attempt_at=now,
    )
    audit_record(
        actor=actor,
        action="message.enqueue",
        subject=message,
        new={"channel": str(channel), "subject": subject, "about": message.about_type},
    )
    return message


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def message_deliver_due() -> int:
    """Send what is due. Rows are claimed with SKIP LOCKED so workers never send twice."""
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                OutboundMessage.objects.select_for_update(skip_locked=True)
                .filter(status=MessageStatus.PENDING, next_attempt_at__lte=clock.now())
                .order_by("next_attempt_at", "id")[:BATCH],
            )
            for message in batch:
                sent += _deliver(message)
        if len(batch) < BATCH:
            return sent


def _deliver(message: OutboundMessage) -> int:
    provider = provider_for(message.channel)
    message.attempts += 1
    message.provider = provider.name
    try:
        message.provider_ref = provider.send(
            Outgoing(
                id=message.pk,
                channel=message.channel,
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
            ),
        )
    except ProviderError as exc:
        message.last_error = str(exc)[:200]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = MessageStatus.FAILED
            log.warning("message_failed id=%s channel=%s", message.pk, message.channel)
        else:
            message.next_attempt_at = clock.now() + _backoff(message.attempts)
        message.save()
        return 0
    message.status = MessageStatus.SENT
    message.sent_at = clock.now()
    message.save()
    return 1
