"""The hash chain of the audit trail: each row carries the hash of the one before it.

``row_hash = sha256(prev_hash || canonical JSON of the row's content)``. Changing a row
breaks its own hash; deleting or reordering rows breaks the next row's ``prev_hash``;
cutting rows off the end no longer matches the chain head. Pure functions, no Django
models, so that the migration that back-fills the chain can import them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(
    *,
    at: datetime,
    actor_kind: str,
    actor_label: str,
    actor_user_id: int | None,
    action: str,
    subject_type: str,
    subject_id: str,
    old: Any,
    new: Any,
    reason: str,
    correlation_id: str,
) -> bytes:
    body = {
        # in UTC: the database gives it back in UTC whatever zone it was written in
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_kind": actor_kind,
        "actor_label": actor_label,
        "actor_user_id": actor_user_id,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "old": old,
        "new": new,
        "reason": reason,
        "correlation_id": correlation_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\x00" + content).hexdigest()


def content_of(row: Any) -> bytes:
    """The canonical content of an AuditEntry (or a historical model instance of it)."""
    return canonical(
        at=row.at,
        actor_kind=row.actor_kind,
        actor_label=row.actor_label,
        actor_user_id=row.actor_user_id,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        old=row.old,
        new=row.new,
        reason=row.reason,
        correlation_id=row.correlation_id,
    )
