"""The seams of the phone app: the button, the position source, the SMS transport, the call.

Each is a :class:`typing.Protocol`; the adapters in :mod:`msa_client.adapters` implement them
for a terminal, a BLE button, gpsd, an SMS gateway, a GSM modem and scripted test doubles. A
vendor app implements them on top of its platform APIs and reuses :class:`~msa_client.client.
DeviceClient` and :class:`~msa_client.session.AlarmSession` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from msa_client.models import Location, MsaClientError
from msa_protocol import CallEvent, Trigger

__all__ = [
    "Button",
    "ButtonPress",
    "CallMonitor",
    "Clock",
    "PositionSource",
    "Sleep",
    "SmsError",
    "SmsTransport",
]

Clock = Callable[[], datetime]
"""Returns the device's current time as an aware datetime."""

Sleep = Callable[[float], object]
"""Blocks for the given seconds (``time.sleep``; a fake one in tests; ``Event.wait`` to stop)."""


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """One press that counts as an alarm (after any hold-time rule of the button)."""

    trigger: Trigger
    at: datetime


@runtime_checkable
class Button(Protocol):
    def wait_for_press(self) -> ButtonPress | None:
        """Block until the next press; ``None`` when the button is gone for good (EOF)."""


@runtime_checkable
class PositionSource(Protocol):
    def current(self) -> Location | None:
        """The freshest fix, or ``None`` when there is none. Must not block for long."""


class SmsError(MsaClientError):
    """The SMS could not be handed to the network."""


@runtime_checkable
class SmsTransport(Protocol):
    def send(self, to: str, text: str) -> None:
        """Send one SMS to an E.164 number; raise :class:`SmsError` when it did not leave."""


@runtime_checkable
class CallMonitor(Protocol):
    def poll(self) -> list[tuple[CallEvent, datetime]]:
        """Call-state changes since the last poll, oldest first (never blocks)."""
