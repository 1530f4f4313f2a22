"""Appending to a centre's event log; the live push follows the commit."""

from __future__ import annotations

from typing import Protocol

from django.db import connection, transaction
from django.db.models import F

from msa.accounts.models import Organisation
from msa.core import clock
from msa.core.publish import publish_on_commit
from msa.core.sql import Statement
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


def _next_seq(centre_id: int) -> int:
    """The centre's next sequence number, in one statement (``UPDATE … RETURNING``, SQLite
    3.35+ and PostgreSQL). The UPDATE takes the row lock and holds it to commit: sequence order
    is commit order. The first event of a centre creates its stream."""
    table = connection.ops.quote_name(EventStream._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + 1 WHERE centre_id = %s "  # noqa: S608 - a table name
            "RETURNING last_seq",
            [centre_id],
        )
        row = cursor.fetchone()
    if row is not None:
        return int(row[0])
    EventStream.objects.get_or_create(centre_id=centre_id)
    EventStream.objects.filter(centre_id=centre_id).update(last_seq=F("last_seq") + 1)
    return int(EventStream.objects.values_list("last_seq", flat=True).get(centre_id=centre_id))


# Every event of every centre: prepared once (msa.core.sql).
_INSERT_EVENT = Statement(
    IncidentEvent,
    "INSERT INTO {table} ({centre}, {seq}, {type}, {incident}, {payload}, {at}) "
    "VALUES (%s, %s, %s, %s, %s, %s) RETURNING {pk}",
    writes=["centre", "seq", "type", "incident", "payload", "at"],
    reads=["id"],
)


def event_append(*, centre: Organisation, incident_id: int, event: Event) -> IncidentEvent:
    """Persist ``event`` with the centre's next sequence number; push it after commit."""
    return _append(centre.pk, incident_id, event)


def _append(centre_id: int, incident_id: int, event: Event) -> IncidentEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_append must run in the transaction of the change it reports")
    seq = _next_seq(centre_id)
    data = event.data()
    row = IncidentEvent(
        centre_id=centre_id,
        seq=seq,
        type=event.type,
        incident_id=incident_id,
        payload=data,
        at=clock.now(),
    )
    inserted = _INSERT_EVENT.one(centre_id, seq, event.type, incident_id, data, row.at)
    assert inserted is not None  # RETURNING gives the new row's id
    row.pk = inserted[0]
    row._state.adding = False
    row._state.db = connection.alias
    publish_on_commit(centre_group(centre_id), wire(seq, event.type, data))
    return row
