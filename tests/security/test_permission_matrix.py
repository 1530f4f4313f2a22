"""Every URL pattern x every role x an object in scope and one out of scope (the registry in
tests/support/permission_matrix.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from msa.accounts.models import User
from tests.support.permission_matrix import (
    ADMIN_NAMESPACE,
    EXEMPT,
    EXEMPT_SUFFIXES,
    MATRIX,
    NOW,
    ROLES,
    build_world,
)

ALLOWED_STATUSES = {200, 204, 302, 400, 409, 422}
MACHINE_REFUSALS = {401, 403, 404}
UNNAMED_ROUTES = {""}  # the root redirect to the console


def url_names(patterns: list[Any], namespace: str = "", prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from url_names(entry.url_patterns, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if entry.name:
                yield namespace + entry.name
            elif route not in UNNAMED_ROUTES and not route.startswith("admin/"):
                yield f"<unnamed {route}>"


def uncovered(names: list[str]) -> list[str]:
    return [
        n
        for n in names
        if n not in MATRIX
        and n not in EXEMPT
        and not n.endswith(EXEMPT_SUFFIXES)
        and not n.startswith(ADMIN_NAMESPACE)
    ]


def test_every_url_is_in_the_matrix() -> None:
    assert uncovered(list(url_names(get_resolver().url_patterns))) == []


def test_a_url_missing_from_the_matrix_fails() -> None:
    assert uncovered(["console:home", "cases:brand_new_view"]) == ["cases:brand_new_view"]


def test_every_matrix_entry_is_a_url() -> None:
    names = set(url_names(get_resolver().url_patterns))
    assert set(MATRIX) - names == set()


def _request(client: Client, method: str, url: str, data: dict[str, str] | None = None) -> Any:
    if method == "POST":
        return client.post(url, data or {})
    return client.get(url)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_the_permission_matrix(name: str, demo: None, clock: Any) -> None:
    clock.freeze(NOW)
    entry = MATRIX[name]
    world = build_world()
    scopes = ("in", "out") if entry.kwargs else ("in",)
    # Refused roles first, so that an allowed role's POST cannot change what they see.
    roles = sorted(ROLES, key=lambda r: r in entry.allowed)
    got: dict[tuple[str, str], int] = {}
    for scope in scopes:
        url = reverse(name, kwargs=entry.kwargs(world, scope) if entry.kwargs else None)
        anonymous = _request(Client(), entry.method, url)
        if entry.machine:
            assert anonymous.status_code in MACHINE_REFUSALS, (url, anonymous.status_code)
        else:
            assert anonymous.status_code == 302, (url, anonymous.status_code)
            assert anonymous["Location"].startswith("/accounts/login/")
        for role in roles:
            client = Client()
            client.force_login(User.objects.get(username=role))
            got[(scope, role)] = _request(client, entry.method, url, entry.data).status_code
    problems = []
    for (scope, role), status in sorted(got.items()):
        if entry.machine:
            ok = status in MACHINE_REFUSALS
        elif scope == "in" and role in entry.allowed:
            ok = status in ALLOWED_STATUSES
        else:
            ok = status == 404
        if not ok:
            problems.append(f"{name} {scope} {role}: {status}")
    assert problems == [], "\n".join(problems)


@pytest.mark.django_db
def test_the_admin_site_is_for_administrators_only(demo: None) -> None:
    for role in ROLES:
        client = Client()
        client.force_login(User.objects.get(username=role))
        for url in ("/admin/", "/admin/audit/auditentry/", "/admin/accounts/user/"):
            status = client.get(url).status_code
            assert (status == 200) == (role == "admin"), (role, url, status)
