"""The second factor: TOTP (django-otp) for every member of staff, and recovery codes.

A session counts as verified when django-otp's ``OTPMiddleware`` found the device that
verified it (``user.is_verified()``); the WebSocket consumer, which has no such middleware,
asks ``session_is_verified``.
"""

from __future__ import annotations

import secrets
from typing import Any

import segno
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa.accounts.models import User
from msa.audit.services import audit_record
from msa.core.actors import Actor

TOTP_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"
RECOVERY_CODE_COUNT = 10


def user_is_verified(user: Any) -> bool:
    """True for a user whose session passed the second factor (set by OTPMiddleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check is not None and check())


def session_is_verified(user: Any, session: Any) -> bool:
    """For code paths without OTPMiddleware (the console WebSocket)."""
    if user_is_verified(user):
        return True
    if user is None or not getattr(user, "is_authenticated", False) or session is None:
        return False
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id, for_verify=False)
    return device is not None and device.user_id == user.pk and device.confirmed


def has_second_factor(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def totp_pending(user: User) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled (created on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def qr_svg(device: TOTPDevice) -> str:
    """The enrolment QR code as inline SVG (no image request, no inline script)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, omitsize=False))


def totp_verify(*, user: User, token: str) -> Device | None:
    """The confirmed authenticator or recovery code that matches ``token``, else None."""
    token = token.strip().replace(" ", "")
    if not token:
        return None
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(token):
            return device
    for static in StaticDevice.objects.filter(user=user, confirmed=True):
        if static.verify_token(token):
            return static
    return None


@transaction.atomic
def totp_enrol_confirm(*, user: User, token: str) -> bool:
    device = totp_pending(user)
    if not device.verify_token(token.strip()):
        return False
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(actor=Actor.for_user(user), action="mfa.enrol", subject=user)
    return True


@transaction.atomic
def recovery_codes_issue(*, user: User) -> list[str]:
    """New single-use recovery codes; the previous ones stop working. Shown once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    audit_record(actor=Actor.for_user(user), action="mfa.recovery_codes", subject=user)
    return codes
