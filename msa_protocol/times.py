"""Times on the wire: RFC 3339 in bodies, unix seconds in ``X-MSA-Timestamp``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

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
