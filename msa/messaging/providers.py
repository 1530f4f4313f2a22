"""Outbound providers behind one interface, chosen in settings; each has a fake.

A provider gets the message and returns the provider's reference, or raises
``ProviderError``. It never logs the recipient or the body.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("msa.messaging")


class ProviderError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    channel: str
    recipient: str
    subject: str
    body: str


class Provider(Protocol):
    name: str

    def send(self, message: Outgoing) -> str: ...


class FakeProvider:
    """Keeps what it was given in memory, for development and tests."""

    name = "fake"
    _lock = threading.Lock()
    sent: list[Outgoing] = []  # a deliberate, process-wide record

    def send(self, message: Outgoing) -> str:
        with self._lock:
            self.sent.append(message)
            ref = f"fake-{len(self.sent)}"
        log.info("message_sent provider=fake channel=%s id=%s", message.channel, message.id)
        return ref


def provider_for(channel: str) -> Provider:
    path = settings.MSA_MESSAGE_PROVIDERS.get(channel, settings.MSA_MESSAGE_PROVIDERS["default"])
    provider: Provider = import_string(path)()
    return provider
