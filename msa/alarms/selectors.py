"""Scoped reads about incidents for the console."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet

from msa.accounts.models import User
from msa.accounts.selectors import console_centres_for
from msa.alarms.models import Incident, LocationFix
from msa.alarms.states import OPEN_STATES, IncidentState, Lane
from msa.core import clock
from msa.core.errors import NotFoundError
from msa.devices.models import Device

RECENTLY_CLOSED = timedelta(hours=24)


def incidents_visible_to(user: User) -> QuerySet[Incident]:
    return Incident.objects.filter(centre__in=console_centres_for(user))


def _queue_base(user: User, centre_id: int) -> QuerySet[Incident]:
    return (
        incidents_visible_to(user)
        .filter(centre_id=centre_id)
        .select_related("case__police_zone")
        .prefetch_related(
            Prefetch("fixes", queryset=LocationFix.objects.order_by("-fix_at"), to_attr="recent"),
        )
    )


def queue_for(user: User, centre_id: int) -> dict[str, list[Incident]]:
    """The three lanes of the console: live, test, and closed in the last 24 hours."""
    base = _queue_base(user, centre_id)
    open_states = [str(s) for s in OPEN_STATES]
    live = list(
        base.filter(lane=Lane.LIVE, status__in=open_states).order_by("status", "-received_at"),
    )
    # Unacknowledged first, then the rest, newest first within each group.
    live.sort(key=lambda i: (i.status != IncidentState.RECEIVED, -i.received_at.timestamp()))
    test = list(base.filter(lane=Lane.TEST).order_by("-received_at")[:20])
    closed = list(
        base.filter(
            lane=Lane.LIVE,
            status=IncidentState.CLOSED,
            closed_at__gte=clock.now() - RECENTLY_CLOSED,
        ).order_by("-closed_at")[:50],
    )
    return {"live": live, "test": test, "closed": closed}


def incident_get(user: User, reference: str) -> Incident:
    """One incident with its dossier, or NotFoundError (missing and not yours alike)."""
    incident = (
        incidents_visible_to(user)
        .select_related(
            "case__victim",
            "case__suspect",
            "case__police_zone",
            "device",
            "centre",
        )
        .filter(reference=reference)
        .first()
    )
    if incident is None:
        raise NotFoundError("no such incident")
    return incident


def incident_fixes(incident: Incident) -> list[LocationFix]:
    return list(incident.fixes.order_by("fix_at"))


def last_test_alarm_at(device: Device) -> datetime | None:
    """When the centre last received a test alarm of this device (the heartbeat tells it)."""
    return (
        Incident.objects.filter(device=device, lane=Lane.TEST)
        .order_by("-received_at")
        .values_list("received_at", flat=True)
        .first()
    )


def incident_delay_s(incident: Incident) -> int | None:
    """Seconds from the press to its arrival when over 10 minutes (a late SMS), else None."""
    from msa.alarms.services import alarm_delay_s

    return alarm_delay_s(incident)
