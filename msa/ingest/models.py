"""What the ingest adapters keep: every inbound SMS (the rejected-SMS log is its rejected part)
and the per-device request counters of the device API's rate limits."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.alarms.models import Incident
from msa.core.crypto import EncryptedTextField
from msa.devices.models import Device


class SmsResult(models.TextChoices):
    RAISED = "raised", _("alarm raised")
    MERGED = "merged", _("joined an alarm")
    DUPLICATE = "duplicate", _("duplicate")
    REJECTED = "rejected", _("rejected")


class InboundSms(models.Model):
    """One message delivered by an SMS gateway to ``/api/sms/v1/inbound``.

    The ``(gateway, message_id)`` pair is unique: a redelivery by the gateway changes nothing.
    The sender and the text are personal data (a phone number, a position) and are encrypted;
    ``sender_lookup`` is the keyed hash used to recognise the enrolled number of a case.
    ``reason`` says why a message was rejected, or why its alarm is unverified.
    """

    gateway = models.CharField(_("gateway"), max_length=100)
    message_id = models.CharField(_("gateway message id"), max_length=200)
    sender = EncryptedTextField(_("from"), blank=True)
    sender_lookup = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    recipient = models.CharField(_("to"), max_length=32, blank=True)
    text = EncryptedTextField(_("text"), blank=True)
    gateway_received_at = models.DateTimeField(_("received by the gateway at"))
    received_at = models.DateTimeField(_("received at"), db_index=True)
    result = models.CharField(_("result"), max_length=16, choices=SmsResult.choices)
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="inbound_sms", null=True, blank=True
    )

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("gateway", "message_id"), name="inbound_sms_unique_per_gateway"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.message_id} {self.result}"


class DeviceRateWindow(models.Model):
    """A fixed-window request counter per device (see msa.ingest.ratelimit)."""

    device = models.OneToOneField(
        Device, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    window = models.BigIntegerField()  # unix time // MSA_DEVICE_RATE_WINDOW_S
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.device_id}: {self.count} in window {self.window}"


class HeartbeatRateWindow(models.Model):
    """The heartbeats' own fixed-window counter per device, and the signature of the last
    heartbeat counted (an exact replay of it is not counted again; see msa.ingest.ratelimit)."""

    device = models.OneToOneField(
        Device, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    window = models.BigIntegerField()  # unix time // MSA_DEVICE_RATE_WINDOW_S
    count = models.PositiveIntegerField(default=0)
    last_signature = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.device_id}: {self.count} heartbeats in window {self.window}"


class AmlResult(models.TextChoices):
    ATTACHED = "attached", _("attached to the open incident")
    RAISED = "raised", _("alarm raised")
    DUPLICATE = "duplicate", _("duplicate")
    IGNORED = "ignored", _("not an enrolled number")
    REJECTED = "rejected", _("rejected")


class InboundAml(models.Model):
    """One AML message of an enrolled victim that MSA read (docs/interop.md section 1).

    AML of numbers that are not enrolled is never stored; an unreadable AML message goes to
    the rejected-message log (:class:`InboundSms`, reason ``aml_*``). ``(source, message_id)``
    is unique: the gateway's message id, or for HTTPS a digest of the body, so that a
    redelivery changes nothing. ``warnings`` lists what was off but not a reason to reject
    (``ml_mismatch``, ``no_time``, ...).
    """

    source = models.CharField(_("source"), max_length=100)  # the gateway, or "https:<sender>"
    message_id = models.CharField(_("message id"), max_length=200)
    shape = models.CharField(_("shape"), max_length=8)  # sms_v1, sms_v2, https
    sender_lookup = models.CharField(max_length=64, db_index=True, editable=False)
    text = EncryptedTextField(_("text"), blank=True)
    received_at = models.DateTimeField(_("received at"), db_index=True)
    result = models.CharField(_("result"), max_length=16, choices=AmlResult.choices)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.PROTECT, related_name="inbound_aml", null=True, blank=True
    )

    class Meta:
        verbose_name = _("inbound AML message")
        verbose_name_plural = _("inbound AML messages")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("source", "message_id"), name="inbound_aml_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.message_id} {self.result}"
