"""The phones and buttons a victim carries, and their credentials."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.cases.models import ProtectionCase
from msa.core.crypto import EncryptedTextField
from msa.core.models import TransitionHistory
from msa.devices.states import DeviceStatus, ItemStatus
from msa_protocol import decode_key

DEVICE_STATUS_CHOICES = [
    (DeviceStatus.ACTIVE.value, _("active")),
    (DeviceStatus.REVOKED.value, _("revoked")),
]
ITEM_STATUS_CHOICES = [
    (ItemStatus.IN_STOCK.value, _("in stock")),
    (ItemStatus.LOANED.value, _("loaned")),
    (ItemStatus.LOST.value, _("lost")),
    (ItemStatus.IN_REPAIR.value, _("in repair")),
    (ItemStatus.RETIRED.value, _("retired")),
]


class Device(models.Model):
    """An enrolled phone app: its protocol identity and the secret it signs with."""

    device_id = models.CharField(_("device id"), max_length=32, unique=True)
    # The 32-byte HMAC key shared with the phone (base64url), encrypted at rest.
    # Symmetric: the server must keep it to check signatures.
    key = EncryptedTextField(_("key"), cached=True)  # read on every device request
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
        choices=DEVICE_STATUS_CHOICES,
        default=DeviceStatus.ACTIVE.value,
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
    # "msa" (the signed device protocol) or "osmand" (Traccar Client and similar apps, unsigned:
    # docs/interop.md section 2). An OsmAnd device is found by the keyed hash of its identifier
    # (128 random bits or more, its only secret); the identifier itself is never stored.
    protocol = models.CharField(_("protocol"), max_length=8, default="msa")
    osmand_lookup = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self) -> str:
        return self.device_id

    def secret(self) -> bytes:
        return decode_key(self.key)


class DeviceTransition(TransitionHistory):
    """The history of a device's status (``DEVICE_MACHINE``)."""

    subject = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="transitions")


# --------------------------------------------------------------------------------------------
# Issue 5: the inventory of physical items and their loans to cases.
# --------------------------------------------------------------------------------------------


class ItemKind(models.TextChoices):
    BUTTON = "button", _("button")
    PHONE = "phone", _("phone")
    SIM = "sim", _("SIM card")


class InventoryItem(models.Model):
    """A button, phone or SIM in the stock of one judicial district."""

    kind = models.CharField(_("kind"), max_length=8, choices=ItemKind.choices)
    serial = models.CharField(_("serial number"), max_length=64)
    imei = models.CharField(_("IMEI"), max_length=17, blank=True)
    iccid = models.CharField(_("ICCID"), max_length=22, blank=True)
    model_name = models.CharField(_("model"), max_length=100, blank=True)
    owner = models.CharField(_("owner"), max_length=120, blank=True)
    budget = models.CharField(_("budget"), max_length=120, blank=True)
    district = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="inventory",
        limit_choices_to={"kind": "prosecutor_office"},
        verbose_name=_("judicial district"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ITEM_STATUS_CHOICES, default=ItemStatus.IN_STOCK.value
    )
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("inventory item")
        ordering = ("kind", "serial")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("kind", "serial"), name="item_unique_serial"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.serial}"


class ItemTransition(TransitionHistory):
    """The history of an item's status (``ITEM_MACHINE``)."""

    subject = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="transitions")


class Loan(models.Model):
    """An item lent to a case. At most one open loan per item (a database constraint)."""

    item = models.ForeignKey(InventoryItem, on_delete=models.PROTECT, related_name="loans")
    case = models.ForeignKey(ProtectionCase, on_delete=models.PROTECT, related_name="loans")
    # The credentials issued when the phone of this loan was paired.
    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, related_name="loans", null=True, blank=True
    )
    loaned_at = models.DateTimeField(_("loaned at"))
    loaned_by = models.CharField(max_length=150)
    recall_requested_at = models.DateTimeField(_("recall requested at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    returned_condition = models.CharField(max_length=10, blank=True)

    class Meta:
        verbose_name = _("loan")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["item"],
                condition=models.Q(returned_at__isnull=True),
                name="loan_one_open_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} -> {self.case_id}"


# --------------------------------------------------------------------------------------------
# Issue 12: device health. The worker's watch (msa.devices.health) opens one episode per
# problem of a device and clears it when the device recovers; the open episodes are the flags
# on the device and on its case. Never a position, never a name: device id and case only.
# --------------------------------------------------------------------------------------------


class HealthProblem(models.TextChoices):
    SILENT = "silent", _("no heartbeat")
    BUTTON_UNLINKED = "button_unlinked", _("button not linked")
    PHONE_BATTERY_LOW = "phone_battery_low", _("phone battery low")
    BUTTON_BATTERY_LOW = "button_battery_low", _("button battery low")
    LOCATION_PERMISSION = "location_permission", _("location not always allowed")
    NO_TEST_ALARM = "no_test_alarm", _("no recent test alarm")


class DeviceHealthIssue(models.Model):
    """One episode of one problem of one device, from the sweep that saw it to the one that
    saw the device recover. At most one open episode per device and problem (a constraint):
    the case officer is told once per episode, not every sweep."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="health_issues")
    case = models.ForeignKey(
        ProtectionCase, on_delete=models.PROTECT, related_name="device_health_issues"
    )
    problem = models.CharField(_("problem"), max_length=24, choices=HealthProblem.choices)
    # what the watch saw ("phone 12 %", "last heartbeat 18:02 UTC"): never personal data
    detail = models.CharField(_("detail"), max_length=120, blank=True)
    opened_at = models.DateTimeField(_("since"))
    notified_at = models.DateTimeField(_("officer told at"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)

    class Meta:
        verbose_name = _("device health issue")
        ordering = ("opened_at", "id")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("device", "problem"),
                condition=models.Q(cleared_at__isnull=True),
                name="health_one_open_episode",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=("case", "cleared_at"))]

    def __str__(self) -> str:
        return f"{self.device_id} {self.problem}"


class DeviceReport(models.Model):
    """The daily device report of one police zone, sent once per local day."""

    zone = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="device_reports"
    )
    day = models.DateField(_("day"))
    sent_at = models.DateTimeField(_("sent at"))
    devices = models.PositiveIntegerField(_("devices"))
    with_problems = models.PositiveIntegerField(_("devices with problems"))

    class Meta:
        verbose_name = _("device report")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("zone", "day"), name="device_report_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.zone_id} {self.day}"
