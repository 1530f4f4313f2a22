"""The fallback SMS ("ghost call") codec (docs/protocol.md, "Fallback SMS").

``MSA1 <device_id> <alarm_ref> <unix_ts> <lat> <lon> <accuracy_m> <trigger><reason> <mac>``:
the phone builds it with :func:`format_fallback_sms`; the centre reads it back with
:func:`parse_fallback_sms` and checks it with :func:`verify_sms_mac`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from msa_protocol.enums import (
    LETTER_TO_TRIGGER,
    SmsReason,
    Trigger,
    sms_trigger_letter,
    trigger_from_sms_letter,
)
from msa_protocol.limits import DEVICE_ID_RE, KEY_BYTES, SMS_MAC_CHARS, SMS_MAX_CHARS, SMS_PREFIX

# The GSM 03.38 basic character set (no escape table: one character = one septet).
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic set (no extension table)."""
    return all(ch in _GSM7_BASIC for ch in text)


class SmsParseError(ValueError):
    """A text that is not a well-formed MSA1 fallback SMS.

    ``reason_code`` is one of ``not_msa``, ``bad_version``, ``too_long``, ``bad_charset``,
    ``field_count``, ``bad_device_id``, ``bad_alarm_ref``, ``bad_timestamp``, ``bad_position``,
    ``bad_trigger``, ``bad_reason``; the centre logs it with the rejected message.
    """

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason_code}: {self.message}"


@dataclass(frozen=True, slots=True)
class FallbackSms:
    """A parsed fallback SMS. Parsing never checks the MAC; see :func:`verify_sms_mac`.

    ``lat``, ``lon`` and ``accuracy_m`` are all ``None`` when the SMS carries no fix (``- - -``,
    or the meaningless position 0, 0). ``mac`` is ``""`` when the SMS has no MAC field, and is
    kept as received otherwise (even malformed), so that the centre can still raise an
    *unverified SMS* alarm for the enrolled phone number of an active case.
    """

    device_id: str
    alarm_ref: str
    pressed_at_unix: int
    lat: float | None
    lon: float | None
    accuracy_m: int | None
    trigger: str
    reason: str
    mac: str

    @property
    def trigger_name(self) -> Trigger:
        """The JSON trigger (``"button"`` …) for the SMS letter."""
        return trigger_from_sms_letter(self.trigger)

    @property
    def pressed_at(self) -> datetime:
        """The press as an aware UTC datetime."""
        return datetime.fromtimestamp(self.pressed_at_unix, tz=UTC)

    @property
    def has_fix(self) -> bool:
        return self.lat is not None and self.lon is not None


def sms_mac(key: bytes, text_before_mac: str) -> str:
    """First 10 characters of base32(HMAC-SHA256(key, text)) over the UTF-8 text.

    ``text_before_mac`` is everything before the single space that precedes the MAC, e.g.
    ``"MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.05434 3.71742 12 BN"``.
    """
    if len(key) != KEY_BYTES:
        raise ValueError(f"a device key is {KEY_BYTES} bytes")
    digest = hmac.new(key, text_before_mac.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii")[:SMS_MAC_CHARS]


def verify_sms_mac(key: bytes, text: str) -> bool:
    """True when the last field of ``text`` is the MAC of everything before it.

    Constant-time comparison; surrounding whitespace (a CR/LF added by a modem) is ignored.
    Returns ``False`` (never raises) for a text without a MAC field or with a malformed one.
    """
    stripped = text.strip()
    before, sep, received = stripped.rpartition(" ")
    if not sep or len(received) != SMS_MAC_CHARS or not received.isascii():
        return False
    return hmac.compare_digest(sms_mac(key, before).encode("ascii"), received.encode("ascii"))


def _format_degrees(value: float, limit: float, name: str) -> str:
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise ValueError(f"{name} must be a finite number in [-{limit:g}, {limit:g}]")
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def format_fallback_sms(
    *,
    key: bytes,
    device_id: str,
    alarm_id: uuid.UUID | str,
    pressed_at_unix: int,
    lat: float | None,
    lon: float | None,
    accuracy_m: float | None,
    trigger: str,
    reason: str,
) -> str:
    """Build the fallback SMS, MAC included.

    ``MSA1 <device_id> <alarm_ref> <unix_ts> <lat> <lon> <accuracy_m> <trigger><reason> <mac>``

    - ``alarm_id`` is the UUID of the data alarm of the same press (a ``uuid.UUID`` or its text);
      its first 8 lower-case hex digits make the SMS and the data alarm one incident;
    - ``lat``/``lon`` are rounded to 5 decimals (about 1 m), trailing zeros dropped;
      ``accuracy_m`` is rounded *up* to an integer so that the error is never understated;
    - no fix (``lat``/``lon`` ``None``, or exactly 0, 0) gives ``- - -``; a fix needs all three;
    - ``trigger`` is a JSON trigger (``"button"``) or its letter (``"B"``); ``reason`` is
      ``"N"`` (no data) or ``"G"`` (call dropped before it was answered).

    The result is plain ASCII, thus GSM-7, and at most 160 characters.
    """
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"invalid device id {device_id!r}")
    alarm_uuid = alarm_id if isinstance(alarm_id, uuid.UUID) else uuid.UUID(str(alarm_id))
    alarm_ref = alarm_uuid.hex[:8]
    if isinstance(pressed_at_unix, bool) or not isinstance(pressed_at_unix, int):
        raise TypeError("pressed_at_unix must be an int")
    if pressed_at_unix < 0:
        raise ValueError("pressed_at_unix must not be negative")
    letter = trigger if trigger in LETTER_TO_TRIGGER else sms_trigger_letter(trigger)
    if reason not in {r.value for r in SmsReason}:
        raise ValueError(f"unknown SMS reason {reason!r}")

    if (lat is None) != (lon is None):
        raise ValueError("lat and lon go together")
    if lat is None or lon is None or (lat == 0 and lon == 0):
        position = "- - -"
    else:
        if accuracy_m is None:
            raise ValueError("a fix needs its accuracy_m")
        if not math.isfinite(accuracy_m) or accuracy_m < 0:
            raise ValueError("accuracy_m must be a finite number >= 0")
        position = " ".join(
            (
                _format_degrees(lat, 90, "lat"),
                _format_degrees(lon, 180, "lon"),
                str(math.ceil(accuracy_m)),
            )
        )
    before = f"{SMS_PREFIX} {device_id} {alarm_ref} {pressed_at_unix} {position} {letter}{reason}"
    text = f"{before} {sms_mac(key, before)}"
    if len(text) > SMS_MAX_CHARS or not is_gsm7(text):  # cannot happen with the checks above
        raise ValueError("the fallback SMS would not fit in one GSM-7 message")
    return text


_ALARM_REF_RE: Final = re.compile(r"[0-9a-f]{8}")
_UNIX_TS_RE: Final = re.compile(r"[0-9]{1,11}")
_LAT_RE: Final = re.compile(r"-?[0-9]{1,2}(?:\.[0-9]{1,5})?")
_LON_RE: Final = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,5})?")
_ACCURACY_RE: Final = re.compile(r"[0-9]{1,7}")
_MAC_RE: Final = re.compile(r"[A-Z2-7]{10}")


def _parse_position(
    lat_s: str, lon_s: str, acc_s: str
) -> tuple[float | None, float | None, int | None]:
    if (lat_s, lon_s, acc_s) == ("-", "-", "-"):
        return None, None, None
    if "-" in {lat_s, lon_s, acc_s}:
        raise SmsParseError("bad_position", "lat, lon and accuracy are all '-' or all given")
    if not (
        _LAT_RE.fullmatch(lat_s) and _LON_RE.fullmatch(lon_s) and _ACCURACY_RE.fullmatch(acc_s)
    ):
        raise SmsParseError("bad_position", "lat/lon have at most 5 decimals, accuracy is an int")
    lat, lon = float(lat_s), float(lon_s)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise SmsParseError("bad_position", "lat in [-90, 90], lon in [-180, 180]")
    if lat == 0 and lon == 0:
        return None, None, None
    return lat, lon, int(acc_s)


def parse_fallback_sms(text: str) -> FallbackSms:
    """Parse a fallback SMS into its fields, strictly, without checking its MAC.

    Surrounding whitespace is ignored (modems and gateways add CR/LF); inside, fields are
    separated by exactly one space. A message with the 8 fields before the MAC but no MAC
    parses with ``mac == ""``; :func:`verify_sms_mac` then answers ``False``.

    Raises :class:`SmsParseError` with a precise ``reason_code``.
    """
    stripped = text.strip()
    if stripped.split(" ", 1)[0] != SMS_PREFIX:
        first = stripped.split(" ", 1)[0]
        if re.fullmatch(r"MSA[0-9]+", first):
            raise SmsParseError("bad_version", f"unsupported SMS protocol version {first!r}")
        raise SmsParseError("not_msa", "the message does not start with 'MSA1 '")
    if len(stripped) > SMS_MAX_CHARS:
        raise SmsParseError("too_long", f"{len(stripped)} characters, at most {SMS_MAX_CHARS}")
    if not stripped.isascii() or not stripped.isprintable():
        raise SmsParseError("bad_charset", "only printable ASCII appears in an MSA1 SMS")
    fields = stripped.split(" ")
    if len(fields) not in {8, 9}:
        raise SmsParseError(
            "field_count", f"{len(fields)} space-separated fields, expected 9 (8 without MAC)"
        )
    if len(fields) == 8 and _MAC_RE.fullmatch(fields[7]):
        raise SmsParseError("field_count", "8 fields ending in a MAC: a field is missing")
    _, device_id, alarm_ref, unix_ts, lat_s, lon_s, acc_s, codes = fields[:8]
    mac = fields[8] if len(fields) == 9 else ""

    if not DEVICE_ID_RE.fullmatch(device_id):
        raise SmsParseError("bad_device_id", f"invalid device id {device_id!r}")
    if not _ALARM_REF_RE.fullmatch(alarm_ref):
        raise SmsParseError("bad_alarm_ref", "alarm_ref is 8 lower-case hex digits")
    if not _UNIX_TS_RE.fullmatch(unix_ts):
        raise SmsParseError("bad_timestamp", "the press time is unix seconds in digits")

    lat, lon, accuracy = _parse_position(lat_s, lon_s, acc_s)

    if len(codes) != 2 or codes[0] not in LETTER_TO_TRIGGER:
        raise SmsParseError("bad_trigger", "the trigger letter is one of B, A, D, T")
    if codes[1] not in {r.value for r in SmsReason}:
        raise SmsParseError("bad_reason", "the reason letter is N or G")
    return FallbackSms(
        device_id=device_id,
        alarm_ref=alarm_ref,
        pressed_at_unix=int(unix_ts),
        lat=lat,
        lon=lon,
        accuracy_m=accuracy,
        trigger=codes[0],
        reason=codes[1],
        mac=mac,
    )
