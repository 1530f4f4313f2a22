"""Outbound providers behind one interface, chosen in settings; each has a fake.

A provider is built from the settings (``from_settings``, which raises
``ConfigurationError`` for a missing or unsafe setting), gets one message and returns the
provider's reference, or raises ``ProviderError``. It sends the message's ``key`` as the
provider's idempotency key, so that a message sent twice (the outbox delivers at least
once) is recognised by the receiver. It never logs the recipient or the body, and its
errors never quote them.

Each channel's provider is a setting (``MSA_SMS_PROVIDER``, ``MSA_EMAIL_PROVIDER``,
``MSA_NATIONAL_DB_PROVIDER``): a built-in name of ``BUILT_IN`` or the dotted path of a
class, so a second SMS gateway is one new module. Unset, the fake serves the demo only;
anywhere else the process refuses to start (``providers_check``, at start-up).
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

from msa.core.errors import ConfigurationError


class ProviderError(Exception):
    """The provider did not take the message; the outbox retries it later."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str

    @property
    def key(self) -> str:
        """The idempotency key: the same for every attempt at this message."""
        return f"msa-{self.id}"


class Provider(Protocol):
    name: str

    @classmethod
    def from_settings(cls) -> Self: ...

    def send(self, message: Outgoing) -> str: ...


class FakeProvider:
    """Keeps what it was given in memory, for the demo and tests."""

    name = "fake"
    _lock = threading.Lock()
    sent: ClassVar[list[Outgoing]] = []  # a deliberate, process-wide record

    @classmethod
    def from_settings(cls) -> Self:
        return cls()

    def send(self, message: Outgoing) -> str:
        with self._lock:
            self.sent.append(message)
            return f"fake-{len(self.sent)}"


# The short names a provider setting may use; anything with a dot is a class's path.
BUILT_IN = {
    "fake": "msa.messaging.providers.FakeProvider",
    "http": "msa.messaging.sms.HttpSmsGateway",
    "smtp": "msa.messaging.mail.SmtpProvider",
    "https": "msa.messaging.national_db.SignedNoticeProvider",
}

# channel → the setting that names its provider. Staff notifications are e-mail, or SMS
# when their recipient is a phone number (``provider_setting``).
CHANNEL_SETTING = {
    "sms": "MSA_SMS_PROVIDER",
    "email": "MSA_EMAIL_PROVIDER",
    "notification": "MSA_EMAIL_PROVIDER",
    "national_db": "MSA_NATIONAL_DB_PROVIDER",
}


# each provider setting's built-in real provider, named in the start-up error
REAL_PROVIDER = {
    "MSA_SMS_PROVIDER": "http",
    "MSA_EMAIL_PROVIDER": "smtp",
    "MSA_NATIONAL_DB_PROVIDER": "https",
}


def provider_setting(channel: str, recipient: str = "") -> str:
    if channel == "notification" and recipient.startswith("+"):
        return "MSA_SMS_PROVIDER"
    return CHANNEL_SETTING[channel]


def provider_class(setting_name: str) -> type[Provider]:
    """The class a provider setting names; the fake when unset, in the demo only."""
    value = str(getattr(settings, setting_name, "")).strip()
    if not value:
        if not settings.MSA_DEMO:
            raise ConfigurationError(
                f"{setting_name} must be set: {REAL_PROVIDER[setting_name]}, fake, or the dotted "
                "path of a provider class (docs/messaging.md); only the demo (MSA_DEMO=1) "
                "runs with the fake by default",
            )
        value = "fake"
    path = BUILT_IN.get(value, value)
    if "." not in path:
        raise ConfigurationError(
            f"{setting_name}={value!r} is not a provider: one of {', '.join(BUILT_IN)} "
            "or a dotted path",
        )
    try:
        cls: type[Provider] = import_string(path)
    except ImportError as exc:
        raise ConfigurationError(f"{setting_name}: cannot import {path!r} ({exc})") from None
    return cls


def providers_check() -> None:
    """At start-up: every channel's provider is named and its settings are complete."""
    for setting_name in sorted(set(CHANNEL_SETTING.values())):
        provider_class(setting_name).from_settings()


def require_setting(name: str, why: str) -> str:
    value = str(getattr(settings, name, "")).strip()
    if not value:
        raise ConfigurationError(f"{name} must be set {why}")
    return value


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_safe_url(name: str, url: str) -> str:
    """HTTPS, or plain HTTP to a loopback address (a local relay, or the tests)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    raise ConfigurationError(f"{name} must be an https:// URL (http:// only to a loopback address)")
