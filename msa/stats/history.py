"""A large, deterministic historical dataset for the statistics benchmark (``msa stats
seed-history``): protection cases with a button on loan, incidents over the past two years
with every milestone, and their positions. Bulk inserts only, no service calls, no audit: it
is test data for a benchmark database, never for a deployment in service.

It uses the police zones in the database (the demo's, when seeded), or makes a small region
of its own. Names are synthetic ("Hist V12"); positions lie around the zone's demo centre.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction

from msa.accounts.models import Organisation, OrgKind
from msa.alarms.models import Incident, LocationFix
from msa.alarms.states import CallState, Channel, IncidentState, Lane, Outcome, Trigger
from msa.cases.models import CaseTransition, ProtectionCase, Relation, Suspect, Victim
from msa.cases.states import CaseState
from msa.core import clock
from msa.devices.models import InventoryItem, ItemKind, Loan
from msa.devices.states import ItemStatus

BATCH = 5_000
INCIDENTS_PER_CASE = 10
HISTORY_DAYS = 730


@dataclass(frozen=True, slots=True)
class Seeded:
    cases: int
    incidents: int
    fixes: int
    start: date
    end: date


def _region() -> list[Organisation]:
    zones = list(Organisation.objects.filter(kind=OrgKind.POLICE_ZONE).order_by("code"))
    if zones:
        return zones
    centre = Organisation.objects.create(kind=OrgKind.CIC, name="History centre", code="HCIC")
    office = Organisation.objects.create(
        kind=OrgKind.PROSECUTOR_OFFICE, name="History prosecutor", code="HPK"
    )
    return [
        Organisation.objects.create(
            kind=OrgKind.POLICE_ZONE,
            name=f"History zone {n}",
            code=f"HZ{n}",
            covered_by=centre,
            prosecutor_office=office,
        )
        for n in (1, 2, 3)
    ]


def _bulk(model: type[Any], objs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(objs), BATCH):
        out.extend(model.objects.bulk_create(objs[i : i + BATCH], batch_size=BATCH))
    return out


def _centre_of(zone: Organisation) -> Organisation:
    if zone.covered_by_id:
        return zone.covered_by  # type: ignore[return-value]
    centre = Organisation.objects.filter(kind=OrgKind.CIC).first()
    assert centre is not None, "a dispatch centre is needed"
    return centre


def _incident(rng: random.Random, n: int, case: ProtectionCase, at: datetime) -> Incident:
    test = rng.random() < 0.15
    roll = rng.random()
    channels = (
        [Channel.DATA] if roll < 0.8 else [Channel.SMS] if roll < 0.95 else [Channel.UNVERIFIED_SMS]
    )
    ack = at + timedelta(seconds=rng.randint(3, 90))
    dispatched = on_scene = None
    outcome = Outcome.FALSE_TEST if test else Outcome.NO_OFFENCE
    if not test:
        kind = rng.random()
        if kind < 0.12:
            outcome = Outcome.FALSE_MISPRESS
        else:
            dispatched = ack + timedelta(seconds=rng.randint(10, 120))
            on_scene = dispatched + timedelta(seconds=rng.randint(120, 900))
            outcome = rng.choice(
                [
                    Outcome.ARRESTED_ON_SCENE,
                    Outcome.ARRESTED_LATER,
                    Outcome.NOT_FOUND,
                    Outcome.NO_OFFENCE,
                ]
            )
    return Incident(
        reference=f"HIS-{n:07d}",
        centre=_centre_of(case.police_zone),
        case=case,
        trigger=Trigger.TEST if test else rng.choice([Trigger.BUTTON, Trigger.BUTTON, Trigger.APP]),
        lane=Lane.TEST if test else Lane.LIVE,
        status=IncidentState.CLOSED,
        channels=channels,
        call_state=CallState.GHOST if rng.random() < 0.05 else CallState.ENDED,
        pressed_at=at,
        received_at=at,
        acknowledged_at=ack,
        dispatched_at=dispatched,
        on_scene_at=on_scene,
        closed_at=(on_scene or ack) + timedelta(minutes=20),
        outcome=outcome,
        violence_before_arrival=(rng.random() < 0.1) if dispatched else None,
        victim_injured=(rng.random() < 0.05) if dispatched else None,
    )


def analyse() -> None:
    """Refresh the planner's statistics after a bulk load (what autovacuum does later): with
    none, PostgreSQL estimates a handful of rows and nests loops over thousands."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@transaction.atomic
def history_seed(*, incidents: int, fixes: int, seed: int = 14) -> Seeded:
    """Insert ``incidents`` incidents (one case per ten) and ``fixes`` positions spread over
    them, received over the past two years."""
    rng = random.Random(seed)  # noqa: S311 - deterministic test data, not a secret
    zones = _region()
    for zone in zones:
        if zone.covered_by_id:
            zone.covered_by = Organisation.objects.get(pk=zone.covered_by_id)
    now = clock.now().replace(microsecond=0)
    start = now - timedelta(days=HISTORY_DAYS)
    first = ProtectionCase.objects.filter(reference__startswith="HIS-").count()
    n_cases = max(1, incidents // INCIDENTS_PER_CASE)
    victims = _bulk(
        Victim, [Victim(first_name="Hist", last_name=f"V{first + i}") for i in range(n_cases)]
    )
    suspects = _bulk(
        Suspect, [Suspect(first_name="Hist", last_name=f"S{first + i}") for i in range(n_cases)]
    )
    cases = []
    for i in range(n_cases):
        activated = start + timedelta(days=rng.randint(0, HISTORY_DAYS - 200))
        ended = activated + timedelta(days=rng.randint(90, 240))
        cases.append(
            ProtectionCase(
                reference=f"HIS-C{first + i:06d}",
                police_zone=zones[i % len(zones)],
                victim=victims[i],
                suspect=suspects[i],
                relation=Relation.EX_PARTNER,
                status=CaseState.ENDED if ended < now else CaseState.ACTIVE,
                created_at=activated - timedelta(days=7),
                activated_at=activated,
                ended_at=ended if ended < now else None,
                end_reason="review" if ended < now else "",
                risk_level=rng.choice(["medium", "high", "extreme"]),
            )
        )
    cases = _bulk(ProtectionCase, cases)
    history = []
    for case in cases:
        history.append(
            CaseTransition(
                subject=case,
                transition="activate",
                from_state="enrolling",
                to_state=CaseState.ACTIVE,
                actor_label="history",
                at=case.activated_at or case.created_at,
            )
        )
        if case.ended_at:
            history.append(
                CaseTransition(
                    subject=case,
                    transition="end",
                    from_state="active",
                    to_state=CaseState.ENDED,
                    actor_label="history",
                    at=case.ended_at,
                )
            )
    _bulk(CaseTransition, history)
    district = zones[0].prosecutor_office_id
    if district is not None:
        items = _bulk(
            InventoryItem,
            [
                InventoryItem(
                    kind=ItemKind.BUTTON,
                    serial=f"HIS-B{case.pk}",
                    district_id=district,
                    status=ItemStatus.RETIRED,
                    added_at=case.created_at,
                )
                for case in cases
            ],
        )
        _bulk(
            Loan,
            [
                Loan(
                    item=item,
                    case=case,
                    loaned_at=case.activated_at or case.created_at,
                    loaned_by="history",
                    returned_at=case.ended_at or now,
                )
                for item, case in zip(items, cases, strict=True)
            ],
        )
    first_incident = Incident.objects.filter(reference__startswith="HIS-").count()
    made = []
    for n in range(incidents):
        case = cases[n % n_cases]
        assert case.activated_at is not None
        span = ((case.ended_at or now) - case.activated_at).total_seconds()
        at = case.activated_at + timedelta(seconds=rng.randint(0, int(span)))
        made.append(_incident(rng, first_incident + n, case, at))
    made = _bulk(Incident, made)
    per, extra = divmod(fixes, max(1, len(made)))
    positions: list[LocationFix] = []
    total = 0
    for i, incident in enumerate(made):
        lat, lon = 51.05 + rng.uniform(-0.1, 0.1), 3.72 + rng.uniform(-0.15, 0.15)
        for k in range(per + (1 if i < extra else 0)):
            at = incident.received_at + timedelta(seconds=10 * k)
            positions.append(
                LocationFix(
                    incident=incident,
                    lat=lat + k * 1e-4,
                    lon=lon,
                    accuracy_m=12.0,
                    fix_at=at,
                    source="gps",
                    channel="data",
                    received_at=at + timedelta(seconds=1),
                )
            )
        if len(positions) >= 50_000:
            _bulk(LocationFix, positions)
            total += len(positions)
            positions = []
    _bulk(LocationFix, positions)
    total += len(positions)
    analyse()
    return Seeded(n_cases, len(made), total, start.date(), now.date())
