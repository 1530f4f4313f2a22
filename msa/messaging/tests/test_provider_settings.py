"""Providers chosen in settings: outside the demo an unset or incomplete provider stops the
process at start-up with a clear error; the demo falls back to the fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from msa.core.errors import ConfigurationError
from msa.messaging.mail import SmtpProvider
from msa.messaging.national_db import SignedNoticeProvider
from msa.messaging.providers import (
    FakeProvider,
    Provider,
    provider_class,
    provider_setting,
    providers_check,
)
from msa.messaging.sms import HttpSmsGateway

PROVIDER_SETTINGS = ("MSA_SMS_PROVIDER", "MSA_EMAIL_PROVIDER", "MSA_NATIONAL_DB_PROVIDER")


def provider_for(channel: str, recipient: str = "") -> Provider:
    return provider_class(provider_setting(channel, recipient)).from_settings()


def start(**env: str) -> subprocess.CompletedProcess[str]:
    """A real start-up of the production settings, as ``msa serve`` does it."""
    clean = {k: v for k, v in os.environ.items() if k not in PROVIDER_SETTINGS}
    clean.pop("MSA_DEMO", None)
    clean["DJANGO_SETTINGS_MODULE"] = "msa.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "from msa.cli import setup_django; setup_django(); print('up')"],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_production_without_a_provider_refuses_to_start() -> None:
    refused = start()
    assert refused.returncode != 0
    assert "ConfigurationError: MSA_EMAIL_PROVIDER must be set: smtp, fake" in refused.stderr
    assert "up" not in refused.stdout
    incomplete = start(
        MSA_SMS_PROVIDER="http", MSA_EMAIL_PROVIDER="fake", MSA_NATIONAL_DB_PROVIDER="fake"
    )
    assert "MSA_SMS_GATEWAY_URL must be set when MSA_SMS_PROVIDER=http" in incomplete.stderr
    configured = start(
        MSA_SMS_PROVIDER="http",
        MSA_SMS_GATEWAY_URL="https://sms.example/v1/messages",
        MSA_SMS_GATEWAY_TOKEN="t",
        MSA_EMAIL_PROVIDER="smtp",
        MSA_SMTP_HOST="smtp.example",
        MSA_NATIONAL_DB_PROVIDER="https",
        MSA_NATIONAL_DB_URL="https://register.example/notices",
        MSA_NATIONAL_DB_HMAC_KEY="k" * 32,
    )
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip() == "up"


def test_the_demo_uses_the_fakes_when_nothing_is_set(settings: Any) -> None:
    for name in PROVIDER_SETTINGS:
        setattr(settings, name, "")
    settings.MSA_DEMO = True
    providers_check()
    assert isinstance(provider_for("sms"), FakeProvider)
    settings.MSA_DEMO = False
    with pytest.raises(ConfigurationError, match="MSA_EMAIL_PROVIDER must be set"):
        providers_check()


def test_each_channel_gets_its_provider(settings: Any) -> None:
    settings.MSA_SMS_PROVIDER = "http"
    settings.MSA_SMS_GATEWAY_URL = "https://sms.example/send"
    settings.MSA_SMS_GATEWAY_TOKEN = "t"
    settings.MSA_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "smtp.example"
    settings.MSA_NATIONAL_DB_PROVIDER = "https"
    settings.MSA_NATIONAL_DB_URL = "https://register.example/notices"
    settings.MSA_NATIONAL_DB_HMAC_KEY = "k" * 32
    assert isinstance(provider_for("sms"), HttpSmsGateway)
    assert isinstance(provider_for("email"), SmtpProvider)
    assert isinstance(provider_for("national_db"), SignedNoticeProvider)
    # staff notifications are e-mail, or SMS to a phone number
    assert isinstance(provider_for("notification", "supervisors@GNT"), SmtpProvider)
    assert isinstance(provider_for("notification", "+32470123456"), HttpSmsGateway)
    # a second provider is a class named by its dotted path
    settings.MSA_SMS_PROVIDER = "msa.messaging.providers.FakeProvider"
    assert isinstance(provider_for("sms"), FakeProvider)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"MSA_SMS_PROVIDER": "carrier-pigeon"}, "is not a provider"),
        ({"MSA_SMS_PROVIDER": "msa.nowhere.Gateway"}, "cannot import"),
        ({"MSA_SMS_GATEWAY_URL": "http://sms.example/send"}, "must be an https:// URL"),
        ({"MSA_SMS_GATEWAY_TOKEN": ""}, "MSA_SMS_GATEWAY_TOKEN must be set"),
        ({"MSA_NATIONAL_DB_HMAC_KEY": "short"}, "at least 32 characters"),
        ({"MSA_NATIONAL_DB_URL": "ftp://register.example/"}, "must be an https:// URL"),
        ({"EMAIL_HOST": ""}, "MSA_SMTP_HOST must be set"),
        ({"MSA_SMTP_TLS": "maybe"}, "MSA_SMTP_TLS must be one of"),
        ({"MSA_SMTP_TLS": "none"}, "MSA_SMTP_TLS=none only to a relay on this host"),
    ],
)
def test_an_incomplete_or_unsafe_provider_is_refused(
    settings: Any, changes: dict[str, str], error: str
) -> None:
    settings.MSA_SMS_PROVIDER = "http"
    settings.MSA_SMS_GATEWAY_URL = "http://127.0.0.1:9/send"  # plain HTTP: loopback only
    settings.MSA_SMS_GATEWAY_TOKEN = "t"
    settings.MSA_EMAIL_PROVIDER = "smtp"
    settings.EMAIL_HOST = "smtp.example"
    settings.MSA_NATIONAL_DB_PROVIDER = "https"
    settings.MSA_NATIONAL_DB_URL = "https://register.example/notices"
    settings.MSA_NATIONAL_DB_HMAC_KEY = "k" * 32
    providers_check()
    for name, value in changes.items():
        setattr(settings, name, value)
    with pytest.raises(ConfigurationError, match=error):
        providers_check()
