"""Police units, where they are, who crews them, and the dispatches that send them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import ApiToken, Organisation, User
from msa.core.crypto import EncryptedTextField
from msa.core.models import TransitionHistory
from msa.dispatch.states import (
    DISPATCH_LABELS,
    DISPATCH_MACHINE,
    DISPATCH_TABLE,
    OPEN_DISPATCH_STATES,
    UNIT_CREW_LABELS,
    UNIT_MACHINE,
    DispatchState,
    UnitStatus,
)


def _choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    return [(m.value, m.value) for m in enum]


class UnitKind(models.TextChoices):
    CAR = "car", _("patrol car")
    MOTORCYCLE = "motorcycle", _("motorcycle")
    BICYCLE = "bicycle", _("bicycle")
    FOOT = "foot", _("on foot")


UNIT_STATUS_CHOICES = [
    (UnitStatus.AVAILABLE.value, _("available")),
    (UnitStatus.BUSY.value, _("busy")),
    (UnitStatus.OFF_DUTY.value, _("off duty")),
]


@dataclass(frozen=True, slots=True)
class ActionButton:
    """One button of a machine's transition: posted by name, shown with a label."""

    transition: str
    label: str
    allowed: bool
    to: str = ""  # the state it leads to (for the page's styling and ids)

    @property
    def dom_id(self) -> str:
        return self.to.replace("_", "-")


class Unit(models.Model):
    call_sign = models.CharField(_("call sign"), max_length=16, unique=True)
    police_zone = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="units",
        limit_choices_to={"kind": "police_zone"},
    )
    kind = models.CharField(_("kind"), max_length=12, choices=UnitKind.choices)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=UNIT_STATUS_CHOICES,
        default=UnitStatus.AVAILABLE,
    )
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    location_label = models.CharField(_("location"), max_length=120, blank=True)
    # The bearer token of this unit's AVL feed (POST /api/unit/v1/positions).
    avl_token = models.OneToOneField(
        ApiToken,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="unit",
        limit_choices_to={"kind": "unit"},
    )
    # Traccar Client on an officer's phone (OsmAnd protocol, docs/interop.md section 2): the
    # keyed hash of the unit's identifier (msa unit osmand-id CALLSIGN), never the identifier.
    osmand_lookup = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ("call_sign",)
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.call_sign

    @property
    def crew_buttons(self) -> list[ActionButton]:
        """The crew's own status buttons that the machine allows now."""
        allowed = UNIT_MACHINE.allowed(self.status)
        return [
            ActionButton(str(t), str(label), allowed=True)
            for t, label in UNIT_CREW_LABELS.items()
            if t in allowed
        ]


class UnitCrew(models.Model):
    """A patrol officer crewing a unit: what /unit/ shows them. One unit per officer."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="crew")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="crew")

    class Meta:
        verbose_name = _("unit crew member")
        verbose_name_plural = _("unit crew")

    def __str__(self) -> str:
        return f"{self.user} @ {self.unit}"


class UnitPosition(models.Model):
    """Where a unit was (from its AVL feed or the officer's browser). Units are not victims:
    their track is kept for the incident review."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="positions")
    lat = models.FloatField()
    lon = models.FloatField()
    accuracy_m = models.FloatField(null=True, blank=True)
    fix_at = models.DateTimeField()
    source = models.CharField(max_length=12)  # avl | browser
    received_at = models.DateTimeField()

    class Meta:
        ordering = ("fix_at", "id")
        indexes: ClassVar = [models.Index(fields=("unit", "fix_at"))]

    def __str__(self) -> str:
        return f"{self.unit_id} @ {self.fix_at:%H:%M:%S}"


class Dispatch(models.Model):
    """One unit sent to one incident. A unit has at most one open dispatch (DB constraint)."""

    incident = models.ForeignKey(
        "alarms.Incident", on_delete=models.PROTECT, related_name="dispatches"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="dispatches")
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=_choices(DispatchState),
        default=DispatchState.ASSIGNED,
    )
    eta_s = models.PositiveIntegerField(_("estimated arrival (s)"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("assigned at"))
    en_route_at = models.DateTimeField(_("en route at"), null=True, blank=True)
    on_scene_at = models.DateTimeField(_("on scene at"), null=True, blank=True)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("assigned_at", "id")
        verbose_name = _("dispatch")
        verbose_name_plural = _("dispatches")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=("unit",),
                condition=~models.Q(status=DispatchState.CLEARED),
                name="dispatch_one_open_per_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} -> {self.incident_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DISPATCH_STATES

    @property
    def progress_buttons(self) -> list[ActionButton]:
        """Every progress step, in order, each allowed or not from the current status."""
        allowed = DISPATCH_MACHINE.allowed(self.status)
        return [
            ActionButton(str(t), str(label), allowed=t in allowed, to=str(DISPATCH_TABLE[t][1]))
            for t, label in DISPATCH_LABELS.items()
        ]


class DispatchTransition(TransitionHistory):
    subject = models.ForeignKey(Dispatch, on_delete=models.PROTECT, related_name="transitions")


class UnitTransition(TransitionHistory):
    """The history of a unit's availability (``Unit.status``)."""

    subject = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="transitions")


class IncidentNote(models.Model):
    """A note on an incident's timeline. Free text may name people: encrypted at rest,
    never put in an event payload or a log line."""

    incident = models.ForeignKey("alarms.Incident", on_delete=models.PROTECT, related_name="notes")
    text = EncryptedTextField(_("note"))
    author_label = models.CharField(max_length=150)
    author = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"note {self.pk} on {self.incident_id}"


class CentreBackup(models.Model):
    """The centre that is offered a centre's alarms nobody acknowledged in time."""

    centre = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="backup_link",
        limit_choices_to={"kind": "cic"},
    )
    backup = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="backs_up",
        limit_choices_to={"kind": "cic"},
    )

    class Meta:
        verbose_name = _("backup centre")
        verbose_name_plural = _("backup centres")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~models.Q(centre=models.F("backup")), name="backup_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.centre} -> {self.backup}"
