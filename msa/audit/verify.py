"""Checking the audit trail's hash chain (``msa audit verify``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from msa.audit import chain
from msa.audit.models import AuditChainHead, AuditEntry


@dataclass(slots=True)
class VerifyResult:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_verify(*, max_problems: int = 100) -> VerifyResult:
    """Walk the trail in id order: each row's hash must match its content and link to the
    hash of the row before it, and the last row must be the one the chain head names."""
    result = VerifyResult()
    prev = chain.GENESIS
    last_id = 0
    for row in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        result.checked += 1
        if row.prev_hash != prev:
            result.problems.append(
                f"entry {row.pk}: does not follow the entry before it "
                "(an entry was deleted, inserted or reordered)"
            )
        if row.row_hash != chain.row_hash(row.prev_hash, chain.content_of(row)):
            result.problems.append(f"entry {row.pk}: content does not match its hash (modified)")
        prev = row.row_hash
        last_id = row.pk
        if len(result.problems) >= max_problems:
            return result
    head = AuditChainHead.objects.filter(pk=1).first()
    head_hash = head.last_hash if head else chain.GENESIS
    head_count = head.count if head else 0
    if head_hash != prev or (head is not None and head.last_id != last_id):
        result.problems.append(
            f"chain head names entry {head.last_id if head else 0} but the trail ends at "
            f"entry {last_id} (entries were removed from the end)"
        )
    elif head_count != result.checked:
        result.problems.append(
            f"chain head counts {head_count} entries, the trail holds {result.checked}"
        )
    return result
