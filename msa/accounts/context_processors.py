"""Template context that depends on who is signed in: the menu by role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Membership

# (roles that see the link, URL name, label); the views check again, this is only the menu.
NAV: tuple[tuple[frozenset[str], str, Any], ...] = (
    (frozenset({"operator", "supervisor"}), "console:home", _("Console")),
    (frozenset({"supervisor"}), "console:supervisor", _("Supervisor")),
    (frozenset({"patrol"}), "unit:home", _("Unit")),
    (
        frozenset({"reference_officer", "magistrate", "counsellor", "operator", "supervisor"}),
        "cases:list",
        _("Cases"),
    ),
    (frozenset({"supervisor", "admin"}), "messaging:undelivered", _("Undelivered messages")),
)


def _nav(request: HttpRequest) -> list[tuple[str, Any]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    roles = set(Membership.objects.filter(user_id=user.pk).values_list("role", flat=True))
    return [(url_name, label) for wanted, url_name, label in NAV if roles & wanted]


def nav(request: HttpRequest) -> dict[str, Any]:
    # lazy: pages that do not show the top bar (fragments) cost no query
    return {"msa_nav": SimpleLazyObject(lambda: _nav(request))}
