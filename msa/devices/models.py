"""The phones and buttons a victim carries, and their credentials."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.cases.models import ProtectionCase
from msa.core.crypto import EncryptedTextField
from msa_client.protocol import decode_key


class DeviceStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    REVOKED = "revoked", _("revoked")


class Device(models.Model):
    """An enrolled phone app: its protocol identity and the secret it signs with."""

    device_id = models.CharField(_("device id"), max_length=32, unique=True)
    # The 32-byte HMAC key shared with the phone (base64url), encrypted at rest.
    # Symmetric: the server must keep it to check signatures.
    key = EncryptedTextField(_("key"))
    case = models.ForeignKey(
        ProtectionCase,
        on_delete=models.PROTECT,
        related_name="devices",
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DeviceStatus.choices,
        default=DeviceStatus.ACTIVE,
    )
    enrolled_at = models.DateTimeField(_("enrolled at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    phone_battery_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    button_battery_pct = models.PositiveSmallIntegerField(null=True, blank=True)
    # The last heartbeat's report (protocol.md, POST /heartbeat); never a position.
    button_connected = models.BooleanField(null=True)
    button_last_seen_at = models.DateTimeField(null=True, blank=True)
    permissions = models.JSONField(default=dict, blank=True)
    network_data = models.BooleanField(null=True)
    app_version = models.CharField(max_length=40, blank=True)
    key_rotated_at = models.DateTimeField(_("key rotated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self) -> str:
        return self.device_id

    def secret(self) -> bytes:
        return decode_key(self.key)
