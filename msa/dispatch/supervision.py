"""The supervisor's reads: every operator's incidents, the alarms waiting, backup offers,
breaches, escalations and the shift's response figures — one centre, one scoped query each.

The write (take over, reassign) is ``msa.dispatch.services.supervisor.incident_reassign``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet

from msa.accounts.models import CONSOLE_ROLES, Organisation, OrgKind, Role, User
from msa.alarms.models import Incident
from msa.alarms.states import OPEN_STATE_VALUES, IncidentState, Lane
from msa.core import clock
from msa.dispatch.words import event_detail
from msa.realtime import events
from msa.realtime.models import IncidentEvent

# Control-room shifts start at these local hours (early, late, night).
SHIFT_STARTS = (6, 14, 22)
# The BS 8484 targets of lone-worker alarm centres: acknowledged within 10 s and within 40 s.
ACK_TARGETS_S = (10, 40)
# ... for this share of the alarms (percent): 80 % within 10 s, 98.5 % within 40 s.
ACK_GOALS_PERCENT = {10: 80.0, 40: 98.5}


def supervised_centres(user: User) -> QuerySet[Organisation]:
    """The dispatch centres this user supervises."""
    if not user.is_authenticated or not user.is_active:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        kind=OrgKind.CIC, memberships__user=user, memberships__role=Role.SUPERVISOR
    ).distinct()


def shift_start(centre: Organisation, now: datetime) -> datetime:
    """When the shift running at ``now`` began, in the centre's own time zone."""
    local = now.astimezone(ZoneInfo(centre.time_zone))
    hours = [h for h in SHIFT_STARTS if h <= local.hour]
    if hours:
        start = local.replace(hour=hours[-1], minute=0, second=0, microsecond=0)
    else:
        start = (local - timedelta(days=1)).replace(
            hour=SHIFT_STARTS[-1], minute=0, second=0, microsecond=0
        )
    return start


@dataclass
class OperatorLoad:
    user: User | None  # None: acknowledged by nobody of the centre now (e.g. taken as backup)
    incidents: list[Incident] = field(default_factory=list)


@dataclass(frozen=True)
class Waiting:
    """An alarm nobody acknowledged yet, and how long it has waited."""

    incident: Incident
    waited_s: int
    late: bool  # past the acknowledgement target (the supervisor was alerted)


@dataclass(frozen=True)
class AckShare:
    target_s: int
    met: int
    counted: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.met / self.counted) if self.counted else None

    @property
    def goal_percent(self) -> float | None:
        return ACK_GOALS_PERCENT.get(self.target_s)

    @property
    def goal_met(self) -> bool | None:
        """Whether the share reaches its BS 8484 goal (None: nothing counted yet, or no goal)."""
        goal = self.goal_percent
        if goal is None or not self.counted:
            return None
        return 100 * self.met / self.counted >= goal


@dataclass(frozen=True)
class ShiftFigures:
    since: datetime
    received: int
    ack_shares: list[AckShare]
    dispatched: int
    ack_to_dispatch_median_s: int | None
    ack_to_dispatch_max_s: int | None


def shift_figures(incidents: list[Incident], *, since: datetime, now: datetime) -> ShiftFigures:
    """The share acknowledged within each target (an alarm still waiting counts once it has
    waited past the target), and the time from acknowledgement to the first unit sent."""
    shares = []
    for target in ACK_TARGETS_S:
        limit = timedelta(seconds=target)
        met = counted = 0
        for i in incidents:
            if i.acknowledged_at is not None:
                counted += 1
                met += i.acknowledged_at - i.received_at <= limit
            elif now - i.received_at > limit:
                counted += 1
        shares.append(AckShare(target, met, counted))
    waits = [
        round((i.dispatched_at - i.acknowledged_at).total_seconds())
        for i in incidents
        if i.dispatched_at is not None and i.acknowledged_at is not None
    ]
    return ShiftFigures(
        since=since,
        received=len(incidents),
        ack_shares=shares,
        dispatched=len(waits),
        ack_to_dispatch_median_s=round(median(waits)) if waits else None,
        ack_to_dispatch_max_s=max(waits) if waits else None,
    )


def supervisor_overview(centre: Organisation) -> dict[str, object]:
    """Everything the supervisor's view shows for ``centre`` (a centre the caller supervises:
    the view takes it from ``supervised_centres``)."""
    now = clock.now()
    since = shift_start(centre, now)
    live = Incident.objects.filter(lane=Lane.LIVE).select_related(
        "case__victim", "centre", "backup_centre", "owner", "acknowledged_by"
    )
    mine = Q(centre=centre) | Q(backup_centre=centre)
    open_incidents = list(
        live.filter(mine, status__in=list(OPEN_STATE_VALUES)).order_by("received_at")
    )
    staff = list(
        User.objects.filter(
            is_active=True,
            memberships__organisation=centre,
            memberships__role__in=CONSOLE_ROLES,
        )
        .distinct()
        .order_by("username")
    )
    loads = {u.pk: OperatorLoad(u) for u in staff}
    unowned = OperatorLoad(None)
    waiting = []
    for incident in open_incidents:
        if incident.status == IncidentState.RECEIVED:
            waited = round((now - incident.received_at).total_seconds())
            waiting.append(Waiting(incident, waited, late=waited > settings.MSA_ACK_TARGET_S))
        elif incident.centre_id == centre.pk:
            loads.get(incident.owner_id or 0, unowned).incidents.append(incident)
    shift = list(live.filter(mine, received_at__gte=since).order_by("received_at"))
    backup = [i for i in shift if i.backup_offered_at is not None]
    breaches = [i for i in shift if i.on_scene_breach_at is not None]
    escalations = [
        (e, event_detail(e.type, e.payload))
        for e in IncidentEvent.objects.filter(
            centre=centre, type=events.IncidentEscalated.type, at__gte=since
        )
        .select_related("incident")
        .order_by("-at")[:50]
    ]
    own_shift = [i for i in shift if i.centre_id == centre.pk]
    return {
        "now": now,
        "staff": staff,
        "loads": [*loads.values(), *([unowned] if unowned.incidents else [])],
        "waiting": waiting,
        "backup": backup,
        "breaches": breaches,
        "escalations": escalations,
        "figures": shift_figures(own_shift, since=since, now=now),
    }
