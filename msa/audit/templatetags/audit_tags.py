from __future__ import annotations

from typing import Any

from django import template

from msa.accounts.permissions import AUDIT_VIEW

register = template.Library()


@register.filter
def may_view_audit(user: Any) -> bool:
    """For the navigation link to the audit viewer."""
    return bool(user.is_authenticated and AUDIT_VIEW.check(user))
