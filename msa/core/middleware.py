"""Request middleware: the security layer (idle sign-out, the second factor on every staff
path, no caching of staff pages, the Content-Security-Policy). The centre's time zone is
``msa.accounts.middleware``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.translation import gettext

from msa.core import clock
from msa.core.permissions import otp_verified

# --- Security middleware (issue 6; docs/security.md) ------------------------------------

IDLE_SESSION_KEY = "msa_last_seen"
IDLE_WRITE_EVERY_S = 15  # the session row is written at most this often


class IdleTimeoutMiddleware:
    """Signs a member of staff out after ``MSA_SESSION_IDLE_S`` seconds without a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = clock.now().timestamp()
            last = request.session.get(IDLE_SESSION_KEY)
            if isinstance(last, (int, float)) and now - last > settings.MSA_SESSION_IDLE_S:
                logout(request)
                messages.info(request, gettext("You were signed out after a period of inactivity."))
            elif not isinstance(last, (int, float)) or now - last >= IDLE_WRITE_EVERY_S:
                request.session[IDLE_SESSION_KEY] = now
        return self.get_response(request)


def _otp_exempt_paths() -> tuple[str, ...]:
    return (
        reverse("login"),
        reverse("logout"),
        reverse("otp-verify"),
        reverse("otp-enrol"),
        settings.STATIC_URL,
    )


class OtpRequiredMiddleware:
    """A signed-in user whose session has not passed the second factor reaches only the
    sign-in steps; every other path sends them to verify (or enrol) a TOTP code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not otp_verified(user)
            and not request.path.startswith(_otp_exempt_paths())
        ):
            return redirect_to_login(request.get_full_path(), resolve_url("otp-verify"))
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every page served through the session chain
    (staff pages, the sign-in steps, the admin): a dossier or the console must not stay in a
    shared proxy's cache or the browser's disk cache after sign-out. Static files are served
    before this (WhiteNoise), the machine APIs by the lean handler (msa/asgi.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(settings.STATIC_URL):
            response["Cache-Control"] = "no-store, private"
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp, plus ``connect-src`` for the console WebSocket of the requesting host."""

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> Any:
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts
        update = dict(parts.update or {})
        update["connect-src"] = [*update.get("connect-src", []), f"ws://{host}", f"wss://{host}"]
        parts.update = update
        return parts
