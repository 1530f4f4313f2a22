"""Every view declares the permission it needs; a test fails for one that does not.

A view wrapped by ``requires`` lets the request through only when the predicate holds;
otherwise it answers 404, so that "not allowed" cannot be told from "missing".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseBase

V = TypeVar("V", bound=Callable[..., HttpResponseBase])


@dataclass(frozen=True, slots=True)
class Permission:
    name: str
    check: Callable[[Any], bool]


def requires(permission: Permission) -> Callable[[V], V]:
    def decorate(view: V) -> V:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_active or not permission.check(user):
                raise Http404
            return view(request, *args, **kwargs)

        wrapped.msa_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def public(view: V) -> V:
    """Marks a view that anybody may open (the login page, device endpoints with their own
    signature check)."""
    view.msa_permission = Permission("public", lambda _user: True)  # type: ignore[attr-defined]
    return view
