"""The keyed hash chain of the audit trail: each row carries the MAC of the one before it.

``row_hash = HMAC-SHA256(MSA_AUDIT_KEY, prev_hash || 0x00 || canonical JSON of the row)``.
The key comes from the environment and is never stored in the database, so that someone who
can write to the database cannot delete or change a row and re-seal the chain after it: the
chain they would have to recompute needs the key. Changing a row breaks its own MAC; deleting
or reordering rows breaks the next row's ``prev_hash`` and the gapless ``seq``; cutting rows
off the end is found against a signed checkpoint (``msa audit checkpoint``). Pure functions, no
Django models, so that migrations can import them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
KEY_MIN_BYTES = 32


class AuditKeyError(ValueError):
    pass


def decode_key(text: str) -> bytes:
    """``MSA_AUDIT_KEY`` (base64url, at least 32 bytes) as bytes."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise AuditKeyError("MSA_AUDIT_KEY is not base64url") from None
    if len(key) < KEY_MIN_BYTES:
        raise AuditKeyError(f"MSA_AUDIT_KEY must be at least {KEY_MIN_BYTES} bytes")
    return key


def canonical(
    *,
    seq: int,
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
        "seq": seq,
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


def row_hash(key: bytes, prev_hash: str, content: bytes) -> str:
    return hmac.new(key, prev_hash.encode() + b"\x00" + content, hashlib.sha256).hexdigest()


def content_of(row: Any) -> bytes:
    """The canonical content of an AuditEntry (or a historical model instance of it)."""
    return canonical(
        seq=row.seq,
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


def checkpoint_body(*, seq: int, last_id: int, last_hash: str, at: str) -> bytes:
    body = {"seq": seq, "last_id": last_id, "last_hash": last_hash, "at": at}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, b"msa-audit-checkpoint\x00" + body, hashlib.sha256).hexdigest()
