"""Checking the audit trail's keyed chain (``msa audit verify``) and its signed checkpoints
(``msa audit checkpoint``)."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msa.audit import chain
from msa.audit.models import AuditChainHead, AuditEntry
from msa.audit.services import audit_key
from msa.core import clock


@dataclass(slots=True)
class VerifyResult:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    last_id: int
    last_hash: str
    at: str
    mac: str

    def as_json(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "last_id": self.last_id,
                "last_hash": self.last_hash,
                "at": self.at,
                "mac": self.mac,
            },
            sort_keys=True,
        )


class CheckpointError(ValueError):
    pass


def audit_checkpoint() -> Checkpoint:
    """The chain head, signed with the chain key: kept outside the database (a file on another
    host, an append-only store), it shows later that no row was cut off the end."""
    head = AuditChainHead.objects.filter(pk=1).first()
    seq, last_id, last_hash = (
        (head.count, head.last_id, head.last_hash) if head else (0, 0, chain.GENESIS)
    )
    at = clock.now().isoformat(timespec="seconds")
    body = chain.checkpoint_body(seq=seq, last_id=last_id, last_hash=last_hash, at=at)
    return Checkpoint(seq, last_id, last_hash, at, chain.checkpoint_mac(audit_key(), body))


def checkpoints_read(path: Path) -> list[Checkpoint]:
    """Every checkpoint in a file (one JSON object a line); a forged or damaged one raises."""
    found: list[Checkpoint] = []
    key = audit_key()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw: Any = json.loads(line)
            point = Checkpoint(
                seq=int(raw["seq"]),
                last_id=int(raw["last_id"]),
                last_hash=str(raw["last_hash"]),
                at=str(raw["at"]),
                mac=str(raw["mac"]),
            )
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{path}:{number}: not a checkpoint") from None
        body = chain.checkpoint_body(
            seq=point.seq, last_id=point.last_id, last_hash=point.last_hash, at=point.at
        )
        if not hmac.compare_digest(point.mac, chain.checkpoint_mac(key, body)):
            raise CheckpointError(f"{path}:{number}: signature does not match (forged?)")
        found.append(point)
    if not found:
        raise CheckpointError(f"{path}: no checkpoint in it")
    return found


def audit_verify(
    *, checkpoints: list[Checkpoint] | None = None, max_problems: int = 100
) -> VerifyResult:
    """Walk the trail in id order: each row must sit at the next place of the chain (``seq``
    without gaps), its MAC must match its content and link to the MAC of the row before it,
    the last row must be the one the chain head names, and every checkpoint given must name
    a row that is still there with the MAC it had."""
    result = VerifyResult()
    key = audit_key()
    prev = chain.GENESIS
    last_id = 0
    expected_seq = 1
    marks = {c.seq: c for c in checkpoints or ()}
    for row in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        result.checked += 1
        if row.seq != expected_seq:
            result.problems.append(
                f"entry {row.pk}: at place {row.seq} of the chain, expected {expected_seq} "
                "(a gap: entries were deleted, inserted or reordered)"
            )
        if row.prev_hash != prev:
            result.problems.append(
                f"entry {row.pk}: does not follow the entry before it "
                "(an entry was deleted, inserted or reordered)"
            )
        if not hmac.compare_digest(
            row.row_hash, chain.row_hash(key, row.prev_hash, chain.content_of(row))
        ):
            result.problems.append(f"entry {row.pk}: content does not match its hash (modified)")
        mark = marks.pop(row.seq, None)
        if mark is not None and (mark.last_id != row.pk or mark.last_hash != row.row_hash):
            result.problems.append(
                f"entry {row.pk}: differs from the checkpoint of {mark.at} at place {mark.seq}"
            )
        prev = row.row_hash
        last_id = row.pk
        expected_seq = row.seq + 1
        if len(result.problems) >= max_problems:
            return result
    for mark in marks.values():
        if mark.seq > 0:
            result.problems.append(
                f"the checkpoint of {mark.at} names place {mark.seq} (entry {mark.last_id}), "
                f"which is not in the trail (it ends at place {expected_seq - 1}: entries "
                "were removed)"
            )
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
