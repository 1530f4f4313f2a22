"""Reading numbers out of query strings and forms: never a 500.

``str.isdigit`` is true for ``²`` and ``٣``, which ``int`` refuses, and a 20-digit id overflows
every database's integer column; both answered 500. An id or a count from a request is ASCII
digits, at most nine of them (well inside a 32-bit integer), or it is not given at all.
"""

from __future__ import annotations

MAX_DIGITS = 9


def param_int(raw: str | None, default: int | None = None) -> int | None:
    """``raw`` as a non-negative int when it is 1 to 9 ASCII digits, else ``default``."""
    if raw is None or not (0 < len(raw) <= MAX_DIGITS) or not raw.isascii() or not raw.isdigit():
        return default
    return int(raw)
