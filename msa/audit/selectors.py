"""Reads of the audit trail, for the viewer of supervisors and administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from msa.audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    subject_type: str = ""
    subject_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_entries(flt: AuditFilter) -> QuerySet[AuditEntry]:
    rows = AuditEntry.objects.all()
    if flt.actor:
        rows = rows.filter(actor_label=flt.actor)
    if flt.action:
        rows = rows.filter(action__startswith=flt.action)
    if flt.subject_type:
        rows = rows.filter(subject_type=flt.subject_type)
    if flt.subject_id:
        rows = rows.filter(subject_id=flt.subject_id)
    if flt.since:
        rows = rows.filter(at__gte=flt.since)
    if flt.until:
        rows = rows.filter(at__lt=flt.until)
    return rows.order_by("-id")
