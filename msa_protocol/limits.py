"""The limits and fixed names of the device protocol, version 1 (docs/protocol.md)."""

from __future__ import annotations

import re
from typing import Final

API_BASE_PATH: Final = "/api/device/v1"
"""Prefix of every device endpoint, appended to the centre's base URL."""

SMS_INBOUND_PATH: Final = "/api/sms/v1/inbound"
"""Where the centre's SMS gateway delivers inbound messages (bearer token of the gateway)."""

HEADER_DEVICE: Final = "X-MSA-Device"
HEADER_TIMESTAMP: Final = "X-MSA-Timestamp"
HEADER_SIGNATURE: Final = "X-MSA-Signature"

KEY_BYTES: Final = 32
"""A device key is 32 bytes (43 characters of base64url without padding)."""

CLOCK_SKEW_WINDOW_S: Final = 300
"""A request whose timestamp is further than this from the centre's clock gets ``clock_skew``
(the centre's default; ``MSA_DEVICE_CLOCK_SKEW_S`` sets it)."""

FUTURE_FIX_TOLERANCE_S: Final = 300
"""A fix's ``fix_at`` may be at most this far in the centre's future."""

MAX_BODY_BYTES: Final = 64 * 1024
"""A request body over this is answered 413 ``too_large``."""

MAX_FIXES_PER_REQUEST: Final = 100
"""More fixes than this in one request is answered 413 ``too_large``."""

DEFAULT_REPORT_INTERVAL_S: Final = 10
DEFAULT_HEARTBEAT_S: Final = 300

SMS_FALLBACK_AFTER_S: Final = 5.0
"""The fallback SMS leaves at the latest this many seconds after the press."""

SMS_PREFIX: Final = "MSA1"
SMS_MAX_CHARS: Final = 160
SMS_MAC_CHARS: Final = 10

DEVICE_ID_RE: Final = re.compile(r"[A-Za-z0-9-]{3,32}")
"""A device id: 3 to 32 of ``A-Z a-z 0-9 -``. Use with ``fullmatch``."""
