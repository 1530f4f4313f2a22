"""Human references: GNT-2026-00042 — a prefix, the year, a number that only grows."""

from __future__ import annotations

from django.db import transaction

from msa.core.models import ReferenceCounter


def reference_next(prefix: str, year: int) -> str:
    """The next reference for ``prefix`` in ``year``; the counter row stays locked to commit."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reference_next must run in the transaction that uses the number")
    ReferenceCounter.objects.get_or_create(prefix=prefix, year=year)
    counter = ReferenceCounter.objects.select_for_update().get(prefix=prefix, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{prefix}-{year}-{counter.last:05d}"
