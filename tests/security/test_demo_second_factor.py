"""The demo prints each login's TOTP secret and current code; nothing of it outside the demo."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa import demo
from msa.demo_data import LOGINS, demo_totp_key, demo_totp_secret

pytestmark = pytest.mark.django_db


def test_without_msa_demo_no_secret_is_created_or_printed(settings: object) -> None:
    with override_settings(MSA_DEMO=False):
        demo.seed()
        text = demo.summary()
    assert not TOTPDevice.objects.exists()
    assert "TOTP" not in text
    for username, _, _ in LOGINS:
        assert demo_totp_secret(username) not in text


def test_the_demo_seeds_an_authenticator_per_login_and_prints_the_code() -> None:
    with override_settings(MSA_DEMO=True):
        demo.seed()
        text = demo.summary()
    for username, _, _ in LOGINS:
        device = TOTPDevice.objects.get(user__username=username)
        assert device.confirmed
        assert device.bin_key == demo_totp_key(username)
        line = re.search(rf"TOTP secret {demo_totp_secret(username)}  code now (\d{{6}})", text)
        assert line is not None, username
        assert int(line.group(1)) in {totp(device.bin_key, drift=d) for d in (-1, 0)}
