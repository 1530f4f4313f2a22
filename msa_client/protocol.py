"""Pure primitives of the MSA device protocol, version 1 (``/work/shared/protocol.md``).

This module is the executable form of the contract between a phone app and an MSA centre. The
centre imports it too, so it depends on the standard library only and does no I/O.

What an app vendor implements, in the order a request is made:

1. Enrolment: the centre shows a QR code holding :data:`ENROLMENT_QR_PREFIX` text, parsed by
   :func:`parse_enrolment_qr` into the centre's base URL, the ``device_id``, the 32-byte secret
   key and the centre's SMS number.
2. Every request body is serialised once to bytes; those exact bytes are signed with
   :func:`signature` (or :func:`signed_headers`) and sent unchanged.
3. When the data path fails (no answer within :data:`SMS_FALLBACK_AFTER_S`, a 503, or a call that
   ended before it was answered), the app sends one SMS built by :func:`format_fallback_sms`.
   The centre reads it back with :func:`parse_fallback_sms` and :func:`verify_sms_mac`.

Every function here is deterministic: the caller passes the time in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

__all__ = [
    "API_BASE_PATH",
    "CLOCK_SKEW_WINDOW_S",
    "DEFAULT_HEARTBEAT_S",
    "DEFAULT_REPORT_INTERVAL_S",
    "DEVICE_ID_RE",
    "ENROLMENT_QR_PREFIX",
    "HEADER_DEVICE",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "KEY_BYTES",
    "LOCATION_SOURCES",
    "MAX_BODY_BYTES",
    "MAX_FIXES_PER_REQUEST",
    "SMS_FALLBACK_AFTER_S",
    "SMS_INBOUND_PATH",
    "SMS_MAX_CHARS",
    "SMS_PREFIX",
    "CallEvent",
    "EnrolmentQr",
    "FallbackSms",
    "SmsParseError",
    "SmsReason",
    "Trigger",
    "body_sha256_hex",
    "decode_key",
    "encode_key",
    "format_enrolment_qr",
    "format_fallback_sms",
    "format_time",
    "is_gsm7",
    "parse_enrolment_qr",
    "parse_fallback_sms",
    "parse_time",
    "parse_timestamp_header",
    "signature",
    "signed_headers",
    "sms_mac",
    "sms_trigger_letter",
    "trigger_from_sms_letter",
    "verify_signature",
    "verify_sms_mac",
]

# --------------------------------------------------------------------------------------------
# Constants of the contract
# --------------------------------------------------------------------------------------------

API_BASE_PATH: Final = "/api/device/v1"
"""Prefix of every device endpoint, appended to the centre's base URL."""

SMS_INBOUND_PATH: Final = "/api/sms/v1/inbound"
"""Where the centre's SMS gateway delivers inbound messages (bearer token of the gateway)."""

HEADER_DEVICE: Final = "X-MSA-Device"
HEADER_TIMESTAMP: Final = "X-MSA-Timestamp"
HEADER_SIGNATURE: Final = "X-MSA-Signature"

KEY_BYTES: Final = 32
CLOCK_SKEW_WINDOW_S: Final = 300
"""A request whose timestamp is further than this from the centre's clock gets ``clock_skew``."""

MAX_BODY_BYTES: Final = 64 * 1024
MAX_FIXES_PER_REQUEST: Final = 100
DEFAULT_REPORT_INTERVAL_S: Final = 10
DEFAULT_HEARTBEAT_S: Final = 300
SMS_FALLBACK_AFTER_S: Final = 5.0
"""The fallback SMS leaves at the latest this many seconds after the press."""

SMS_PREFIX: Final = "MSA1"
SMS_MAX_CHARS: Final = 160
SMS_MAC_CHARS: Final = 10

LOCATION_SOURCES: Final = frozenset({"gps", "network", "fused", "cell"})

DEVICE_ID_RE: Final = re.compile(r"[A-Za-z0-9-]{3,32}")
"""A device id: 3 to 32 of ``A-Z a-z 0-9 -``. Use with ``fullmatch``."""


class Trigger(StrEnum):
    """What raised the alarm; the JSON value, with its one-letter SMS code."""

    BUTTON = "button"
    APP = "app"
    DURESS = "duress"
    TEST = "test"

    @property
    def sms_letter(self) -> str:
        """The letter used in the fallback SMS (``B``, ``A``, ``D``, ``T``)."""
        return _TRIGGER_TO_LETTER[self]


_TRIGGER_TO_LETTER: Final[dict[Trigger, str]] = {
    Trigger.BUTTON: "B",
    Trigger.APP: "A",
    Trigger.DURESS: "D",
    Trigger.TEST: "T",
}
_LETTER_TO_TRIGGER: Final[dict[str, Trigger]] = {v: k for k, v in _TRIGGER_TO_LETTER.items()}


def sms_trigger_letter(trigger: str) -> str:
    """Map a JSON trigger (``"button"`` …) to its SMS letter; ``ValueError`` if unknown."""
    try:
        return _TRIGGER_TO_LETTER[Trigger(trigger)]
    except ValueError:
        raise ValueError(f"unknown trigger {trigger!r}") from None


def trigger_from_sms_letter(letter: str) -> Trigger:
    """Map an SMS trigger letter (``B``, ``A``, ``D``, ``T``) to the JSON trigger."""
    try:
        return _LETTER_TO_TRIGGER[letter]
    except KeyError:
        raise ValueError(f"unknown SMS trigger letter {letter!r}") from None


class SmsReason(StrEnum):
    """Why the fallback SMS was sent."""

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


# --------------------------------------------------------------------------------------------
# Keys and times
# --------------------------------------------------------------------------------------------

_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]+")


def decode_key(text: str) -> bytes:
    """Decode a device key as shown in the QR code: base64url, without padding, 32 bytes.

    Raises ``ValueError`` for padding, characters outside the base64url alphabet, a
    non-canonical encoding or any length other than 32 bytes (43 characters).
    """
    if not isinstance(text, str) or not _B64URL_RE.fullmatch(text):
        raise ValueError("a device key is base64url without padding")
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("a device key is base64url without padding") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"a device key is {KEY_BYTES} bytes, this one is {len(key)}")
    if encode_key(key) != text:
        raise ValueError("the device key is not in canonical base64url form")
    return key


def encode_key(key: bytes) -> str:
    """Encode a 32-byte device key as base64url without padding (43 characters)."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a device key is {KEY_BYTES} bytes, this one is {len(key)}")
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


_RFC3339_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)


def format_time(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a ``Z``: ``2026-03-14T08:15:02Z``.

    Microseconds are written only when not zero (``2026-03-14T08:15:02.250000Z``).
    Raises ``ValueError`` for a naive datetime: the protocol has no local times.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetimes are not allowed; pass an aware datetime")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time with ``Z`` or an offset into an aware UTC datetime.

    Naive times, dates without a time and ISO 8601 forms outside RFC 3339 raise ``ValueError``.
    More than 6 fractional digits are truncated to microseconds.
    """
    if not isinstance(text, str) or not _RFC3339_RE.fullmatch(text):
        raise ValueError(f"not an RFC 3339 time with a zone: {text!r}")
    normalized = text.upper().replace(" ", "T").replace("Z", "+00:00")
    if "." in normalized:
        head, rest = normalized.split(".", 1)
        digits = rest[: len(rest) - 6]
        normalized = f"{head}.{(digits + '000000')[:6]}{rest[-6:]}"
    moment = datetime.fromisoformat(normalized)
    return moment.astimezone(UTC)


def parse_timestamp_header(text: str) -> int:
    """Parse an ``X-MSA-Timestamp`` header: unix seconds, decimal digits only, no sign."""
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,12}", text):
        raise ValueError("X-MSA-Timestamp is unix seconds in decimal digits")
    return int(text)


# --------------------------------------------------------------------------------------------
# Request signatures
# --------------------------------------------------------------------------------------------


def body_sha256_hex(body: bytes) -> str:
    """Lower-case hex SHA-256 of the exact body bytes (the empty body for a GET)."""
    return hashlib.sha256(body).hexdigest()


def _signing_string(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    if "\n" in method or "\n" in path or "\n" in timestamp:
        raise ValueError("method, path and timestamp cannot contain a newline")
    return f"{method}\n{path}\n{timestamp}\n{body_sha256_hex(body)}".encode()


def signature(key: bytes, method: str, path: str, timestamp: str, body: bytes) -> str:
    """The ``X-MSA-Signature`` of a request.

    ``hex(HMAC-SHA256(key, METHOD "\\n" PATH "\\n" TIMESTAMP "\\n" hex(SHA-256(body))))``

    - ``method`` is the upper-case HTTP method, as sent (``POST``);
    - ``path`` is the request path without scheme, host or query
      (``/api/device/v1/alarms``);
    - ``timestamp`` is the ``X-MSA-Timestamp`` header exactly as sent (the centre must not
      re-format it);
    - ``body`` is the exact bytes on the wire (``b""`` when there is none).
    """
    if len(key) != KEY_BYTES:
        raise ValueError(f"a device key is {KEY_BYTES} bytes")
    return hmac.new(key, _signing_string(method, path, timestamp, body), hashlib.sha256).hexdigest()


def verify_signature(
    key: bytes, method: str, path: str, timestamp: str, body: bytes, *, received: str
) -> bool:
    """Compare a received ``X-MSA-Signature`` with the expected one in constant time."""
    expected = signature(key, method, path, timestamp, body)
    return hmac.compare_digest(expected.encode("ascii"), received.strip().lower().encode())


def signed_headers(  # noqa: PLR0917 - the order of the protocol page
    device_id: str, key: bytes, method: str, path: str, body: bytes, now: int
) -> dict[str, str]:
    """The three authentication headers for one request sent at unix time ``now``."""
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"invalid device id {device_id!r}")
    timestamp = str(int(now))
    return {
        HEADER_DEVICE: device_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: signature(key, method, path, timestamp, body),
    }


# --------------------------------------------------------------------------------------------
# Fallback SMS
# --------------------------------------------------------------------------------------------

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
    letter = trigger if trigger in _LETTER_TO_TRIGGER else sms_trigger_letter(trigger)
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

    if len(codes) != 2 or codes[0] not in _LETTER_TO_TRIGGER:
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


# --------------------------------------------------------------------------------------------
# Enrolment QR code
# --------------------------------------------------------------------------------------------

ENROLMENT_QR_PREFIX: Final = "msa1:"
"""QR text: ``msa1:<base_url>|<device_id>|<key>|<sms_number>``.

``base_url`` is the centre's origin plus any path prefix, without a trailing slash, query or
fragment (``https://msa.gent.example``); the app appends :data:`API_BASE_PATH`. ``key`` is the
base64url key without padding; ``sms_number`` is the centre's SMS number in E.164 (``+32…``).
"""

_E164_RE: Final = re.compile(r"\+[1-9][0-9]{5,14}")


@dataclass(frozen=True, slots=True)
class EnrolmentQr:
    """The content of an enrolment QR code."""

    base_url: str
    device_id: str
    key: bytes
    sms_number: str

    def __post_init__(self) -> None:
        _check_base_url(self.base_url)
        if not DEVICE_ID_RE.fullmatch(self.device_id):
            raise ValueError(f"invalid device id {self.device_id!r}")
        if len(self.key) != KEY_BYTES:
            raise ValueError(f"a device key is {KEY_BYTES} bytes")
        if not _E164_RE.fullmatch(self.sms_number):
            raise ValueError("the SMS number is E.164: '+' and 6 to 15 digits")

    def __repr__(self) -> str:  # never print the secret
        return (
            f"EnrolmentQr(base_url={self.base_url!r}, device_id={self.device_id!r}, "
            f"key=<{KEY_BYTES} bytes>, sms_number={self.sms_number!r})"
        )


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("the base URL is an http(s) URL with a host")
    if parts.query or parts.fragment or "|" in base_url or base_url.endswith("/"):
        raise ValueError("the base URL has no query, fragment, '|' or trailing slash")
    if any(ch.isspace() for ch in base_url):
        raise ValueError("the base URL contains whitespace")


def format_enrolment_qr(*, base_url: str, device_id: str, key: bytes, sms_number: str) -> str:
    """The text the centre encodes in the enrolment QR code (validates every part)."""
    qr = EnrolmentQr(base_url=base_url, device_id=device_id, key=key, sms_number=sms_number)
    return f"{ENROLMENT_QR_PREFIX}{qr.base_url}|{qr.device_id}|{encode_key(qr.key)}|{qr.sms_number}"


def parse_enrolment_qr(text: str) -> EnrolmentQr:
    """Parse enrolment QR text; ``ValueError`` with a message fit for the person enrolling."""
    stripped = text.strip()
    if not stripped.startswith(ENROLMENT_QR_PREFIX):
        raise ValueError(f"not an MSA enrolment code (it must start with {ENROLMENT_QR_PREFIX!r})")
    parts = stripped[len(ENROLMENT_QR_PREFIX) :].split("|")
    if len(parts) != 4:
        raise ValueError("an enrolment code has 4 parts: base_url|device_id|key|sms_number")
    base_url, device_id, key_text, sms_number = parts
    return EnrolmentQr(
        base_url=base_url, device_id=device_id, key=decode_key(key_text), sms_number=sms_number
    )
