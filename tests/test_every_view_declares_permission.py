"""Access fails closed: every URL's view declares its permission, or this test fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

# Views that are not ours and carry their own checks.
FOREIGN = (
    "django.contrib.admin",
    "django.contrib.auth.admin",
    "django.contrib.auth.views",
    "django.contrib.contenttypes.views",
    "django.views.generic",
)
# Unsigned by protocol.md: the API description and django-ninja's index of it.
PUBLIC_ROUTES = {"api/device/v1/openapi.json", "api/device/v1/"}


def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def declared(callback: Any) -> bool:
    if hasattr(callback, "msa_permission"):
        return True
    # django-ninja: the view closes over its PathView; every operation needs an auth callback.
    for cell in getattr(callback, "__closure__", None) or ():
        operations = getattr(cell.cell_contents, "operations", None)
        if operations is not None:
            return all(op.auth_callbacks for op in operations)
    return False


def test_every_view_declares_its_permission() -> None:
    missing = [
        route
        for route, callback in walk(get_resolver().url_patterns)
        if route not in PUBLIC_ROUTES
        and not getattr(callback, "__module__", "").startswith(FOREIGN)
        and not declared(callback)
    ]
    assert missing == []
