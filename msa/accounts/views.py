"""The second step of signing in: verify a TOTP code, enrol an authenticator, recovery codes.

These pages are open to a signed-in user whose session has not passed the second factor
(``OTPRequiredMiddleware`` lets them through); nobody else reaches a staff page.
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, get_language_info, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language
from django_otp import login as otp_login
from django_otp.models import Device

from msa.accounts import mfa
from msa.accounts.language import supported
from msa.accounts.lockout import console_lock_record, cool_off
from msa.accounts.models import Organisation, User
from msa.core.actors import Actor
from msa.core.permissions import Permission, public, requires, signed_in_step
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class EnrolForm(TokenForm):
    """The first sign-in: the code, and the language the user works in (their profile's,
    preset to the one this page is shown in)."""

    language = forms.ChoiceField(
        label=_("Your language"),
        choices=[
            (code, str(get_language_info(code)["name_local"]).capitalize())
            for code, _n in settings.LANGUAGES
        ],
        required=False,
    )


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # a path of this site only: redirect() takes anything else ("²") for a view name (a 500)
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@signed_in_step
@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if mfa.user_is_verified(user):
        return redirect(_next(request))
    if not mfa.has_second_factor(user):
        return redirect(f"{_url('otp-enrol')}?{urlencode({'next': _next(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.totp_verify(user=user, token=form.cleaned_data["token"])
        if device is not None:
            _second_factor_passed(request, device)
            return redirect(_next(request))
        form.add_error("token", _("That code is not valid. Enter the current code."))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _next(request)})


@signed_in_step
@login_required
@require_http_methods(["GET", "POST"])
def otp_enrol(request: HttpRequest) -> HttpResponse:
    """First sign-in (or re-enrolment from a verified session): scan, then confirm a code."""
    user = _user(request)
    if mfa.has_second_factor(user) and not mfa.user_is_verified(user):
        return redirect(_url("otp-verify"))
    device = mfa.totp_pending(user)
    form = EnrolForm(request.POST or None, initial={"language": get_language()})
    if request.method == "POST" and form.is_valid():
        if mfa.totp_enrol_confirm(user=user, token=form.cleaned_data["token"]):
            device.refresh_from_db()
            chosen = supported(form.cleaned_data.get("language"))
            if chosen is not None and not user.language:
                user.language = chosen
                user.save(update_fields=["language"])
                translation.activate(chosen)
            _second_factor_passed(request, device)
            codes = mfa.recovery_codes_issue(user=user)
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
        form.add_error("token", _("That code is not valid. Enter the current code."))
    return render(
        request,
        "accounts/otp_enrol.html",
        {"form": form, "qr_svg": mfa.qr_svg(device), "secret": device_secret_b32(device)},
    )


SIGNED_IN = Permission("accounts.self", lambda user: bool(user.is_authenticated))


@public
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """The menu's language switcher: Django's ``set_language`` (the cookie, back to ``next``),
    and for a signed-in user their profile, which then decides on every device."""
    response = set_language(request)
    code = supported(request.POST.get("language"))
    user = request.user
    if code is not None and isinstance(user, User) and user.language != code:
        user.language = code
        user.save(update_fields=["language"])
    return response


@require_POST
@requires(SIGNED_IN)
def recovery_codes(request: HttpRequest) -> HttpResponse:
    codes = mfa.recovery_codes_issue(user=_user(request))
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


def device_secret_b32(device: object) -> str:
    """The key as an authenticator app takes it when typed in."""
    key: bytes = device.bin_key  # type: ignore[attr-defined]
    return base64.b32encode(key).decode().rstrip("=")


def _second_factor_passed(request: HttpRequest, device: Device) -> None:
    """Mark the session verified, under a new session key: a key that an attacker planted or
    read before the second factor (session fixation) is worth nothing after it."""
    otp_login(request, device)
    request.session.cycle_key()


def _url(name: str) -> str:
    return reverse(name)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: object
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the lock-out page (429); for a console account, which is only
    delayed (msa/accounts/lockout.py), a notice to the supervisor once per lock."""
    with transaction.atomic():
        lock = console_lock_record(request)
        if lock is not None:
            recipient = settings.MSA_SUPERVISOR_ALERT_TO or f"supervisor@{lock.centre_code}"
            centre = Organisation.objects.filter(code=lock.centre_code).first()
            with in_recipient_language(recipient, centre):
                message_enqueue(
                    channel=(
                        MessageChannel.SMS if recipient.startswith("+") else MessageChannel.EMAIL
                    ),
                    recipient=recipient,
                    subject=gettext("MSA: a console account is being locked"),
                    body=gettext(
                        "%(failures)s failed sign-ins within the hour for console account "
                        "%(user)s; it is delayed %(seconds)s s each round, never locked longer. "
                        "If it was not them, someone is guessing its password."
                    )
                    % {
                        "failures": lock.failures,
                        "user": lock.user.get_username(),
                        "seconds": int(lock.delay.total_seconds()),
                    },
                    actor=Actor.system("sign-in"),
                    about=lock.user,
                )
    seconds = int(cool_off(request).total_seconds())
    return render(request, "registration/locked_out.html", {"cooloff_s": seconds}, status=429)
