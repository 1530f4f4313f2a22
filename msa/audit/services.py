"""Writing the audit trail. Call inside the transaction of the action being recorded."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction

from msa.audit import chain
from msa.audit.models import AuditChainHead, AuditEntry
from msa.core import clock
from msa.core.actors import Actor
from msa.core.sql import Statement, concrete, insert_row, placeholders

# Set per request (or per worker job) so that every row of one action can be grouped.
correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")


def audit_key() -> bytes:
    """The chain key, from the environment (``MSA_AUDIT_KEY``); never stored in the database."""
    return chain.decode_key(settings.MSA_AUDIT_KEY)


def subject_type_of(subject: models.Model) -> str:
    meta = subject._meta
    return f"{meta.app_label}.{meta.model_name}"


def audit_record(
    *,
    actor: Actor,
    action: str,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str = "",
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> AuditEntry:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run in the transaction of the audited action")
    if subject is not None:
        subject_type = subject_type_of(subject)
        subject_id = str(subject.pk)
    head = _chain_head_locked()
    entry = AuditEntry(
        seq=head.count + 1,
        at=at or clock.now(),
        actor_kind=str(actor.kind),
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        old=dict(old or {}),
        new=dict(new or {}),
        reason=reason,
        correlation_id=correlation_id.get(),
        prev_hash=head.last_hash,
    )
    entry.row_hash = chain.row_hash(audit_key(), head.last_hash, chain.content_of(entry))
    if transaction.get_connection().vendor == "postgresql":
        # the row and the head's move in one statement: one round trip fewer while the head
        # is locked (every audited write of every centre waits for that lock)
        _APPEND_AND_MOVE.insert(entry, entry.row_hash, head.count + 1, head.pk)
    else:
        insert_row(entry)  # a new row: the append-only model's save() is for the ORM's callers
        _HEAD_MOVE.rowcount(entry.pk, entry.row_hash, head.count + 1, head.pk)
    return entry


# Every audited action moves the head: prepared once (msa.core.sql).
_HEAD_LOCKED = Statement(
    AuditChainHead,
    "SELECT {all} FROM {table} WHERE {pk} = 1{for_update}",
    reads=concrete(AuditChainHead),
)
_HEAD_MOVE = Statement(
    AuditChainHead,
    "UPDATE {table} SET {last_id} = %s, {last_hash} = %s, {count} = %s WHERE {pk} = %s",
    writes=["last_id", "last_hash", "count", None],
)


# PostgreSQL: the new row and the head's move in one statement (a data-modifying WITH, which
# SQLite does not have: there the two above, which cost no round trip).
_ENTRY_FIELDS = [field.name for field in AuditEntry._meta.concrete_fields if not field.primary_key]


def _append_and_move_sql() -> str:
    columns = ", ".join("{" + name + "}" for name in _ENTRY_FIELDS)
    values = placeholders(len(_ENTRY_FIELDS))
    insert = f"INSERT INTO {{table}} ({columns}) VALUES ({values}) RETURNING {{pk}}"  # noqa: S608 - field names checked by Statement, placeholders
    move = "UPDATE {head} SET {head.last_id} = e.{pk}, {head.last_hash} = %s, {head.count} = %s"
    where = " FROM e WHERE {head}.{head.id} = %s RETURNING e.{pk}"
    return "WITH e AS (" + insert + ") " + move + where


_APPEND_AND_MOVE = Statement(
    AuditEntry,
    _append_and_move_sql(),
    writes=[*_ENTRY_FIELDS, None, None, None],
    reads=["id"],
    others={"head": AuditChainHead},
)


def _chain_head_locked() -> AuditChainHead:
    """The chain head, locked until the end of the caller's transaction (serialised appends:
    on PostgreSQL a row lock, on SQLite the database's single writer)."""
    head = _HEAD_LOCKED.instance()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": chain.GENESIS})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head
