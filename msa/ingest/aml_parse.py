"""Advanced Mobile Location (ETSI TS 103 625) read from bytes: SMS v1 and v2, the data SMS
(GSM 7-bit packed, given as hex or base64) and the HTTPS form (interop.md section 1).

Pure functions, no database: :func:`parse_aml_text` and :func:`parse_aml_form` return an
:class:`AmlReport` or raise :class:`AmlParseError` with a short reason code. "No position" is
``position is None``, never (0, 0); a wrong ``ml`` is a warning on the report, never an error.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# --- GSM 7-bit (3GPP TS 23.038) --------------------------------------------------------------

# The default alphabet, septet value -> character (0x1B is the escape to the extension table).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
_ESCAPE = 0x1B


class AmlParseError(Exception):
    """An AML message MSA cannot read; ``reason`` goes to the rejected-message log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def gsm7_septets(data: bytes) -> list[int]:
    """The septets packed in ``data``, least significant bits first (TS 23.038 6.1.2.1.1)."""
    septets: list[int] = []
    carry = 0
    bits = 0
    for octet in data:
        carry |= octet << bits
        bits += 8
        while bits >= 7:
            septets.append(carry & 0x7F)
            carry >>= 7
            bits -= 7
    # Seven octets hold eight septets exactly; a sender with seven characters to send puts a
    # CR in the eighth place (23.038), which would otherwise read as '@' (0) of padding.
    if data and len(data) % 7 == 0 and septets and septets[-1] in (0x00, 0x0D):
        septets.pop()
    return septets


def gsm7_unpack(data: bytes) -> str:
    """Text from GSM 7-bit packed octets (default alphabet and its extension table)."""
    out: list[str] = []
    escaped = False
    for septet in gsm7_septets(data):
        if escaped:
            out.append(GSM7_EXTENSION.get(septet, " "))
            escaped = False
        elif septet == _ESCAPE:
            escaped = True
        else:
            out.append(GSM7_BASIC[septet])
    return "".join(out)


def decode_data_sms(*, data_hex: str | None = None, data_base64: str | None = None) -> str:
    """The text of a data SMS as the gateway hands it over (hex or base64 of the octets)."""
    try:
        if data_hex is not None:
            raw = bytes.fromhex(data_hex.strip())
        else:
            raw = base64.b64decode((data_base64 or "").strip(), validate=True)
    except (ValueError, binascii.Error):
        raise AmlParseError("bad_encoding") from None
    if not raw:
        raise AmlParseError("empty")
    return gsm7_unpack(raw)


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AmlPosition:
    lat: float
    lon: float
    radius_m: float | None  # None: the sender did not say
    fix_at: datetime | None  # None: the sender did not say
    method: str  # gnss, wifi, cell, fused, unknown
    confidence_pct: int | None = None
    altitude_m: float | None = None


@dataclass(slots=True)
class AmlReport:
    shape: str  # sms_v1, sms_v2, https
    position: AmlPosition | None
    number: str = ""  # the phone's own number when the message carries it (HTTPS)
    emergency_number: str = ""
    call_at: datetime | None = None
    imei: str = ""
    warnings: list[str] = field(default_factory=list)


_METHODS = {
    "G": "gnss",
    "W": "wifi",
    "C": "cell",
    "F": "fused",
    "N": "none",
    "U": "unknown",
    "GPS": "gnss",
    "GNSS": "gnss",
    "WIFI": "wifi",
    "CELL": "cell",
    "FUSED": "fused",
    "UNKNOWN": "unknown",
}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
# The header: A"ML=1 / A"ML=2 (some gateways turn the quote into a typographic one).
_HEADER = re.compile(r'^\s*A["\u201c\u201d\u201e\']ML=(\d+)\s*;?')
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _float(value: str | None) -> float | None:
    if value is None or not _NUMBER.fullmatch(value.strip()):
        return None
    number = float(value.strip())
    return number if math.isfinite(number) else None


def _int(value: str | None) -> int | None:
    number = _float(value)
    return int(number) if number is not None and number == int(number) else None


def _coordinates(lat_text: str | None, lon_text: str | None) -> tuple[float, float] | None:
    """(lat, lon), None for no position (absent or (0, 0)); AmlParseError when unreadable."""
    if lat_text is None and lon_text is None:
        return None
    lat, lon = _float(lat_text), _float(lon_text)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise AmlParseError("bad_position")
    if lat == 0 and lon == 0:
        return None
    return lat, lon


def _unix(value: float | None, *, millis: bool = False) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromtimestamp(value / 1000 if millis else value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return at if _EARLIEST <= at <= _LATEST else None


def _pairs(body: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in body.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise AmlParseError("not_key_value")
        pairs.setdefault(key.strip().lower(), value.strip())
    return pairs


def parse_aml_text(text: str) -> AmlReport:
    """An AML SMS (version 1 or 2) from its text."""
    match = _HEADER.match(text)
    if match is None:
        raise AmlParseError("not_aml")
    version = match.group(1)
    pairs = _pairs(text[match.end() :])
    if version == "1":
        return _v1(pairs, text)
    if version == "2":
        return _v2(pairs)
    raise AmlParseError("unknown_version")


def _v1(pairs: dict[str, str], text: str) -> AmlReport:
    warnings: list[str] = []
    ml = pairs.get("ml")
    if ml is None:
        warnings.append("ml_missing")
    elif _int(ml) != len(text.rstrip("\r\n")):
        warnings.append("ml_mismatch")
    method = _METHODS.get(pairs.get("pm", "U").upper(), "unknown")
    radius_text = pairs.get("rd", "")
    confidence = _int(pairs.get("lc"))
    coordinates = _coordinates(pairs.get("lt"), pairs.get("lg"))
    no_position = (
        method == "none" or radius_text.upper() == "N" or (confidence == 0 and "lc" in pairs)
    )
    position = None
    if coordinates is not None and not no_position:
        radius = _float(radius_text)
        if radius is not None and radius < 0:
            radius = None
        position = AmlPosition(
            lat=coordinates[0],
            lon=coordinates[1],
            radius_m=radius,
            fix_at=_top(pairs.get("top"), warnings),
            method=method,
            confidence_pct=confidence
            if confidence is not None and 0 <= confidence <= 100
            else None,
        )
    return AmlReport(
        shape="sms_v1", position=position, imei=pairs.get("ei", "")[:20], warnings=warnings
    )


def _top(value: str | None, warnings: list[str]) -> datetime | None:
    if not value:
        warnings.append("no_time")
        return None
    try:
        at = datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        warnings.append("bad_time")
        return None
    return at if _EARLIEST <= at <= _LATEST else None


def _v2(pairs: dict[str, str]) -> AmlReport:
    warnings: list[str] = []
    call_at = _unix(_float(pairs.get("et")))
    position = None
    relative = _float(pairs.get("lt"))
    lo = pairs.get("lo")
    if lo is not None and relative != -9999:
        parts = lo.split(",")
        if len(parts) < 2:  # lat,lon[,accuracy]
            raise AmlParseError("bad_position")
        coordinates = _coordinates(parts[0], parts[1])
        if coordinates is not None:
            accuracy = _float(parts[2]) if len(parts) > 2 else None
            fix_at = None
            if call_at is not None and relative is not None and abs(relative) < 86_400:
                fix_at = call_at + timedelta(seconds=relative)
            if fix_at is None:
                warnings.append("no_time")
            altitude = _float(pairs.get("lz", "").split(",")[0] or None)
            confidence = _int(pairs.get("lc"))
            position = AmlPosition(
                lat=coordinates[0],
                lon=coordinates[1],
                radius_m=accuracy if accuracy is not None and accuracy > 0 else None,
                fix_at=fix_at,
                method=_METHODS.get(pairs.get("ls", "U").upper(), "unknown"),
                confidence_pct=confidence
                if confidence is not None and 0 <= confidence <= 100
                else None,
                altitude_m=altitude,
            )
    return AmlReport(
        shape="sms_v2",
        position=position,
        emergency_number=pairs.get("en", "")[:16],
        call_at=call_at,
        imei=pairs.get("ei", "")[:20],
        warnings=warnings,
    )


def parse_aml_form(fields: dict[str, str]) -> AmlReport:
    """The HTTPS shape: the form's fields (already URL-decoded), all optional."""
    warnings: list[str] = []
    call_at = _unix(_float(fields.get("time")), millis=True)
    position = None
    coordinates = _coordinates(fields.get("location_latitude"), fields.get("location_longitude"))
    if coordinates is not None:
        accuracy = _float(fields.get("location_accuracy"))
        confidence = _int(fields.get("location_confidence") or fields.get("location_certainty"))
        fix_at = _unix(_float(fields.get("location_time")), millis=True)
        if fix_at is None:
            warnings.append("no_time")
        position = AmlPosition(
            lat=coordinates[0],
            lon=coordinates[1],
            radius_m=accuracy if accuracy is not None and accuracy > 0 else None,
            fix_at=fix_at,
            method=_METHODS.get(fields.get("location_source", "unknown").upper(), "unknown"),
            confidence_pct=confidence
            if confidence is not None and 0 <= confidence <= 100
            else None,
            altitude_m=_float(fields.get("location_altitude")),
        )
    return AmlReport(
        shape="https",
        position=position,
        number=fields.get("device_number", "")[:64],
        emergency_number=fields.get("emergency_number", "")[:16],
        call_at=call_at,
        imei=fields.get("device_imei", "")[:20],
        warnings=warnings,
    )
