"""Signing staff in inside tests: the second factor included.

``client.force_login(user)`` in this suite also passes the second factor (conftest.py patches
it through ``otp_verify_session``): tests of a view test the view. Tests of the second factor
itself sign in with ``client.login(username=, password=)`` (or ``force_login_unverified``),
which leaves the session unverified, as a real sign-in does before the TOTP step.
"""

from __future__ import annotations

from typing import Any

from django.test.client import ClientMixin
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

_original_force_login: Any = None


def otp_device_for(user: Any) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    return device


def otp_verify_session(client: Any, user: Any) -> None:
    device = otp_device_for(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def otp_verified_user(user: Any) -> Any:
    """A user object as OTPMiddleware leaves it after the second factor (for consumer scopes)."""
    device = otp_device_for(user)
    user.otp_device = device
    user.is_verified = lambda: True
    return user


def force_login_unverified(client: Any, user: Any) -> None:
    _original_force_login(client, user)


def install_force_login_with_otp() -> Any:
    global _original_force_login  # noqa: PLW0603
    if _original_force_login is None:
        _original_force_login = ClientMixin.force_login

    def force_login(self: Any, user: Any, backend: str | None = None) -> None:
        _original_force_login(self, user, backend)
        otp_verify_session(self, user)

    ClientMixin.force_login = force_login  # type: ignore[method-assign]
    return _original_force_login
