"""Scoped reads about incidents: the one incident scope, and facts other parts ask for."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from msa.accounts.models import Organisation, User
from msa.accounts.selectors import console_centres_for
from msa.alarms.models import AmlPosition, Incident, LocationFix
from msa.alarms.states import OPEN_STATE_VALUES, Lane
from msa.cases.models import ProtectionCase
from msa.core.sql import Statement
from msa.devices.models import Device


def incidents_for_centres(
    centres: QuerySet[Organisation] | Sequence[Organisation],
) -> QuerySet[Incident]:
    """The one incident scope: the incidents these dispatch centres own, and those offered to
    them as backup (a centre that nobody answered in time hands its alarm on)."""
    return Incident.objects.filter(Q(centre__in=centres) | Q(backup_centre__in=centres))


def incidents_visible_to(user: User) -> QuerySet[Incident]:
    """The incidents a member of staff may see on the console: those of the centres they
    watch, and those offered to these centres as backup. Everything else is "not found"."""
    return incidents_for_centres(console_centres_for(user))


def incident_fixes(incident: Incident) -> list[LocationFix]:
    return list(incident.fixes.order_by("fix_at"))


def incident_aml_positions(incident: Incident) -> list[AmlPosition]:
    """The AML positions of ``incident``, oldest first: apart from its device fixes."""
    return list(incident.aml_positions.order_by("received_at", "id"))


# Read by every heartbeat: prepared once (msa.core.sql).
_LAST_TEST_ALARM = Statement(
    Incident,
    "SELECT {received_at} FROM {table} WHERE {device} = %s AND {lane} = %s "
    "ORDER BY {received_at} DESC LIMIT 1",
    writes=["device", "lane"],
    reads=["received_at"],
)


def last_test_alarm_at(device: Device) -> datetime | None:
    """When the centre last received a test alarm of this device (the heartbeat tells it)."""
    row = _LAST_TEST_ALARM.one(device.pk, Lane.TEST.value)
    return None if row is None else row[0]


# --- facts about a case that the cases part reads from its callers (cases is below alarms) ----


def case_has_open_incident(case: ProtectionCase) -> bool:
    """Whether a live incident of ``case`` is open: the dispatch centre then reads the
    dossier without stating a reason (``msa.cases.selectors.case_access``)."""
    return Incident.objects.filter(
        case=case, lane=Lane.LIVE, status__in=list(OPEN_STATE_VALUES)
    ).exists()


def case_test_alarm_last(case: ProtectionCase) -> str | None:
    """The reference of the last test alarm from a device still lent to ``case``, or None
    (``msa.cases.services.enrolment.checklist_confirm_test``)."""
    device_ids = case.loans.filter(returned_at__isnull=True, device__isnull=False).values_list(
        "device_id", flat=True
    )
    return (
        Incident.objects.filter(case=case, lane=Lane.TEST, device_id__in=list(device_ids))
        .order_by("-received_at")
        .values_list("reference", flat=True)
        .first()
    )


# What a position reads of its incident, without a lock (msa.alarms.services.tracking locks
# its own read): and its device and alarm id, which say whose it is when another statement
# read it (the device API's, with the device: msa.ingest.selectors).
TRACKED_COLUMNS = (
    "id",
    "reference",
    "centre",
    "backup_centre",
    "status",
    "track_until",
    "device",
    "alarm_id",
)
TRACKED_INCIDENT = Statement(
    Incident,
    "SELECT " + ", ".join("{" + name + "}" for name in TRACKED_COLUMNS) + " "
    "FROM {table} WHERE {device} = %s AND {alarm_id} = %s",
    writes=["device", "alarm_id"],
    reads=TRACKED_COLUMNS,
)


def tracked_incident_of(row: Sequence[Any]) -> Incident | None:
    """The incident of a row of :data:`TRACKED_COLUMNS` read by another statement (the device
    API reads them with a follow-up's device: ``msa.ingest.selectors``), as
    ``alarm_locations_add``'s ``seen`` takes it; ``None`` for the empty side of a join."""
    return None if row[0] is None else TRACKED_INCIDENT.instance_of(row)
