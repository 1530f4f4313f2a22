"""The magistrate's decision: approval with its measures and exclusion zones (and the notice
to the national police database), refusal, and renewal beyond the maximum duration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from msa.audit.services import audit_record
from msa.cases.models import (
    Decision,
    DecisionOutcome,
    ExclusionZone,
    NationalRegistration,
    ProtectionCase,
    ZoneShape,
)
from msa.cases.services.tasks import expiry_task_open
from msa.cases.states import (
    CASE_MACHINE,
    CaseTransitionName,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ValidationError
from msa.core.transitions import transition_apply
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue

T = CaseTransitionName


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneInput:
    label: str
    shape: str
    lat: float | None = None
    lon: float | None = None
    radius_m: int | None = None
    rings: list[list[list[float]]] = field(default_factory=list)


def _check_lat_lon(lat: Any, lon: Any) -> None:
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        raise ValidationError(
            gettext_noop("a zone needs coordinates"), fields={"zones": "coordinates"}
        )
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(
            gettext_noop("coordinates out of range"), fields={"zones": "coordinates"}
        )


def zone_check(zone: ZoneInput) -> None:
    if not zone.label.strip():
        raise ValidationError(gettext_noop("every zone needs a label"), fields={"zones": "label"})
    if zone.shape == ZoneShape.CIRCLE:
        _check_lat_lon(zone.lat, zone.lon)
        if not zone.radius_m or not (10 <= zone.radius_m <= 20_000):
            raise ValidationError(
                gettext_noop("a radius between 10 m and 20 km"), fields={"zones": "radius_m"}
            )
    elif zone.shape == ZoneShape.POLYGON:
        if not zone.rings or len(zone.rings[0]) < 3:
            raise ValidationError(
                gettext_noop("a polygon needs 3 points or more"), fields={"zones": "rings"}
            )
        for ring in zone.rings:
            for point in ring:
                if len(point) != 2:
                    raise ValidationError(
                        gettext_noop("a point is [lat, lon]"), fields={"zones": "rings"}
                    )
                _check_lat_lon(point[0], point[1])
    else:
        raise ValidationError(gettext_noop("unknown zone shape"), fields={"zones": "shape"})


def max_duration() -> timedelta:
    return timedelta(days=settings.MSA_CASE_MAX_DAYS)


def validity_ends_at(day: date, *, time_zone: str) -> datetime:
    """The instant an order valid until ``day`` (inclusive) runs out: the midnight after it
    in the zone's own time zone. (Midnight UTC ended it, seen in Brussels, on the next day.)"""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(time_zone))


def _validity(valid_from: date, valid_until: date | None) -> date:
    longest = valid_from + max_duration()
    until = valid_until or longest
    if until < valid_from:
        raise ValidationError(
            gettext_noop("ends before it starts"), fields={"valid_until": "before start"}
        )
    if until > longest:
        raise ValidationError(
            gettext_noop("longer than the maximum duration"),
            fields={"valid_until": f"at most {settings.MSA_CASE_MAX_DAYS} days"},
        )
    return until


def _order_text(decision: Decision, zones: Sequence[ZoneInput]) -> str:
    lines = []
    if decision.contact_ban:
        lines.append(
            "Contact ban: no contact of any kind with the victim, directly or through others."
        )
    for z in zones:
        if z.shape == ZoneShape.CIRCLE:
            lines.append(f"Area ban: {z.label} (within {z.radius_m} m).")
        else:
            lines.append(f"Area ban: {z.label} (area drawn on the map).")
    if decision.conditions:
        lines.append(f"Conditions: {decision.conditions}")
    if decision.valid_until:
        lines.append(f"Valid until {decision.valid_until.isoformat()}.")
    return "\n".join(lines)


@transaction.atomic(durable=True)
def decision_record(
    *,
    case: ProtectionCase,
    approve: bool,
    reference: str,
    actor: Actor,
    valid_from: date | None = None,
    valid_until: date | None = None,
    contact_ban: bool = True,
    conditions: str = "",
    grounds: str = "",
    zones: Sequence[ZoneInput] = (),
) -> Decision:
    """Approve (with the measures) or refuse. An approval registers the suspect with the
    national police database and asks the victim's consent."""
    if not reference.strip():
        raise ValidationError(
            gettext_noop("the decision's reference"), fields={"reference": "required"}
        )
    now = clock.now()
    start = valid_from or now.date()
    until = _validity(start, valid_until) if approve else None
    if approve:
        for zone in zones:
            zone_check(zone)
    transition = T.APPROVE if approve else T.REFUSE
    locked = transition_apply(CASE_MACHINE, case, transition, actor=actor, at=now)
    decision = Decision.objects.create(
        case=locked,
        outcome=DecisionOutcome.APPROVED if approve else DecisionOutcome.REFUSED,
        reference=reference.strip(),
        decided_at=now,
        decided_by=actor.label,
        valid_from=start if approve else None,
        valid_until=until,
        contact_ban=contact_ban if approve else False,
        conditions=conditions.strip(),
        grounds=grounds.strip(),
    )
    audit_record(
        actor=actor,
        action="case.decision",
        subject=locked,
        new={
            "decision": decision.reference,
            "outcome": decision.outcome,
            "valid_until": until.isoformat() if until else None,
            "zones": len(zones) if approve else 0,
        },
        at=now,
    )
    if not approve:
        return decision
    for zone in zones:
        ExclusionZone.objects.create(
            decision=decision,
            label=zone.label.strip(),
            shape=zone.shape,
            lat=zone.lat if zone.shape == ZoneShape.CIRCLE else None,
            lon=zone.lon if zone.shape == ZoneShape.CIRCLE else None,
            radius_m=zone.radius_m if zone.shape == ZoneShape.CIRCLE else None,
            rings=zone.rings if zone.shape == ZoneShape.POLYGON else [],
        )
    assert until is not None
    locked.restraining_order = _order_text(decision, zones)
    locked.order_valid_until = until
    locked.expires_at = validity_ends_at(until, time_zone=locked.police_zone.time_zone)
    locked.save(update_fields=["restraining_order", "order_valid_until", "expires_at"])
    _register_suspect(case=locked, decision=decision, actor=actor, kind="register")
    transition_apply(CASE_MACHINE, locked, T.REQUEST_CONSENT, actor=actor, at=now)
    locked.refresh_from_db()
    return decision


def _register_suspect(
    *, case: ProtectionCase, decision: Decision, actor: Actor, kind: str
) -> NationalRegistration:
    """The notice to the national police database, through the outbox."""
    suspect = case.suspect
    body_lines = [
        f"Notice: {kind}",
        f"Case: {case.reference} (police zone {case.police_zone.code})",
        f"Decision: {decision.reference} of {decision.decided_at.date().isoformat()}",
        f"Person: {suspect.last_name.upper()}, {suspect.first_name}"
        + (f", born {suspect.birth_date.isoformat()}" if suspect.birth_date else ""),
        (
            "Instructions: a mobile stalking alarm protects the victim. In case of contact, "
            "arrest for breach of the restraining order and inform the dispatch centre."
        ),
        case.restraining_order,
    ]
    message = message_enqueue(
        channel=MessageChannel.NATIONAL_DB,
        recipient=settings.MSA_NATIONAL_DB_RECIPIENT,
        subject=f"MSA restraining order {case.reference}",
        body="\n".join(body_lines),
        actor=actor,
        about=case,
    )
    registration = NationalRegistration.objects.create(
        case=case,
        decision=decision,
        message_id=message.pk,
        queued_at=clock.now(),
        kind=kind,
    )
    audit_record(
        actor=actor,
        action="case.national_registration",
        subject=case,
        new={"kind": kind, "message": message.pk, "decision": decision.reference},
    )
    return registration


@transaction.atomic(durable=True)
def case_renew(
    *,
    case: ProtectionCase,
    reference: str,
    valid_until: date | None,
    actor: Actor,
    conditions: str = "",
) -> Decision:
    """A new decision extends the alarm beyond its maximum duration."""
    if not reference.strip():
        raise ValidationError(
            gettext_noop("the decision's reference"), fields={"reference": "required"}
        )
    now = clock.now()
    locked = transition_apply(CASE_MACHINE, case, T.RENEW, actor=actor, at=now)
    start = now.date()
    until = _validity(start, valid_until)
    previous = locked.decisions.exclude(outcome=DecisionOutcome.REFUSED).first()
    decision = Decision.objects.create(
        case=locked,
        outcome=DecisionOutcome.RENEWED,
        reference=reference.strip(),
        decided_at=now,
        decided_by=actor.label,
        valid_from=start,
        valid_until=until,
        contact_ban=previous.contact_ban if previous else True,
        conditions=conditions.strip() or (previous.conditions if previous else ""),
    )
    if previous is not None:
        for zone in previous.zones.all():
            ExclusionZone.objects.create(
                decision=decision,
                label=zone.label,
                shape=zone.shape,
                lat=zone.lat,
                lon=zone.lon,
                radius_m=zone.radius_m,
                rings=zone.rings,
            )
    locked.order_valid_until = until
    locked.expires_at = validity_ends_at(until, time_zone=locked.police_zone.time_zone)
    locked.save(update_fields=["order_valid_until", "expires_at"])
    audit_record(
        actor=actor,
        action="case.renew",
        subject=locked,
        new={"decision": decision.reference, "valid_until": until.isoformat()},
        at=now,
    )
    _register_suspect(case=locked, decision=decision, actor=actor, kind="renew")
    expiry_task_open(locked, now)
    return decision
