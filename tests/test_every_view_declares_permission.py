"""Access fails closed: every URL's view declares its permission, or this test fails."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from msa.core.permissions import Permission

# Views that are not ours and carry their own checks (the admin requires staff; the OTP
# middleware requires the second factor in front of all of them).
FOREIGN = (
    "django.contrib.admin",
    "django.contrib.auth.admin",
    "django.contrib.auth.views",
    "django.contrib.contenttypes.views",
    "django.views.generic",
    "django_otp.plugins",
)
# The admin site (ours and the third-party admins): it requires staff, and every page of it is
# walked for every role by tests/security/test_admin_audit.py (permission_matrix.admin_pages).
ADMIN_ROUTE = re.compile(r"admin/")
# Unsigned by design: a django-ninja API's description (openapi.json) and its index page.
PUBLIC_ROUTE = re.compile(r"api/[a-z]+/v\d+/(openapi\.json)?")
# Our own views marked @public or @signed_in_step: an explicit list, so that a new one is a
# deliberate decision reviewed here.
OPEN_VIEWS = {
    "msa.accounts.views.otp_verify",
    "msa.accounts.views.otp_enrol",
    "msa.accounts.views.language_set",  # the language switcher, also on the sign-in page
}


def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def declared(callback: Any) -> bool:
    permission = getattr(callback, "msa_permission", None)
    if permission is not None:
        return isinstance(permission, Permission) and callable(permission.check)
    # django-ninja: the view closes over its PathView (through our machine-API wrappers, such
    # as the database deadline); every operation needs an auth callback.
    operations = _ninja_operations(callback)
    if operations is not None:
        return all(op.auth_callbacks for op in operations)
    return False


def _ninja_operations(callback: Any, depth: int = 0) -> list[Any] | None:
    function = getattr(callback, "__func__", callback)
    for cell in getattr(function, "__closure__", None) or ():
        value = cell.cell_contents
        operations = getattr(value, "operations", None)
        if operations is not None:
            return list(operations)
        if depth < 3 and callable(value):
            found = _ninja_operations(value, depth + 1)
            if found is not None:
                return found
    return None


def _ours(route: str, callback: Any) -> bool:
    if ADMIN_ROUTE.match(route):
        return False
    return not PUBLIC_ROUTE.fullmatch(route) and not getattr(callback, "__module__", "").startswith(
        FOREIGN
    )


def test_every_view_declares_its_permission() -> None:
    missing = [
        route
        for route, callback in walk(get_resolver().url_patterns)
        if _ours(route, callback) and not declared(callback)
    ]
    assert missing == []


def test_views_open_to_everybody_are_listed_here() -> None:
    open_views = {
        f"{callback.__module__}.{callback.__name__}"
        for route, callback in walk(get_resolver().url_patterns)
        if _ours(route, callback)
        and getattr(callback, "msa_permission", None) is not None
        and callback.msa_permission.name in {"public", "signed_in_step"}
    }
    assert open_views == OPEN_VIEWS


def test_an_undeclared_view_is_caught() -> None:
    def naked(request: Any) -> None:
        return None

    assert not declared(naked)
    naked.msa_permission = "console.view"  # type: ignore[attr-defined]
    assert not declared(naked), "a permission must be a Permission with a check"
