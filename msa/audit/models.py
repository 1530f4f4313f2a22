"""The append-only record of who saw and did what.

Rows are written in the same transaction as the action they record. The ORM refuses to
update or delete them; subjects are named by type and id, never by a foreign key, so that
no cascade can remove the record of an object.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries are never updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit entries are never deleted")


class AuditEntry(models.Model):
    at = models.DateTimeField(_("at"), db_index=True)
    actor_kind = models.CharField(_("actor kind"), max_length=16)
    actor_label = models.CharField(_("actor"), max_length=150)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    action = models.CharField(_("action"), max_length=80, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=60)
    subject_id = models.CharField(_("subject id"), max_length=64)
    old = models.JSONField(_("old values"), default=dict, blank=True)
    new = models.JSONField(_("new values"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    correlation_id = models.CharField(_("correlation id"), max_length=64, blank=True)
    # The keyed chain (msa/audit/chain.py): this row's MAC covers its place (``seq``, 1, 2, 3 …
    # without gaps: ids may skip where a transaction rolled back) and the previous row's MAC.
    seq = models.BigIntegerField(_("position in the chain"), unique=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    row_hash = models.CharField(_("row hash"), max_length=64, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ("id",)
        indexes = (models.Index(fields=("subject_type", "subject_id")),)
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit entries are never deleted")


class AuditChainHead(models.Model):
    """One row: the hash and id of the newest audit entry. ``audit_record`` locks it, so that
    appends are serialised and every row links to the one written just before it."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"audit chain head #{self.last_id}"
