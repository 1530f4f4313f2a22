"""The audited read of an incident's dossier (victim, suspect, order)."""

from __future__ import annotations

from django.db import transaction

from msa.alarms.models import Incident
from msa.audit.services import audit_record
from msa.core.actors import Actor


@transaction.atomic
def incident_dossier_open(*, incident: Incident, actor: Actor, reason: str = "") -> None:
    """Record that ``actor`` read the dossier of ``incident`` (victim, suspect, order)."""
    audit_record(
        actor=actor,
        action="dossier.read",
        subject=incident.case,
        new={"incident": incident.reference},
        reason=reason or f"open incident {incident.reference}",
    )
