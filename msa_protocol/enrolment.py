"""The enrolment QR code: ``msa1:<base_url>|<device_id>|<key>|<sms_number>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from msa_protocol.limits import DEVICE_ID_RE, KEY_BYTES
from msa_protocol.signing import decode_key, encode_key

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
