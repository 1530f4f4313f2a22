"""The closed lists of values of the device protocol, version 1 (docs/protocol.md).

Each is a ``StrEnum`` whose values are what goes on the wire. The centre may keep a larger
enum of its own (its call state also knows ``none`` and ``ghost``), never a second copy of one
of these.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Trigger(StrEnum):
    """What raised the alarm (``trigger`` of ``POST /alarms``), with its one-letter SMS code."""

    BUTTON = "button"
    APP = "app"
    DURESS = "duress"
    TEST = "test"

    @property
    def sms_letter(self) -> str:
        """The letter used in the fallback SMS (``B``, ``A``, ``D``, ``T``)."""
        return TRIGGER_TO_LETTER[self]


TRIGGER_TO_LETTER: Final[dict[Trigger, str]] = {
    Trigger.BUTTON: "B",
    Trigger.APP: "A",
    Trigger.DURESS: "D",
    Trigger.TEST: "T",
}
LETTER_TO_TRIGGER: Final[dict[str, Trigger]] = {v: k for k, v in TRIGGER_TO_LETTER.items()}


def sms_trigger_letter(trigger: str) -> str:
    """Map a JSON trigger (``"button"`` …) to its SMS letter; ``ValueError`` if unknown."""
    try:
        return TRIGGER_TO_LETTER[Trigger(trigger)]
    except ValueError:
        raise ValueError(f"unknown trigger {trigger!r}") from None


def trigger_from_sms_letter(letter: str) -> Trigger:
    """Map an SMS trigger letter (``B``, ``A``, ``D``, ``T``) to the JSON trigger."""
    try:
        return LETTER_TO_TRIGGER[letter]
    except KeyError:
        raise ValueError(f"unknown SMS trigger letter {letter!r}") from None


class SmsReason(StrEnum):
    """Why the fallback SMS was sent (the second letter of its code field)."""

    NO_DATA = "N"
    """The alarm request got no answer within 5 s, or a 503."""
    GHOST_CALL = "G"
    """The call to the centre ended before it was answered."""


class CallEvent(StrEnum):
    """Call states reported on ``POST /alarms/{alarm_id}/call``."""

    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class AlarmCallState(StrEnum):
    """``call.state`` of ``POST /alarms``: the app is dialling the centre, or not."""

    DIALING = "dialing"
    NONE = "none"


class CancelPin(StrEnum):
    """Which PIN cancelled the alarm on the phone (``POST /alarms/{alarm_id}/cancel``)."""

    NORMAL = "normal"
    DURESS = "duress"


class LocationSource(StrEnum):
    """How a fix was made (``source`` of the Location object)."""

    GPS = "gps"
    NETWORK = "network"
    FUSED = "fused"
    CELL = "cell"


LOCATION_SOURCES: Final = frozenset(s.value for s in LocationSource)


class LocationPermission(StrEnum):
    """``permissions.location`` of ``POST /heartbeat``."""

    ALWAYS = "always"
    WHILE_IN_USE = "while_in_use"
    DENIED = "denied"
