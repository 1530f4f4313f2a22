"""Device keys and request signatures (docs/protocol.md, "Authentication").

``X-MSA-Signature = hex(HMAC-SHA256(key, METHOD "\\n" PATH "\\n" TIMESTAMP "\\n"
hex(SHA-256(body))))``, over the exact bytes on the wire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Final

from msa_protocol.limits import (
    DEVICE_ID_RE,
    HEADER_DEVICE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    KEY_BYTES,
)

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


def body_sha256_hex(body: bytes) -> str:
    """Lower-case hex SHA-256 of the exact body bytes (the empty body for a GET)."""
    return hashlib.sha256(body).hexdigest()


def canonical_string(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """What is signed: ``METHOD "\\n" PATH "\\n" TIMESTAMP "\\n" hex(SHA-256(body))``.

    ``ValueError`` when the method, path or timestamp holds a newline (nothing a phone signs).
    """
    if "\n" in method or "\n" in path or "\n" in timestamp:
        raise ValueError("method, path and timestamp cannot contain a newline")
    return f"{method}\n{path}\n{timestamp}\n{body_sha256_hex(body)}".encode()


def signature(key: bytes, method: str, path: str, timestamp: str, body: bytes) -> str:
    """The ``X-MSA-Signature`` of a request.

    - ``method`` is the upper-case HTTP method, as sent (``POST``);
    - ``path`` is the request path without scheme, host or query
      (``/api/device/v1/alarms``);
    - ``timestamp`` is the ``X-MSA-Timestamp`` header exactly as sent (the centre must not
      re-format it);
    - ``body`` is the exact bytes on the wire (``b""`` when there is none).
    """
    if len(key) != KEY_BYTES:
        raise ValueError(f"a device key is {KEY_BYTES} bytes")
    return hmac.new(
        key, canonical_string(method, path, timestamp, body), hashlib.sha256
    ).hexdigest()


def verify_signature(
    key: bytes, method: str, path: str, timestamp: str, body: bytes, *, received: str
) -> bool:
    """Compare a received ``X-MSA-Signature`` with the expected one in constant time.

    Never raises: a timestamp that is not decimal digits, or a newline in the method, path or
    timestamp, verifies as ``False``. Upper-case hex and surrounding blanks are accepted.
    """
    if not timestamp.isdigit() or not timestamp.isascii():
        return False
    try:
        expected = signature(key, method, path, timestamp, body)
    except ValueError:
        return False
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
