"""Reads about devices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from msa.accounts.models import Organisation
from msa.cases.states import PROTECTED_STATES
from msa.core.sql import Statement, concrete
from msa.devices.models import Device, DeviceHealthIssue, HealthProblem
from msa.devices.states import DeviceStatus

# Every request of the device API starts here: prepared once (msa.core.sql).
_DEVICE_BY_PROTOCOL_ID = Statement(
    Device,
    "SELECT {all} FROM {table} WHERE {device_id} = %s",
    writes=["device_id"],
    reads=concrete(Device),
)


def device_by_protocol_id(device_id: str) -> Device | None:
    return _DEVICE_BY_PROTOCOL_ID.instance(device_id)


# What a device API request reads of its device (the signature's key, the status, the ids): the
# other columns deferred, as with ``QuerySet.only`` (a service that needs one loads it). Fifteen
# columns read and converted for five were about a tenth of a position's CPU.
REQUEST_COLUMNS = ("id", "device_id", "key", "case", "status")
REQUEST_SELECT = ", ".join("{" + name + "}" for name in REQUEST_COLUMNS)  # in a Statement's SQL
_DEVICE_FOR_REQUEST = Statement(
    Device,
    f"SELECT {REQUEST_SELECT} FROM {{table}} WHERE {{device_id}} = %s",  # noqa: S608 - field names checked by Statement
    writes=["device_id"],
    reads=REQUEST_COLUMNS,
)


def device_for_request(device_id: str) -> Device | None:
    """The device of ``device_id`` (protocol.md's id) with :data:`REQUEST_COLUMNS` loaded."""
    return _DEVICE_FOR_REQUEST.instance(device_id)


# --- device health (msa.devices.health writes the episodes) ---------------------------------


@dataclass(frozen=True, slots=True)
class ProblemSeen:
    problem: str
    label: str
    detail: str
    since: datetime


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One device of a zone's report: the case by reference only, never a name."""

    device_id: str
    case_reference: str
    last_heartbeat_at: datetime | None
    phone_battery_pct: int | None
    button_battery_pct: int | None
    button_connected: bool | None
    problems: tuple[ProblemSeen, ...]


def _seen(issue: DeviceHealthIssue) -> ProblemSeen:
    return ProblemSeen(
        problem=issue.problem,
        label=str(HealthProblem(issue.problem).label),
        detail=issue.detail,
        since=issue.opened_at,
    )


def watched_devices(zones: QuerySet[Organisation] | list[Organisation]) -> QuerySet[Device]:
    """The active devices of the protected cases of ``zones`` (what the watch checks)."""
    return Device.objects.filter(
        status=DeviceStatus.ACTIVE,
        case__police_zone__in=zones,
        case__status__in=[str(s) for s in PROTECTED_STATES],
        case__is_probe=False,  # the centre's path-monitoring probe (msa.worker.probe)
    )


def device_report_rows(
    zone: Organisation | QuerySet[Organisation] | list[Organisation],
) -> list[ReportRow]:
    """The device report of one zone (or of several, for an officer of more than one): each
    watched device, its last report and its open problems, the troubled devices first. Two
    queries, whatever the number of devices."""
    zones = [zone] if isinstance(zone, Organisation) else zone
    devices = list(watched_devices(zones).select_related("case").order_by("device_id"))
    issues: dict[int, list[ProblemSeen]] = {}
    for issue in DeviceHealthIssue.objects.filter(
        device__in=[d.pk for d in devices], cleared_at__isnull=True
    ).order_by("opened_at", "id"):
        issues.setdefault(issue.device_id, []).append(_seen(issue))
    rows = [
        ReportRow(
            device_id=d.device_id,
            case_reference=d.case.reference if d.case else "-",
            last_heartbeat_at=d.last_heartbeat_at,
            phone_battery_pct=d.phone_battery_pct,
            button_battery_pct=d.button_battery_pct,
            button_connected=d.button_connected,
            problems=tuple(issues.get(d.pk, ())),
        )
        for d in devices
    ]
    return sorted(rows, key=lambda r: (not r.problems, r.device_id))


def device_health_at(device: Device, at: datetime) -> list[ProblemSeen]:
    """The problems ``device`` had at ``at`` (an alarm's press): the episodes open then."""
    return [
        _seen(i)
        for i in DeviceHealthIssue.objects.filter(device=device, opened_at__lte=at)
        .filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=at))
        .order_by("opened_at", "id")
    ]


def case_health_flags(case_id: int) -> list[ProblemSeen]:
    """The open device-health flags of a case."""
    return [
        _seen(i)
        for i in DeviceHealthIssue.objects.filter(case_id=case_id, cleared_at__isnull=True)
        .select_related("device")
        .order_by("opened_at", "id")
    ]


def device_by_osmand_id(identifier: str) -> Device | None:
    """The OsmAnd device whose identifier this is (found by its keyed hash), or None."""
    from msa.devices.services import osmand_lookup  # noqa: PLC0415 - one hash, one place

    if not identifier:
        return None
    return Device.objects.filter(protocol="osmand", osmand_lookup=osmand_lookup(identifier)).first()
