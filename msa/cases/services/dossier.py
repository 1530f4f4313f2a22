"""The audit of dossier reads and of the reason a reader outside the case's owners states
(the rule is ``msa.cases.selectors.dossier_access_reason_required``)."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.audit.services import audit_record
from msa.cases.models import (
    ProtectionCase,
)
from msa.core.actors import Actor
from msa.core.errors import ValidationError


@transaction.atomic
def case_dossier_read(*, case: ProtectionCase, actor: Actor, reason: str, scope: str) -> None:
    """Every read of a dossier is audited, with the reader's reason and what they saw."""
    audit_record(
        actor=actor,
        action="dossier.read",
        subject=case,
        new={"scope": scope},
        reason=reason,
    )


@transaction.atomic(durable=True)
def case_reason_state(*, case: ProtectionCase, actor: Actor, reason: str) -> None:
    """A reader outside the case's owners states why they need the full dossier."""
    if not reason.strip():
        raise ValidationError(gettext_noop("state a reason"), fields={"reason": "required"})
    audit_record(actor=actor, action="dossier.reason", subject=case, reason=reason.strip())
