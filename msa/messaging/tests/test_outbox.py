"""The outbox against a real HTTP SMS gateway on loopback: claimed and committed before the
send, retried with backoff under one idempotency key, each message delivered exactly once
when the gateway recovers, a dead letter after the last attempt, and one provider's crash
rolling back nothing already sent."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections, transaction

from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.messaging.models import MessageChannel, MessageStatus, OutboundMessage
from msa.messaging.providers import Outgoing
from msa.messaging.services import (
    backoff,
    claim_lease,
    message_deliver_due,
    message_enqueue,
)
from msa.messaging.sms import HttpSmsGateway
from tests.support.loopback import HttpEndpoint, Received, http_endpoint

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
TOKEN = "gateway-token-for-tests"
TEST = Actor.system("test")


@pytest.fixture
def gateway(settings: Any) -> Iterator[HttpEndpoint]:
    with http_endpoint() as endpoint:
        settings.MSA_SMS_PROVIDER = "http"
        settings.MSA_SMS_GATEWAY_URL = endpoint.url
        settings.MSA_SMS_GATEWAY_TOKEN = TOKEN
        yield endpoint


def enqueue_sms(*bodies: str) -> list[OutboundMessage]:
    with transaction.atomic():
        return [
            message_enqueue(
                channel=MessageChannel.SMS,
                recipient=f"+3247000000{n}",
                subject="",
                body=body,
                actor=TEST,
            )
            for n, body in enumerate(bodies)
        ]


def accepted_keys(endpoint: HttpEndpoint, status: dict[int, int]) -> Counter[str]:
    return Counter(
        r.headers["idempotency-key"] for n, r in enumerate(endpoint.received) if status[n] < 300
    )


@pytest.mark.django_db
def test_a_failing_gateway_then_recovering_delivers_each_message_exactly_once(
    gateway: HttpEndpoint, clock: Clock
) -> None:
    clock.freeze(NOW)
    messages = enqueue_sms("first", "second", "third")
    answers: dict[int, int] = {}
    failing = True

    def answer(request: Received) -> int:
        answers[len(answers)] = 503 if failing else 200
        return answers[len(answers) - 1]

    gateway.answer = answer
    assert message_deliver_due() == 0
    assert len(gateway.received) == 3
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.PENDING
        assert message.attempts == 1
        assert message.last_error == "SMS gateway: HTTP 503"
        assert message.next_attempt_at == NOW + timedelta(seconds=15)
    assert message_deliver_due() == 0  # not due yet: no request
    assert len(gateway.received) == 3

    clock.advance(timedelta(seconds=15))
    assert message_deliver_due() == 0
    messages[0].refresh_from_db()
    assert (
        messages[0].next_attempt_at
        == clock.now() + backoff(2)
        == clock.now() + timedelta(seconds=30)
    )

    failing = False
    clock.advance(timedelta(seconds=30))
    assert message_deliver_due() == 3
    clock.advance(timedelta(hours=3))
    assert message_deliver_due() == 0

    assert len(gateway.received) == 9  # three attempts each, the last accepted
    keys = accepted_keys(gateway, answers)
    assert keys == Counter({f"msa-{m.pk}": 1 for m in messages})
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.sent_at == NOW + timedelta(seconds=45)
        assert message.provider == "http-sms"
        assert message.provider_ref.startswith("gw-")
        assert message.attempts == 3
    # every attempt at a message carried its key; the body is the gateway's JSON shape
    first = [r for r in gateway.received if r.headers["idempotency-key"] == f"msa-{messages[0].pk}"]
    assert len(first) == 3
    assert first[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(first[0].body) == {
        "from": "MSA",
        "to": "+32470000000",
        "text": "first",
        "reference": f"msa-{messages[0].pk}",
    }


@pytest.mark.django_db
def test_after_the_last_attempt_a_message_is_a_dead_letter(
    gateway: HttpEndpoint, clock: Clock, settings: Any
) -> None:
    settings.MSA_OUTBOX_MAX_ATTEMPTS = 3
    clock.freeze(NOW)
    gateway.answer = lambda _request: 500
    (message,) = enqueue_sms("never arrives")
    for attempt in (1, 2, 3):
        assert message_deliver_due() == 0
        assert len(gateway.received) == attempt
        clock.advance(backoff(attempt))
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.failed_at == NOW + backoff(1) + backoff(2)
    assert message.attempts == 3
    clock.advance(timedelta(days=1))
    assert message_deliver_due() == 0
    assert len(gateway.received) == 3  # a dead letter is not tried again
    entry = AuditEntry.objects.get(action="message.dead_letter")
    assert entry.subject_id == str(message.pk)
    assert "never arrives" not in json.dumps(entry.new)


class CrashesOnBoom:
    """A provider with a bug: anything but a ``ProviderError`` for one message."""

    name = "crashy"
    sent: list[int] = []

    @classmethod
    def from_settings(cls) -> CrashesOnBoom:
        return cls()

    def send(self, message: Outgoing) -> str:
        if message.body == "boom":
            raise KeyError(message.recipient)
        self.sent.append(message.id)
        return f"ok-{message.id}"


@pytest.mark.django_db
def test_a_crashing_provider_rolls_back_nothing_already_sent(settings: Any, clock: Clock) -> None:
    clock.freeze(NOW)
    settings.MSA_SMS_PROVIDER = f"{__name__}.CrashesOnBoom"
    CrashesOnBoom.sent.clear()
    before, boom, after = enqueue_sms("before", "boom", "after")
    assert message_deliver_due() == 2
    assert CrashesOnBoom.sent == [before.pk, after.pk]
    for message in (before, boom, after):
        message.refresh_from_db()
    assert before.status == after.status == MessageStatus.SENT
    assert boom.status == MessageStatus.PENDING
    assert boom.last_error == "unexpected KeyError"  # not the recipient the error quoted
    assert "+3247" not in boom.last_error
    clock.advance(timedelta(hours=1))
    assert message_deliver_due() == 0
    assert CrashesOnBoom.sent == [before.pk, after.pk]  # the sent ones are not sent again


class DiesAfterSending(HttpSmsGateway):
    """The worker is killed after the gateway took the message, before it was recorded."""

    died = False

    def send(self, message: Outgoing) -> str:
        reference = super().send(message)
        if not DiesAfterSending.died:
            DiesAfterSending.died = True
            raise KeyboardInterrupt
        return reference


@pytest.mark.django_db
def test_a_worker_killed_mid_send_is_taken_over_with_the_same_key(
    gateway: HttpEndpoint, clock: Clock, settings: Any
) -> None:
    clock.freeze(NOW)
    settings.MSA_SMS_PROVIDER = f"{__name__}.DiesAfterSending"
    DiesAfterSending.died = False
    (message,) = enqueue_sms("at least once")
    with pytest.raises(KeyboardInterrupt):
        message_deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING
    assert message_deliver_due() == 0  # claimed: nobody sends it while the lease runs
    clock.advance(claim_lease())
    assert message_deliver_due() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    keys = [r.headers["idempotency-key"] for r in gateway.received]
    assert keys == [f"msa-{message.pk}", f"msa-{message.pk}"]  # the receiver de-duplicates


@pytest.mark.django_db(transaction=True)
def test_the_claim_is_committed_before_the_send_and_no_lock_is_held(
    gateway: HttpEndpoint,
) -> None:
    """The gateway, while it is being sent to, looks at the row from another connection."""
    (message,) = enqueue_sms("hello")
    seen: list[str] = []

    def look(_request: Received) -> None:
        try:
            row = OutboundMessage.objects.get(pk=message.pk)
            seen.append(row.status)
            if connection.features.has_select_for_update_nowait:
                with transaction.atomic():
                    OutboundMessage.objects.select_for_update(nowait=True).get(pk=message.pk)
                seen.append("not locked")
        except DatabaseError as exc:
            seen.append(f"locked: {type(exc).__name__}")
        finally:
            connections.close_all()

    gateway.on_request = look
    assert message_deliver_due() == 1
    if connection.features.has_select_for_update_nowait:  # PostgreSQL
        assert seen == ["sending", "not locked"]
    else:  # SQLite: an open write transaction would have made the read fail as locked
        assert seen == ["sending"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_second_worker_skips_the_rows_another_holds(gateway: HttpEndpoint) -> None:
    """SKIP LOCKED: a row locked by another worker's claim is left to it, without waiting."""
    held, free = enqueue_sms("held by the other worker", "free")
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                OutboundMessage.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert message_deliver_due() == 1  # would block on the held row without SKIP LOCKED
        assert [r.headers["idempotency-key"] for r in gateway.received] == [f"msa-{free.pk}"]
    finally:
        release.set()
        thread.join(10)
    assert message_deliver_due() == 1
    held.refresh_from_db()
    assert held.status == MessageStatus.SENT
