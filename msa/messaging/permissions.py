"""Who sees the outbox's dead letters: supervisors and administrators (as for the audit trail)."""

from __future__ import annotations

from typing import Any

from msa.accounts.models import Membership, Role
from msa.core.permissions import Permission

OUTBOX_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def may_see_outbox(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(Membership.objects.filter(user_id=user.pk, role__in=OUTBOX_ROLES).exists())


# The undelivered-messages page and its "send again" button.
OUTBOX = Permission("outbox.dead_letters", may_see_outbox)
