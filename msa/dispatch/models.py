"""Police units and where they are."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Organisation


class UnitKind(models.TextChoices):
    CAR = "car", _("patrol car")
    MOTORCYCLE = "motorcycle", _("motorcycle")
    BICYCLE = "bicycle", _("bicycle")
    FOOT = "foot", _("on foot")


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", _("available")
    BUSY = "busy", _("busy")
    OFF_DUTY = "off_duty", _("off duty")


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
        choices=UnitStatus.choices,
        default=UnitStatus.AVAILABLE,
    )
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    location_label = models.CharField(_("location"), max_length=120, blank=True)

    class Meta:
        ordering = ("call_sign",)
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.call_sign
