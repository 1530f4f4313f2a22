"""Appending to a centre's event log; the live push follows the commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from django.db import transaction
from django.db.models import Model

from msa.accounts.models import Organisation
from msa.core import clock
from msa.core.publish import publish_on_commit
from msa.core.sql import Statement, inserting
from msa.realtime.events import Event, wire
from msa.realtime.models import EventStream, IncidentEvent


class IncidentLike(Protocol):
    """What the event log needs of an incident (``msa.alarms.models.Incident``, which sits
    above this part and appends to its log)."""

    pk: int
    centre_id: int
    backup_centre_id: int | None


def incident_event_append(*, incident: IncidentLike, event: Event) -> None:
    """Append ``event`` to the stream of the incident's centre, and of the backup centre it
    was offered to (both see it until one of them takes it).

    Two streams are locked in the order of their centres' ids, whichever is the incident's
    own: an incident of A backed up by B and one of B backed up by A would otherwise lock
    A then B and B then A, and PostgreSQL ends one of them as a deadlock (seen with the
    worker's backup offers against position requests)."""
    centres = {incident.centre_id}
    if incident.backup_centre_id:
        centres.add(incident.backup_centre_id)
    for centre_id in sorted(centres):
        _append(centre_id, incident.pk, event)


def centre_group(centre_id: int) -> str:
    return f"centre.{centre_id}"


_NEXT_SEQ = Statement(
    EventStream,
    "UPDATE {table} SET {last_seq} = {last_seq} + 1 WHERE {centre} = %s RETURNING {last_seq}",
    writes=[None],
    reads=["last_seq"],
)


def _next_seq(centre_id: int) -> int:
    """The centre's next sequence number, in one statement (``UPDATE … RETURNING``, SQLite
    3.35+ and PostgreSQL). The UPDATE takes the row lock and holds it to commit: sequence order
    is commit order. The first event of a centre creates its stream."""
    row = _NEXT_SEQ.one(centre_id)
    if row is None:  # the centre's first event
        EventStream.objects.get_or_create(centre_id=centre_id)
        row = _NEXT_SEQ.one(centre_id)
        assert row is not None
    return int(row[0])


# Every event of every centre: prepared once (msa.core.sql).
_INSERT_EVENT = inserting(IncidentEvent, ("centre", "seq", "type", "incident", "payload", "at"))

# PostgreSQL: the next sequence number and the event in one statement, one round trip (a data-
# modifying WITH, which SQLite does not have: there the two statements above, which cost no
# round trip). The stream's row lock is taken at the same point, held to commit as before.
_EVENT_VALUES = [None, "centre", "type", "incident", "payload", "at"]


def _append_event_sql(before: str = "") -> str:
    """The stream's next number and the event; ``before``, a data-modifying statement run
    first as ``r``: no number is taken and no event stored unless it gave a row."""
    head = f"WITH r AS ({before}), " if before else "WITH "
    guard = " AND EXISTS (SELECT 1 FROM r)" if before else ""
    return (
        head  # noqa: S608 - a template of column names checked by Statement, placeholders
        + "s AS (UPDATE {stream} SET {stream.last_seq} = {stream.last_seq} + 1"
        " WHERE {stream.centre} = %s" + guard + " RETURNING {stream.last_seq})"
        " INSERT INTO {table} ({centre}, {seq}, {type}, {incident}, {payload}, {at})"
        " SELECT %s, s.{stream.last_seq}, %s, %s, %s, %s FROM s RETURNING {pk}, {seq}"
    )


_APPEND_EVENT = Statement(
    IncidentEvent,
    _append_event_sql(),
    writes=_EVENT_VALUES,
    reads=["id", "seq"],
    others={"stream": EventStream},
)


def appending_after(
    before: str, *, writes: Sequence[str | None], others: Mapping[str, type[Model]]
) -> Statement[IncidentEvent]:
    """A statement for :func:`incident_event_append_after`: ``before`` (a template of an
    ``INSERT … RETURNING`` on ``others``, its columns as ``{name.field}``, its values'
    fields in ``writes``), then the event, in one round trip."""
    return Statement(
        IncidentEvent,
        _append_event_sql(before),
        writes=[*writes, *_EVENT_VALUES],
        reads=["id", "seq"],
        others={**others, "stream": EventStream},
    )


def incident_event_append_after(
    statement: Statement[IncidentEvent], *values: Any, incident: IncidentLike, event: Event
) -> bool | None:
    """Run ``statement`` (:func:`appending_after`) with its row's ``values``: the row and,
    if it was stored, ``event`` appended to the incident's stream, as
    :func:`incident_event_append` does, in one statement. True: both stored; False: the row
    was not (``ON CONFLICT … DO NOTHING``) and so no event either. ``None``: not run here
    (SQLite, which has no data-modifying WITH, or an incident offered to a backup centre,
    whose two streams are locked in order): the caller stores them one by one."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("event_append must run in the transaction of the change it reports")
    if conn.vendor != "postgresql" or incident.backup_centre_id:
        return None
    centre_id = incident.centre_id
    if _stored_and_pushed(statement, values, incident, event):
        return True
    if EventStream.objects.filter(centre_id=centre_id).exists():
        return False  # the stream is there: it was the row that was not stored
    # the centre's first event (it has no stream yet): the row was stored, not the event
    _append(centre_id, incident.pk, event)
    return True


def incident_event_append_at_once(
    statement: Statement[IncidentEvent], *values: Any, incident: IncidentLike, event: Event
) -> bool:
    """:func:`incident_event_append_after` as a statement that is its own transaction (outside
    any atomic block, on PostgreSQL): ``statement`` guards its row with conditions of its own
    (a row it locks and checks again) and stores nothing when one does not hold. True: the row
    and ``event`` are stored, committed, and the event is pushed now. False: nothing was
    written, and the caller goes its transactional way (which decides under its locks)."""
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        raise RuntimeError("a statement at once runs outside any transaction")
    if conn.vendor != "postgresql" or incident.backup_centre_id:
        return False
    # committed with its statement: publish_on_commit hands the push on at once
    return _stored_and_pushed(statement, values, incident, event)


def _stored_and_pushed(
    statement: Statement[IncidentEvent],
    values: Sequence[Any],
    incident: IncidentLike,
    event: Event,
) -> bool:
    """Run an :func:`appending_after` statement for the incident's own centre; whether it
    stored the event (then pushed after the commit)."""
    centre_id = incident.centre_id
    data = event.data()
    stored = statement.one(
        *values, centre_id, centre_id, event.type, incident.pk, data, clock.now()
    )
    if stored is None:
        return False
    publish_on_commit(centre_group(centre_id), wire(stored[1], event.type, data))
    return True


def event_append(*, centre: Organisation, incident_id: int, event: Event) -> None:
    """Persist ``event`` with the centre's next sequence number; push it after commit."""
    _append(centre.pk, incident_id, event)


def _append(centre_id: int, incident_id: int, event: Event) -> None:
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("event_append must run in the transaction of the change it reports")
    data = event.data()
    now = clock.now()
    stored = None
    if conn.vendor == "postgresql":
        stored = _APPEND_EVENT.one(centre_id, centre_id, event.type, incident_id, data, now)
    if stored is not None:
        seq = stored[1]
    else:  # SQLite, or the centre's first event (it has no stream yet: made here)
        seq = _next_seq(centre_id)
        _INSERT_EVENT.one(centre_id, seq, event.type, incident_id, data, now)
    publish_on_commit(centre_group(centre_id), wire(seq, event.type, data))
