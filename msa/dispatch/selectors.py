"""Scoped reads for the console, the unit page and the integration feed.

A centre's console sees its own incidents and those offered to it as backup. "Missing"
and "not yours" both raise NotFoundError.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Organisation, User
from msa.alarms.models import Incident, IncidentTransition, LocationFix
from msa.alarms.selectors import incidents_for_centres, incidents_visible_to
from msa.alarms.states import OPEN_STATE_VALUES, OPEN_STATES, IncidentState, Lane
from msa.cases.models import GazetteerEntry, Place, PlaceKind
from msa.cases.selectors import cases_read_in_full, exclusion_zones_for_case
from msa.core import clock
from msa.core.errors import NotFoundError
from msa.dispatch.models import (
    Dispatch,
    DispatchTransition,
    IncidentNote,
    Unit,
    UnitCrew,
)
from msa.dispatch.routing import Origin, fastest_speed_mps, haversine_m, router
from msa.dispatch.states import OPEN_DISPATCH_STATES, UnitStatus
from msa.dispatch.words import event_detail, say
from msa.realtime import events
from msa.realtime.models import IncidentEvent

RECENTLY_CLOSED = timedelta(hours=24)
RECOMMEND_COUNT = 5


def _at_centre(qs: QuerySet[Incident], centre_id: int) -> QuerySet[Incident]:
    return qs.filter(Q(centre_id=centre_id) | Q(backup_centre_id=centre_id))


def _open_dispatches() -> Prefetch[Any]:
    return Prefetch(
        "dispatches",
        queryset=Dispatch.objects.filter(status__in=[str(s) for s in OPEN_DISPATCH_STATES])
        .select_related("unit")
        .order_by("assigned_at"),
        to_attr="open_dispatches",
    )


# The queue's order, shown above it (console/_queue.html) so that nobody has to guess.
QUEUE_RULE = _(
    "Unacknowledged first, the longest waiting on top; then the others, oldest first. "
    "Duress and missed targets are marked red."
)
# A test alarm nobody acknowledged leaves the test lane after this (it is still in the log).
TEST_LANE_WINDOW = timedelta(hours=24)


def _urgency(incident: Incident) -> tuple[int, float, int]:
    """Unacknowledged first, oldest first among them (the longest wait on top); then the
    acknowledged, oldest first too. Duress and breaches are marked, not reordered: an
    operator takes the alarms in the order they came; two received in the same microsecond in
    the order they were stored (the database gives rows that sort equal in any order: the queue
    must not change between two loads)."""
    unacknowledged = incident.status == IncidentState.RECEIVED
    return (0 if unacknowledged else 1, incident.received_at.timestamp(), incident.pk)


def queue_for(user: User, centre_id: int) -> dict[str, list[Incident]]:
    """The three lanes of the console: live, test (the last 24 hours), and closed in the
    last 24 hours."""
    now = clock.now()
    base = (
        _at_centre(incidents_visible_to(user), centre_id)
        .select_related("case__police_zone", "case__victim", "backup_centre", "centre")
        .prefetch_related(
            Prefetch("fixes", queryset=LocationFix.objects.order_by("-fix_at"), to_attr="recent"),
            _open_dispatches(),
        )
    )
    open_states = list(OPEN_STATE_VALUES)
    live: list[Incident] = list(base.filter(lane=Lane.LIVE, status__in=open_states))
    live.sort(key=_urgency)
    # A test alarm is confirmed by acknowledging it; one of a case that has ended needs no
    # confirmation (the row says so), and none stays in the lane past a day.
    test: list[Incident] = list(
        base.filter(lane=Lane.TEST, received_at__gte=now - TEST_LANE_WINDOW).order_by(
            "-received_at"
        )[:20]
    )
    closed: list[Incident] = list(
        base.filter(
            lane=Lane.LIVE,
            status=IncidentState.CLOSED,
            closed_at__gte=now - RECENTLY_CLOSED,
        ).order_by("-closed_at")[:50],
    )
    lanes: dict[str, list[Incident]] = {"live": live, "test": test, "closed": closed}
    near = nearest_places(user, [*live, *test, *closed], live=live)
    for incidents in lanes.values():
        for incident in incidents:
            setattr(incident, "near", near.get(incident.pk))  # noqa: B010 - a row's extra
    return lanes


# --- the nearest named place or address to an incident's last position --------------------

# A place of the case this close is named first ("120 m from home") ...
PLACE_NEAR_M = 500
# ... else the gazetteer's nearest address this close ("Korenmarkt 16, 40 m") ...
ADDRESS_NEAR_M = 250
# ... else the nearest place of the case, however far ("2.3 km from home").
PLACE_WORDS: dict[str, Promise] = {
    PlaceKind.HOME: _("home"),
    PlaceKind.WORK: _("work"),
    PlaceKind.USUAL: _("a usual place"),
    PlaceKind.SUSPECT: _("the suspect's address"),
}


@dataclass(frozen=True, slots=True)
class NearPlace:
    """What the queue row says of where she is: ``kind`` is a place kind (``PlaceKind``) or
    ``"address"`` (the gazetteer's); ``name`` the place's label or kind in words, or the
    address; ``address`` the place's recorded address (a title on the row)."""

    kind: str
    name: str
    distance_m: int
    address: str = ""

    @property
    def distance(self) -> str:
        if self.distance_m < 1000:
            return f"{self.distance_m} m"
        return f"{self.distance_m / 1000:.1f} km"


def _full_dossier_cases(user: User, incidents: list[Incident], live: list[Incident]) -> set[int]:
    """The cases among ``incidents``' whose places ``user`` may read now: the map's rule
    (``msa.cases.places.places_on_map``: the full dossier), for the whole queue at once. A
    case outside the reader's scope (a backup centre working another centre's incident) is
    not among them: its places are never shown (fails closed).

    A live incident of a case the centre covers is open at the centre or offered by it, so
    it is in the live lane (``live``): the lane says which cases have one open."""
    cases = {i.case_id: i.case for i in incidents}
    open_case_ids = {i.case_id for i in live if i.lane == Lane.LIVE and i.status in OPEN_STATES}
    return cases_read_in_full(user, list(cases.values()), open_case_ids=open_case_ids)


def nearest_places(
    user: User, incidents: list[Incident], *, live: list[Incident]
) -> dict[int, NearPlace]:
    """For each incident with a position (its ``recent`` fixes, newest first, prefetched by
    ``queue_for``), the nearest place of its case that ``user`` may read, or the gazetteer's
    nearest address: ``{incident pk: NearPlace}``; ``live`` is the queue's live lane. Three
    queries for the whole queue (the reader's memberships, the places, the gazetteer).

    The gazetteer has no index on its coordinates: on a national register, give it one (or
    keep the addresses of the case's places) before the queue reads it on every refresh."""
    located: list[tuple[Incident, LocationFix]] = []
    for incident in incidents:
        recent: list[LocationFix] = getattr(incident, "recent", None) or []
        if recent:
            located.append((incident, recent[0]))
    if not located:
        return {}
    readable = _full_dossier_cases(user, [i for i, _fix in located], live)
    places: dict[int, list[Place]] = {}
    for row in Place.objects.filter(case_id__in=readable):
        places.setdefault(row.case_id, []).append(row)
    # The gazetteer (public data) near the open incidents' positions, in one query.
    boxes = Q(pk__in=[])
    for incident, fix in located:
        if incident.status in OPEN_STATES:
            dlat = ADDRESS_NEAR_M / 111_320.0
            dlon = ADDRESS_NEAR_M / (111_320.0 * max(0.01, math.cos(math.radians(fix.lat))))
            boxes |= Q(
                lat__range=(fix.lat - dlat, fix.lat + dlat),
                lon__range=(fix.lon - dlon, fix.lon + dlon),
            )
    addresses = list(GazetteerEntry.objects.filter(boxes).values_list("address", "lat", "lon"))
    near: dict[int, NearPlace] = {}
    for incident, fix in located:
        place: Place | None = min(
            places.get(incident.case_id, []),
            key=lambda p: haversine_m(fix.lat, fix.lon, p.lat, p.lon),
            default=None,
        )
        place_m = haversine_m(fix.lat, fix.lon, place.lat, place.lon) if place else math.inf
        if place is not None and place_m <= PLACE_NEAR_M:
            near[incident.pk] = _place_near(place, place_m)
            continue
        if incident.status in OPEN_STATES and addresses:
            address, a_lat, a_lon = min(
                addresses, key=lambda a: haversine_m(fix.lat, fix.lon, a[1], a[2])
            )
            address_m = haversine_m(fix.lat, fix.lon, a_lat, a_lon)
            if address_m <= ADDRESS_NEAR_M:
                near[incident.pk] = NearPlace("address", address, round(address_m))
                continue
        if place is not None:
            near[incident.pk] = _place_near(place, place_m)
    return near


def _place_near(place: Place, distance_m: float) -> NearPlace:
    name = place.label or str(PLACE_WORDS.get(place.kind, place.kind))
    return NearPlace(place.kind, name, round(distance_m), place.address)


def incident_get(user: User, reference: str) -> Incident:
    incident = (
        incidents_visible_to(user)
        .select_related(
            "case__victim",
            "case__suspect",
            "case__police_zone",
            "device",
            "centre",
            "backup_centre",
            "acknowledged_by",
            "owner",
        )
        .filter(reference=reference)
        .first()
    )
    if incident is None:
        raise NotFoundError("no such incident")
    return incident


def earlier_incidents(incident: Incident, limit: int = 10) -> list[Incident]:
    return list(
        Incident.objects.filter(case_id=incident.case_id)
        .exclude(pk=incident.pk)
        .order_by("-received_at")[:limit],
    )


def dispatches_of(incident: Incident) -> list[Dispatch]:
    return list(incident.dispatches.select_related("unit").order_by("assigned_at", "id"))


def exclusion_zones_for(incident: Incident) -> list[dict[str, Any]]:
    """The case's exclusion zones in force, for the map and the dossier, from the cases
    part's ``exclusion_zones_for_case``: circles (lat, lon, radius_m) and polygons (the
    outer ring of [lat, lon] points)."""
    zones = []
    for zone in exclusion_zones_for_case(incident.case):
        rings = zone.get("rings") or []
        zones.append(
            {
                "label": str(zone.get("label", "")),
                "lat": zone.get("lat"),
                "lon": zone.get("lon"),
                "radius_m": zone.get("radius_m"),
                "polygon": rings[0] if rings else None,
            },
        )
    return zones


@dataclass(frozen=True, slots=True)
class Recommendation:
    unit: Unit
    eta_s: int
    distance_m: int


def units_for_centre(centre: Organisation) -> QuerySet[Unit]:
    return Unit.objects.filter(police_zone__covered_by=centre)


def units_recommend(
    incident: Incident, *, at: tuple[float, float] | None, limit: int = RECOMMEND_COUNT
) -> list[Recommendation]:
    """The nearest available units of the incident's centre by estimated arrival time.

    Reads only the units in a box around the victim, widening it until the ``limit``-th
    best ETA inside is shorter than any unit outside the box could manage (at the fastest
    speed and the detour factor), so the answer is the same as ranking every unit.
    """
    if at is None:
        return []
    lat, lon = at
    available = units_for_centre(incident.centre).filter(
        status=UnitStatus.AVAILABLE, lat__isnull=False, lon__isnull=False
    )
    total = None
    radius_m = 4000.0
    while True:
        dlat = radius_m / 111_320.0
        dlon = radius_m / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
        rows = list(
            available.filter(
                lat__range=(lat - dlat, lat + dlat), lon__range=(lon - dlon, lon + dlon)
            ).values_list("lat", "lon", "kind", "pk"),
        )
        etas = router().etas(rows, lat=lat, lon=lon)
        best = heapq.nsmallest(limit, range(len(rows)), key=etas.__getitem__)
        floor_s = radius_m * settings.MSA_ROUTE_DETOUR_FACTOR / fastest_speed_mps()
        if len(best) == limit and etas[best[-1]] <= floor_s:
            break
        if total is None:
            total = available.count()
        if len(rows) >= total:
            break
        radius_m *= 2
    units = Unit.objects.in_bulk([rows[i][3] for i in best])
    return [
        Recommendation(
            unit=units[rows[i][3]],
            eta_s=round(etas[i]),
            distance_m=round(haversine_m(rows[i][0] or 0.0, rows[i][1] or 0.0, lat, lon)),
        )
        for i in best
    ]


def rank_units(units: list[Unit], *, lat: float, lon: float, limit: int) -> list[Recommendation]:
    """Rank units already in memory (the benchmark's figure of the ranking alone)."""
    origins = [Origin(u.lat or 0.0, u.lon or 0.0, u.kind) for u in units]
    etas = router().etas(origins, lat=lat, lon=lon)
    best = heapq.nsmallest(limit, range(len(units)), key=etas.__getitem__)
    return [
        Recommendation(
            unit=units[i],
            eta_s=round(etas[i]),
            distance_m=round(haversine_m(units[i].lat or 0.0, units[i].lon or 0.0, lat, lon)),
        )
        for i in best
    ]


def unit_etas(units: list[Unit], *, at: tuple[float, float] | None) -> dict[int, int]:
    placed = [u for u in units if u.lat is not None and u.lon is not None]
    if at is None or not placed:
        return {}
    etas = router().etas(
        [Origin(u.lat or 0.0, u.lon or 0.0, u.kind) for u in placed], lat=at[0], lon=at[1]
    )
    return {u.pk: round(e) for u, e in zip(placed, etas, strict=True)}


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str  # transition | dispatch | note | event
    label: str
    actor: str
    detail: str = ""


# A human label for every event type of the registry (msa.realtime.events.EVENT_TYPES).
EVENT_LABELS: dict[str, Promise] = {
    events.AlarmRaised.type: _("alarm raised"),
    events.AlarmChannelAdded.type: _("channel"),
    events.AlarmLocated.type: _("position"),
    events.IncidentStateChanged.type: _("state"),
    events.TrackingEnded.type: _("tracking ended"),
    events.IncidentNoted.type: _("note"),
    events.UnitDispatched.type: _("unit dispatched"),
    events.DispatchProgressed.type: _("unit progress"),
    events.OutcomeRecorded.type: _("outcome"),
    events.IncidentEscalated.type: _("escalated"),
    events.TrackingChanged.type: _("tracking"),
    events.AlarmCallChanged.type: _("call"),
    events.AlarmVictimCancelled.type: _("cancelled by the victim"),
    events.AlarmDuress.type: _("duress"),
    events.DeviceRevoked.type: _("device revoked"),
    events.AlarmRepeatPress.type: _("repeat press"),
    events.AlarmRetryDiffers.type: _("retry with another trigger"),
    events.IncidentReassigned.type: _("reassigned"),
}
# The events the timeline reads from the event log; the others are in it already from the
# history rows (transitions, dispatches, notes), or too many (positions).
TIMELINE_EVENTS = frozenset(
    {
        events.AlarmChannelAdded.type,
        events.TrackingEnded.type,
        events.TrackingChanged.type,
        events.IncidentEscalated.type,
        events.OutcomeRecorded.type,
        events.AlarmCallChanged.type,
        events.AlarmVictimCancelled.type,
        events.AlarmDuress.type,
        events.DeviceRevoked.type,
        events.AlarmRepeatPress.type,
        events.AlarmRetryDiffers.type,
        events.IncidentReassigned.type,
    }
)


def incident_timeline(incident: Incident) -> list[TimelineEntry]:
    """Transitions, dispatch progress, notes and channel/escalation events, in time order,
    in words (``msa.dispatch.words``): "first unit on scene", "G-12 en route"."""
    entries = [
        TimelineEntry(t.at, "transition", say(t.transition), t.actor_label, t.reason)
        for t in IncidentTransition.objects.filter(subject=incident)
    ]
    progress = DispatchTransition.objects.filter(subject__incident=incident)
    entries.extend(
        TimelineEntry(
            d.at, "dispatch", f"{d.subject.unit.call_sign} {say(d.to_state)}", d.actor_label
        )
        for d in progress.select_related("subject__unit")
    )
    entries.extend(
        TimelineEntry(n.at, "note", str(_("note")), n.author_label, n.text)
        for n in IncidentNote.objects.filter(incident=incident)
    )
    # An event offered to a backup centre is in both centres' streams (and the owner can
    # change when the backup takes it): read every stream, keep each event once.
    seen: set[tuple[str, datetime, str]] = set()
    for e in IncidentEvent.objects.filter(incident=incident, type__in=list(TIMELINE_EVENTS)):
        detail = event_detail(e.type, e.payload)
        if (e.type, e.at, detail) in seen:
            continue
        seen.add((e.type, e.at, detail))
        entries.append(TimelineEntry(e.at, "event", str(EVENT_LABELS[e.type]), "", detail))
    entries.sort(key=lambda x: x.at)
    return entries


# --- the unit's side ------------------------------------------------------------------


def unit_of(user: User) -> Unit | None:
    crew = UnitCrew.objects.select_related("unit").filter(user=user).first()
    return crew.unit if crew else None


def unit_current_dispatch(unit: Unit) -> Dispatch | None:
    return (
        Dispatch.objects.filter(unit=unit, status__in=[str(s) for s in OPEN_DISPATCH_STATES])
        .select_related("incident__case__victim", "incident__case__suspect", "incident__centre")
        .first()
    )


def unit_dispatch_get(user: User, dispatch_id: int) -> Dispatch:
    unit = unit_of(user)
    dispatch = (
        Dispatch.objects.filter(pk=dispatch_id, unit=unit).select_related("incident").first()
        if unit
        else None
    )
    if dispatch is None:
        raise NotFoundError("no such dispatch")
    return dispatch


# --- the integration feed ----------------------------------------------------------------


def integration_incidents(org: Organisation) -> QuerySet[Incident]:
    return (
        incidents_for_centres([org])
        .select_related("centre", "case__police_zone")
        .prefetch_related(_open_dispatches())
    )


def integration_incident_list(org: Organisation) -> list[Incident]:
    since = clock.now() - RECENTLY_CLOSED
    return list(
        integration_incidents(org)
        .filter(Q(status__in=list(OPEN_STATE_VALUES)) | Q(closed_at__gte=since))
        .order_by("-received_at")[:200],
    )


def integration_incident_get(org: Organisation, reference: str) -> Incident:
    incident = integration_incidents(org).filter(reference=reference).first()
    if incident is None:
        raise NotFoundError("no such incident")
    return incident
