"""Opening a case: the victim (new, or one already protected against another suspect),
the suspect, the first history row, and the zone's police on the care team."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.accounts.models import Organisation, OrgKind
from msa.audit.services import audit_record
from msa.cases.models import (
    CareTeamMember,
    ProtectionCase,
    Suspect,
    TeamRole,
    Victim,
)
from msa.cases.phones import normalise_phone, phone_lookup
from msa.cases.states import (
    CASE_MACHINE,
    CaseState,
    CaseTransitionName,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ValidationError
from msa.core.references import reference_next
from msa.core.transitions import history_start

log = logging.getLogger("msa.cases")

T = CaseTransitionName


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonInput:
    first_name: str
    last_name: str
    birth_date: date | None = None
    languages: str = ""
    address: str = ""
    phone_number: str = ""
    # victim only
    health_notes: str = ""
    children_notes: str = ""
    # suspect only
    vehicle: str = ""
    weapons: str = ""
    risk_notes: str = ""


def _phone(raw: str, region: str) -> tuple[str, str]:
    if not raw.strip():
        return "", ""
    e164 = normalise_phone(raw, region=region)
    return e164, phone_lookup(e164)


def _require_zone(zone: Organisation) -> None:
    if zone.kind != OrgKind.POLICE_ZONE:
        raise ValidationError(
            gettext_noop("a case belongs to a police zone"), fields={"zone": "not a zone"}
        )


@transaction.atomic(durable=True)
def case_open(
    *,
    zone: Organisation,
    victim: PersonInput | Victim,
    suspect: PersonInput,
    relation: str,
    actor: Actor,
) -> ProtectionCase:
    """A new case in state ``requested``. ``victim`` may be an existing victim (a second
    suspect gets a second case for the same victim)."""
    return case_create(zone=zone, victim=victim, suspect=suspect, relation=relation, actor=actor)


def case_create(
    *,
    zone: Organisation,
    victim: PersonInput | Victim,
    suspect: PersonInput,
    relation: str,
    actor: Actor,
) -> ProtectionCase:
    """``case_open`` as a step of the caller's transaction (an application opens its case in
    the transaction that stores it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("case_create must run inside a transaction")
    _require_zone(zone)
    if not suspect.first_name.strip() and not suspect.last_name.strip():
        raise ValidationError(
            gettext_noop("the suspect needs a name"), fields={"suspect_last_name": "required"}
        )
    now = clock.now()
    if isinstance(victim, Victim):
        victim_row = victim
    else:
        phone, lookup = _phone(victim.phone_number, zone.country)
        victim_row = Victim.objects.create(
            first_name=victim.first_name.strip(),
            last_name=victim.last_name.strip(),
            birth_date=victim.birth_date,
            languages=victim.languages,
            address=victim.address,
            phone_number=phone,
            phone_lookup=lookup,
            health_notes=victim.health_notes,
            children_notes=victim.children_notes,
        )
    s_phone, s_lookup = _phone(suspect.phone_number, zone.country)
    suspect_row = Suspect.objects.create(
        first_name=suspect.first_name.strip(),
        last_name=suspect.last_name.strip(),
        birth_date=suspect.birth_date,
        languages=suspect.languages,
        address=suspect.address,
        phone_number=s_phone,
        phone_lookup=s_lookup,
        vehicle=suspect.vehicle,
        weapons=suspect.weapons,
        risk_notes=suspect.risk_notes,
    )
    case = ProtectionCase.objects.create(
        reference=reference_next(f"{zone.code}-C", now.year),
        police_zone=zone,
        victim=victim_row,
        suspect=suspect_row,
        relation=relation,
        status=CaseState.REQUESTED,
        created_at=now,
    )
    history_start(CASE_MACHINE, case, transition=T.OPEN, actor=actor, at=now)
    audit_record(
        actor=actor,
        action="case.open",
        subject=case,
        new={"reference": case.reference, "zone": zone.code, "relation": relation},
        at=now,
    )
    # The zone's police are on the team from the start.
    CareTeamMember.objects.create(case=case, organisation=zone, role=TeamRole.POLICE, added_at=now)
    log.info("case_opened case=%s zone=%s", case.reference, zone.code)
    return case
