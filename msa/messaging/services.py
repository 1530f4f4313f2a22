"""Queueing outbound messages in the caller's transaction; delivering them after commit.

A message written inside a transaction that rolls back is never sent; one that commits is
delivered by the worker's outbox sweep (``message_deliver_due``), which never talks to a
provider while it holds a lock or a transaction open:

1. **claim** a batch of due messages in one short transaction (``SKIP LOCKED`` on
   PostgreSQL, so two workers claim different rows; SQLite serialises writers): each
   becomes ``sending`` with a lease, its attempt counted — commit;
2. **send** each, outside any transaction, with the message id as the provider's
   idempotency key;
3. **record** each result in its own transaction: ``sent``; or back to ``pending`` with a
   backoff; or, after ``MSA_OUTBOX_MAX_ATTEMPTS``, ``failed`` — a dead letter, audited,
   that supervisors see on the undelivered-messages page and may queue again.

Delivery is at least once: a worker that dies between sending and recording leaves the
message ``sending``; when its lease lapses another worker sends it again, under the same
idempotency key. An unexpected exception from a provider counts as a failed attempt of that
one message; messages already sent stay sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction

from msa.audit.services import audit_record, subject_type_of
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import NotFoundError
from msa.messaging.models import MessageChannel, MessageStatus, OutboundMessage
from msa.messaging.providers import (
    Outgoing,
    Provider,
    ProviderError,
    provider_class,
    provider_setting,
)

log = logging.getLogger("msa.messaging")

BATCH = 20
WORKER = Actor.system("worker")


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


def backoff(attempts: int) -> timedelta:
    """15 s after the first failure, doubling, at most an hour."""
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def claim_lease() -> timedelta:
    """How long a claimed batch is the claiming worker's: every send may take the timeout."""
    return timedelta(seconds=BATCH * settings.MSA_PROVIDER_TIMEOUT_S + 60)


@dataclass(frozen=True, slots=True)
class Claim:
    lease_until: datetime
    messages: list[Outgoing]


def message_deliver_due() -> int:
    """The outbox sweep: send every message that is due; the number sent.

    A plain function the worker calls on its slow loop; it must not run inside a
    transaction (its steps are durable transactions of their own)."""
    sent = 0
    while True:
        claim = _claim_batch()
        providers: dict[str, Provider] = {}
        for message in claim.messages:
            if clock.now() >= claim.lease_until:
                break  # the rest lapse and are claimed again; none is sent twice by us
            sent += _send(message, providers)
        if len(claim.messages) < BATCH:
            return sent


@transaction.atomic(durable=True)
def _claim_batch() -> Claim:
    now = clock.now()
    lease_until = now + claim_lease()
    rows = list(
        OutboundMessage.objects.select_for_update(skip_locked=True)
        .filter(
            status__in=(MessageStatus.PENDING, MessageStatus.SENDING),
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at", "id")[:BATCH],
    )
    for row in rows:
        if row.status == MessageStatus.SENDING:
            log.warning("message_claim_lapsed id=%s channel=%s", row.pk, row.channel)
        row.status = MessageStatus.SENDING
        row.attempts += 1
        row.next_attempt_at = lease_until
    OutboundMessage.objects.bulk_update(rows, ["status", "attempts", "next_attempt_at"])
    return Claim(
        lease_until=lease_until,
        messages=[
            Outgoing(
                id=row.pk,
                channel=row.channel,
                recipient=row.recipient,
                subject=row.subject,
                body=row.body,
            )
            for row in rows
        ],
    )


def _send(message: Outgoing, providers: dict[str, Provider]) -> int:
    """One attempt, outside any transaction; its result recorded in a transaction of its own."""
    setting_name = provider_setting(message.channel, message.recipient)
    provider_name = setting_name
    try:
        provider = providers.get(setting_name)
        if provider is None:
            provider = providers[setting_name] = provider_class(setting_name).from_settings()
        provider_name = provider.name
        reference = provider.send(message)
    except ProviderError as exc:
        _record_failure(message, provider_name, str(exc))
        return 0
    except Exception as exc:  # noqa: BLE001 - one message's bug must not stop the others
        # the class only: an exception's text may quote the recipient or the body
        log.error(  # noqa: TRY400 - no traceback: its locals and text may hold personal data
            "message_send_crashed id=%s channel=%s error=%s",
            message.id,
            message.channel,
            type(exc).__name__,
        )
        _record_failure(message, provider_name, f"unexpected {type(exc).__name__}")
        return 0
    _record_sent(message, provider_name, reference)
    return 1


@transaction.atomic(durable=True)
def _record_sent(message: Outgoing, provider_name: str, reference: str) -> None:
    OutboundMessage.objects.filter(pk=message.id).exclude(status=MessageStatus.SENT).update(
        status=MessageStatus.SENT,
        sent_at=clock.now(),
        provider=provider_name[:40],
        provider_ref=reference[:100],
        last_error="",
    )
    log.info(
        "message_sent id=%s channel=%s provider=%s", message.id, message.channel, provider_name
    )


@transaction.atomic(durable=True)
def _record_failure(message: Outgoing, provider_name: str, error: str) -> None:
    row = OutboundMessage.objects.select_for_update().filter(pk=message.id).first()
    if row is None or row.status != MessageStatus.SENDING:
        return  # sent meanwhile by a worker that took over a lapsed claim
    now = clock.now()
    row.provider = provider_name[:40]
    row.last_error = error[:200]
    if row.attempts >= settings.MSA_OUTBOX_MAX_ATTEMPTS:
        row.status = MessageStatus.FAILED
        row.failed_at = now
        audit_record(
            actor=WORKER,
            action="message.dead_letter",
            subject=row,
            new={"channel": row.channel, "attempts": row.attempts, "error": row.last_error},
        )
        log.error(
            "message_dead_letter id=%s channel=%s attempts=%d", row.pk, row.channel, row.attempts
        )
    else:
        row.status = MessageStatus.PENDING
        row.next_attempt_at = now + backoff(row.attempts)
        log.warning("message_retry id=%s channel=%s attempts=%d", row.pk, row.channel, row.attempts)
    row.save(
        update_fields=["status", "provider", "last_error", "failed_at", "next_attempt_at"],
    )


@transaction.atomic(durable=True)
def message_retry(*, message_id: int, actor: Actor) -> OutboundMessage:
    """A supervisor queues a dead letter again (after fixing what made it fail)."""
    row = OutboundMessage.objects.select_for_update().filter(pk=message_id).first()
    if row is None or row.status != MessageStatus.FAILED:
        raise NotFoundError("no undeliverable message with that id")
    row.status = MessageStatus.PENDING
    row.attempts = 0
    row.failed_at = None
    row.next_attempt_at = clock.now()
    row.save(update_fields=["status", "attempts", "failed_at", "next_attempt_at"])
    audit_record(
        actor=actor,
        action="message.retry",
        subject=row,
        old={"status": MessageStatus.FAILED, "error": row.last_error},
        new={"status": MessageStatus.PENDING},
    )
    log.info("message_requeued id=%s channel=%s", row.pk, row.channel)
    return row
