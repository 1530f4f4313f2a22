"""Permissions that depend on memberships and roles, which accounts owns."""

from __future__ import annotations

from typing import Any

from msa.accounts.models import Membership, Role
from msa.core.permissions import Permission


def _is_staff_member(user: Any) -> bool:
    return bool(Membership.objects.filter(user_id=user.pk).exists())


# Any member of staff with at least one role somewhere.
STAFF = Permission("staff", _is_staff_member)

AUDIT_VIEWER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _may_view_audit(user: Any) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return Membership.objects.filter(user=user, role__in=AUDIT_VIEWER_ROLES).exists()


# Who may read the audit log (supervisors and administrators).
AUDIT_VIEW = Permission("audit.view", _may_view_audit)

SIGNED_IN = Permission("signed_in", lambda user: bool(user.is_authenticated and user.is_active))
