"""A dead letter is seen by supervisors (the undelivered-messages page, no recipient and no
body on it) and sent again on their word, audited; nobody else sees the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from msa.audit.models import AuditEntry
from msa.cases.tests.factories import client_for
from msa.core.clock import Clock
from msa.messaging.models import MessageStatus, OutboundMessage
from msa.messaging.providers import FakeProvider
from msa.messaging.services import backoff, message_deliver_due
from msa.worker import timers
from tests.support.factories import press
from tests.support.loopback import http_endpoint

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


@pytest.mark.django_db
def test_the_supervisor_sees_a_dead_letter_and_sends_it_again(
    demo: None, clock: Clock, settings: Any
) -> None:
    settings.MSA_OUTBOX_MAX_ATTEMPTS = 2
    settings.MSA_SUPERVISOR_ALERT_TO = "+32470123456"
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    clock.advance(timedelta(seconds=30))
    timers.sweep_ack_escalations()
    with http_endpoint() as gateway:  # a gateway that refuses every message
        gateway.answer = lambda _request: 401
        settings.MSA_SMS_PROVIDER = "http"
        settings.MSA_SMS_GATEWAY_URL = gateway.url
        settings.MSA_SMS_GATEWAY_TOKEN = "expired-token"
        message_deliver_due()
        clock.advance(backoff(1))
        message_deliver_due()
    message = OutboundMessage.objects.get()
    assert message.status == MessageStatus.FAILED

    page = client_for("supervisor").get("/messages/undelivered/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"MSA {incident.reference}" in html
    assert "SMS gateway: HTTP 401" in html
    assert "+32470123456" not in html  # neither the recipient ...
    assert "not acknowledged after" not in html  # ... nor the body
    for role in ("operator", "reference", "patrol", "analyst"):
        assert client_for(role).get("/messages/undelivered/").status_code == 404
        assert (
            client_for(role)
            .post("/messages/undelivered/retry/", {"message": message.pk})
            .status_code
            == 404
        )

    # the token is fixed: the supervisor sends it again, through the fake this time
    settings.MSA_SMS_PROVIDER = "fake"
    FakeProvider.sent.clear()
    answer = client_for("supervisor").post("/messages/undelivered/retry/", {"message": message.pk})
    assert answer.status_code == 302
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.attempts == 0
    assert AuditEntry.objects.filter(
        action="message.retry", subject_id=str(message.pk), actor_label="supervisor"
    ).exists()
    assert message_deliver_due() == 1
    assert [m.id for m in FakeProvider.sent] == [message.pk]
    assert (
        "Every message was delivered."
        in client_for("supervisor").get("/messages/undelivered/").content.decode()
    )


@pytest.mark.django_db
def test_sending_again_what_is_not_a_dead_letter_changes_nothing(demo: None) -> None:
    supervisor = client_for("supervisor")
    for raw in ("", "abc", "999999"):
        answer = supervisor.post("/messages/undelivered/retry/", {"message": raw}, follow=True)
        assert answer.status_code == 200
        assert "not undeliverable" in answer.content.decode()
    assert not AuditEntry.objects.filter(action="message.retry").exists()
