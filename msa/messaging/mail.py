"""E-mail through Django's SMTP backend (``MSA_SMTP_*``: host, port, TLS, user, password).

The message id is the e-mail's ``Message-ID`` (``<msa-<id>@<host>>``), so that a mail sent
twice (the outbox delivers at least once) is one message to the receiving mail system.
"""

from __future__ import annotations

import smtplib
from typing import Self

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from msa.core.errors import ConfigurationError
from msa.messaging.providers import Outgoing, ProviderError, is_loopback

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
TLS_MODES = ("starttls", "ssl", "none")


class SmtpProvider:
    name = "smtp"

    @classmethod
    def from_settings(cls) -> Self:
        if not settings.EMAIL_HOST:  # Django's name for MSA_SMTP_HOST
            raise ConfigurationError("MSA_SMTP_HOST must be set when MSA_EMAIL_PROVIDER=smtp")
        if settings.MSA_SMTP_TLS not in TLS_MODES:
            raise ConfigurationError(f"MSA_SMTP_TLS must be one of {', '.join(TLS_MODES)}")
        if settings.MSA_SMTP_TLS == "none" and not is_loopback(settings.EMAIL_HOST):
            raise ConfigurationError(
                "MSA_SMTP_TLS=none only to a relay on this host (a loopback MSA_SMTP_HOST): "
                "mail and the SMTP password would cross the network in clear"
            )
        return cls()

    def send(self, message: Outgoing) -> str:
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
        message_id = f"<{message.key}@{domain}>"
        mail = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.recipient],
            headers={"Message-ID": message_id},
            # the backend's own connection per send: a dropped connection is not reused
            connection=get_connection(SMTP_BACKEND, fail_silently=False),
        )
        try:
            mail.send()
        except (smtplib.SMTPException, OSError) as exc:
            # the exception's class only: an SMTP refusal may quote the recipient
            raise ProviderError(f"SMTP: {type(exc).__name__}") from None
        return message_id
