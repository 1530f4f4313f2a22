"""The integration feed's reads that must leave a trace (issue 11).

A centre's dispatch system reads an incident's track (the victim's positions) with its bearer
token. That is a read of where she was: audited like a console read, and only while the
incident is open or for ``TRACK_AFTER_CLOSE`` after it closed — long enough for the dispatch
system to finish its record, not a way to look up old movements.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from msa.alarms.models import Incident, LocationFix
from msa.alarms.states import OPEN_STATES
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor

TRACK_AFTER_CLOSE = timedelta(hours=1)


def incident_track_visible(incident: Incident) -> bool:
    """True while the incident is open, and for ``TRACK_AFTER_CLOSE`` after it closed."""
    if incident.status in OPEN_STATES:
        return True
    return incident.closed_at is not None and clock.now() - incident.closed_at <= TRACK_AFTER_CLOSE


@transaction.atomic(durable=True)
def incident_track_read(*, incident: Incident, actor: Actor) -> list[LocationFix]:
    """The incident's positions, in order, with the audit row of the read; none (and no row)
    outside the window."""
    if not incident_track_visible(incident):
        return []
    fixes = list(incident.fixes.order_by("fix_at"))
    audit_record(
        actor=actor,
        action="incident.track_read",
        subject=incident,
        new={"incident": incident.reference, "positions": len(fixes)},
    )
    return fixes
