"""Each real provider against a real server on loopback, fed by the flows that send: the
supervisor's alert of an unacknowledged alarm by e-mail (SMTP, aiosmtpd) and by SMS (the
HTTP gateway), and the national-database notice of an approved case (a signed POST)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from msa.cases.tests import factories as h
from msa.core.clock import Clock
from msa.messaging.models import MessageChannel, MessageStatus, OutboundMessage
from msa.messaging.services import message_deliver_due
from msa.worker import timers
from tests.support.factories import press
from tests.support.loopback import (
    HttpEndpoint,
    SmtpInbox,
    http_endpoint,
    loopback_certificate,
    smtp_server,
)

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
HMAC_KEY = "national-db-test-key-" + "k" * 20


@pytest.fixture
def inbox(settings: Any) -> Iterator[SmtpInbox]:
    with smtp_server() as server:
        settings.MSA_EMAIL_PROVIDER = "smtp"
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.MSA_SMTP_TLS = "none"
        settings.DEFAULT_FROM_EMAIL = "msa@cic-ovl.example"
        yield server


def unacknowledged_alarm(clock: Clock) -> str:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    clock.advance(timedelta(seconds=30))
    assert timers.sweep_ack_escalations() == 1
    return incident.reference


@pytest.mark.django_db
def test_the_supervisor_alert_arrives_by_smtp(
    demo: None, inbox: SmtpInbox, clock: Clock, settings: Any
) -> None:
    settings.MSA_SUPERVISOR_ALERT_TO = "duty-supervisor@cic-ovl.example"
    reference = unacknowledged_alarm(clock)
    assert message_deliver_due() == 1
    (mail,) = inbox.messages
    assert inbox.envelopes == [("msa@cic-ovl.example", ["duty-supervisor@cic-ovl.example"])]
    assert mail["Subject"] == f"MSA {reference}"
    assert mail["From"] == "msa@cic-ovl.example"
    text = mail.get_payload(decode=True)
    assert isinstance(text, bytes)
    assert text.decode().strip() == f"{reference}: not acknowledged after 30 s"
    message = OutboundMessage.objects.get(channel=MessageChannel.EMAIL)
    assert mail["Message-ID"] == f"<msa-{message.pk}@cic-ovl.example>"
    assert message.status == MessageStatus.SENT
    assert message.provider == "smtp"
    assert message.provider_ref == mail["Message-ID"]


@pytest.mark.django_db
def test_an_smtp_server_that_is_down_is_retried(demo: None, clock: Clock, settings: Any) -> None:
    settings.MSA_SUPERVISOR_ALERT_TO = "duty-supervisor@cic-ovl.example"
    with smtp_server() as server:
        port = server.port  # a port where nothing listens once the server stopped
    settings.MSA_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    unacknowledged_alarm(clock)
    assert message_deliver_due() == 0
    message = OutboundMessage.objects.get(channel=MessageChannel.EMAIL)
    assert message.status == MessageStatus.PENDING
    assert message.last_error == "SMTP: ConnectionRefusedError"
    with smtp_server() as server:
        settings.EMAIL_PORT = server.port
        clock.advance(timedelta(seconds=15))
        assert message_deliver_due() == 1
        assert len(server.messages) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback
@pytest.mark.django_db
def test_smtp_signs_in_with_the_configured_user(demo: None, clock: Clock, settings: Any) -> None:
    settings.MSA_SUPERVISOR_ALERT_TO = "duty-supervisor@cic-ovl.example"
    settings.MSA_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_USE_TLS = False
    unacknowledged_alarm(clock)
    with smtp_server(credentials=("msa-relay", "relay-password")) as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "msa-relay", "wrong"
        assert message_deliver_due() == 0
        message = OutboundMessage.objects.get(channel=MessageChannel.EMAIL)
        assert message.status == MessageStatus.PENDING
        assert not server.messages
        assert message.last_error == "SMTP: SMTPAuthenticationError"
        settings.EMAIL_HOST_PASSWORD = "relay-password"
        clock.advance(timedelta(seconds=15))
        assert message_deliver_due() == 1
        assert len(server.messages) == 1


@pytest.mark.django_db
def test_starttls_verifies_the_server_certificate(
    demo: None, clock: Clock, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MSA_SMTP_TLS=starttls (the default): TLS before the login, the certificate checked."""
    settings.MSA_SUPERVISOR_ALERT_TO = "duty-supervisor@cic-ovl.example"
    settings.MSA_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = True, False
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "msa-relay", "relay-password"
    unacknowledged_alarm(clock)
    certificate = loopback_certificate(tmp_path)
    with smtp_server(credentials=("msa-relay", "relay-password"), tls=certificate) as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
        assert message_deliver_due() == 0  # a certificate nobody vouches for: refused
        message = OutboundMessage.objects.get(channel=MessageChannel.EMAIL)
        assert message.last_error == "SMTP: SSLCertVerificationError"
        assert not server.messages
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # now the test's CA is trusted
        clock.advance(timedelta(seconds=15))
        assert message_deliver_due() == 1
        assert len(server.messages) == 1


@pytest.mark.django_db
def test_the_supervisor_alert_arrives_by_sms(demo: None, clock: Clock, settings: Any) -> None:
    settings.MSA_SUPERVISOR_ALERT_TO = "+32470123456"
    with http_endpoint() as gateway:
        settings.MSA_SMS_PROVIDER = "http"
        settings.MSA_SMS_GATEWAY_URL = gateway.url
        settings.MSA_SMS_GATEWAY_TOKEN = "sms-token"
        reference = unacknowledged_alarm(clock)
        assert message_deliver_due() == 1
    (request,) = gateway.received
    assert request.headers["authorization"] == "Bearer sms-token"
    body = json.loads(request.body)
    assert body["to"] == "+32470123456"
    assert body["text"] == f"{reference}: not acknowledged after 30 s"
    assert body["reference"] == request.headers["idempotency-key"]


def verify(request: Any, key: str) -> bool:
    timestamp = request.headers["x-msa-timestamp"]
    expected = hmac.new(key.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
    return hmac.compare_digest(request.headers["x-msa-signature"], "sha256=" + expected.hexdigest())


@pytest.fixture
def national_db(settings: Any) -> Iterator[HttpEndpoint]:
    with http_endpoint() as endpoint:
        settings.MSA_NATIONAL_DB_PROVIDER = "https"
        settings.MSA_NATIONAL_DB_URL = endpoint.url
        settings.MSA_NATIONAL_DB_HMAC_KEY = HMAC_KEY
        yield endpoint


@pytest.mark.django_db
def test_the_national_notice_arrives_signed(
    demo: None, national_db: HttpEndpoint, clock: Clock
) -> None:
    clock.freeze(NOW)
    case = h.approved(h.new_case())
    assert message_deliver_due() == 1
    (request,) = national_db.received
    assert verify(request, HMAC_KEY)
    assert not verify(request, "another-key-" + "x" * 30)
    assert request.headers["x-msa-timestamp"] == str(int(NOW.timestamp()))
    notice = json.loads(request.body)
    message = OutboundMessage.objects.get(channel=MessageChannel.NATIONAL_DB)
    assert notice["id"] == request.headers["idempotency-key"] == f"msa-{message.pk}"
    assert notice["subject"] == f"MSA restraining order {case.reference}"
    assert "arrest for breach of the restraining order" in notice["text"]
    assert "SUSPECT1, Piet" in notice["text"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


@pytest.mark.django_db
def test_a_tampered_notice_fails_verification(demo: None, national_db: HttpEndpoint) -> None:
    h.approved(h.new_case())
    message_deliver_due()
    (request,) = national_db.received
    request.body = request.body.replace(b"SUSPECT1", b"SUSPECT2")
    assert not verify(request, HMAC_KEY)
