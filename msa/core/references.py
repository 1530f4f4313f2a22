"""Human references: GNT-2026-00042 — a prefix, the year, a number that only grows."""

from __future__ import annotations

from django.db import transaction

from msa.core.models import ReferenceCounter
from msa.core.sql import Statement

# Every incident and case takes a number: prepared once (msa.core.sql). The UPDATE takes the
# counter's row lock and holds it to commit, so numbers are handed out in commit order.
_NEXT = Statement(
    ReferenceCounter,
    "UPDATE {table} SET {last} = {last} + 1 WHERE {prefix} = %s AND {year} = %s RETURNING {last}",
    writes=["prefix", "year"],
    reads=["last"],
)


def reference_next(prefix: str, year: int) -> str:
    """The next reference for ``prefix`` in ``year``; the counter row stays locked to commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reference_next must run in the transaction that uses the number")
    row = _NEXT.one(prefix, year)
    if row is None:  # the prefix's first number this year
        ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
        row = _NEXT.one(prefix, year)
        assert row is not None
    return f"{prefix}-{year}-{row[0]:05d}"
