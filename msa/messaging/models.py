"""Every outbound message, kept: what was sent, to whom, through which provider, when."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.core.crypto import EncryptedTextField


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-mail")
    NATIONAL_DB = "national_db", _("national police database")
    NOTIFICATION = "notification", _("staff notification")


class MessageStatus(models.TextChoices):
    """pending → sending (claimed by a worker, committed) → sent, or back to pending with a
    backoff, or failed: a dead letter after ``MSA_OUTBOX_MAX_ATTEMPTS``, shown to supervisors."""

    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    FAILED = "failed", _("undeliverable")


class OutboundMessage(models.Model):
    channel = models.CharField(_("channel"), max_length=16, choices=MessageChannel.choices)
    recipient = EncryptedTextField(_("recipient"))
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = EncryptedTextField(_("body"))
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=MessageStatus.choices,
        default=MessageStatus.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    provider_ref = models.CharField(max_length=100, blank=True)
    # what the message is about, by type and id (never a cascade)
    about_type = models.CharField(max_length=60, blank=True)
    about_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    # pending: when the next attempt is due; sending: when the worker's claim lapses
    next_attempt_at = models.DateTimeField(db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes: ClassVar = [models.Index(fields=("status", "next_attempt_at"))]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} {self.status}"
