"""The language a page is shown in, and the middleware that activates it.

In this order: the user's own (their profile, chosen at the first sign-in and changed from the
menu); else the choice made in this browser with the switcher before signing in (Django's
language cookie); else the browser's ``Accept-Language``; else the language of the user's
organisation; else the deployment's ``LANGUAGE_CODE``. Times are shown in the centre's zone
(``CentreTimeZoneMiddleware``), dates and numbers in the active language's formats (Django's
localisation, always on).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

from msa.accounts.models import Membership

SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)


def supported(code: str | None) -> str | None:
    """``code`` (``nl``, ``nl-BE``, ``fr-be``) as one of ours, or None."""
    if not code:
        return None
    code = code.lower()
    if code in SUPPORTED:
        return code
    base = code.split("-")[0]
    return base if base in SUPPORTED else None


def from_accept_language(header: str) -> str | None:
    """The first language of the header (by its q) that we have."""
    for code, _q in parse_accept_lang_header(header):
        if code == "*":
            break
        found = supported(code)
        if found is not None:
            return found
    return None


def organisation_language(user_id: int) -> str | None:
    """The language of the user's organisation (a centre before a zone, as for the zone)."""
    languages = (
        Membership.objects.filter(user_id=user_id)
        .exclude(organisation__language="")
        .order_by("organisation__kind", "organisation_id")
        .values_list("organisation__language", flat=True)
    )
    return supported(languages.first())


def language_for(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    if signed_in:
        own = supported(getattr(user, "language", ""))
        if own is not None:
            return own
    chosen = supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if chosen is not None:
        return chosen
    browser = from_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    if browser is not None:
        return browser
    if signed_in:
        assert user is not None
        organisation = organisation_language(user.pk)
        if organisation is not None:
            return organisation
    return str(settings.LANGUAGE_CODE)


class LanguageMiddleware:
    """In place of Django's LocaleMiddleware, after authentication (the profile decides)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = language_for(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response
