"""Base models shared by every part."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TransitionHistory(models.Model):
    """One row per state change of an aggregate: never updated, never deleted.

    Each state machine has its own concrete history model with a ``subject`` foreign key.
    """

    transition = models.CharField(_("transition"), max_length=40)
    from_state = models.CharField(_("from"), max_length=40, blank=True)
    to_state = models.CharField(_("to"), max_length=40)
    actor_label = models.CharField(_("actor"), max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        abstract = True
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.from_state or '-'} -> {self.to_state} ({self.transition})"


class ReferenceCounter(models.Model):
    """The last number handed out per prefix and year (GNT-2026-00042)."""

    prefix = models.CharField(max_length=16)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=("prefix", "year"), name="refcounter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"
