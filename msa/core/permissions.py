"""Every view declares the permission it needs; a test fails for one that does not.

A view wrapped by ``requires`` lets the request through only when the predicate holds;
otherwise it answers 404, so that "not allowed" cannot be told from "missing". A signed-in
user whose session has not passed the second factor (TOTP) is sent to verify it first
(``OtpRequiredMiddleware`` does the same for every other path; this is the second lock).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import resolve_url

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
            if not otp_verified(user):
                return redirect_to_login(request.get_full_path(), resolve_url("otp-verify"))
            if not user.is_active or not permission.check(user):
                raise Http404
            return view(request, *args, **kwargs)

        wrapped.msa_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def otp_verified(user: Any) -> bool:
    """True when django-otp's middleware found the device that verified this session."""
    check = getattr(user, "is_verified", None)
    return bool(check is not None and check())


def signed_in_step(view: V) -> V:
    """Marks a step of signing in (the TOTP pages): open to a user who gave the password but
    not yet the second factor; the view itself requires a signed-in user."""
    view.msa_permission = Permission(  # type: ignore[attr-defined]
        "signed_in_step", lambda user: bool(user.is_authenticated)
    )
    return view


def public(view: V) -> V:
    """Marks a view that anybody may open (the login page, device endpoints with their own
    signature check)."""
    view.msa_permission = Permission("public", lambda _user: True)  # type: ignore[attr-defined]
    return view
