"""The demo's cases as full dossiers: each seeded active case gets what the workflow would
have recorded (an assessment, a decision with an exclusion zone, consent, a completed
checklist, a scheduled review, a care team).

The devices half (the loans of a button, a phone and a SIM, spare stock) is
``msa.devices.demo.demo_case_equipment``; ``msa.demo.seed`` calls both."""

from __future__ import annotations

from msa.accounts.models import Organisation, OrgKind
from msa.cases.models import (
    ActivationChecklist,
    CareTeamMember,
    Consent,
    ConsentMethod,
    Decision,
    DecisionOutcome,
    ExclusionZone,
    ProtectionCase,
    Review,
    RiskAssessment,
    TeamRole,
    ZoneShape,
)
from msa.cases.risk import DEFAULT_INSTRUMENT, answers_clean, items_of, score
from msa.cases.services.assessment import instrument_load, instrument_read_file
from msa.cases.services.decision import validity_ends_at
from msa.cases.services.review import review_interval
from msa.core import clock
from msa.core.actors import Actor


def demo_case_dossier(
    *, case: ProtectionCase, number: int, lat: float, lon: float, actor: Actor
) -> None:
    now = clock.now()
    instrument, _ = instrument_load(
        definition=instrument_read_file(DEFAULT_INSTRUMENT), actor=actor
    )
    raw = {}
    for item in items_of(instrument.definition):
        if item["type"] == "yes_no":
            raw[item["key"]] = "no"
        elif item["type"] == "choice":
            raw[item["key"]] = item["choices"][1]["value"]
        else:
            raw[item["key"]] = ""
    # Every demo case has at least one bombshell; the odd ones more.
    raw.update({"recent_separation": "yes", "following": "yes", "victim_fear": "yes"})
    if number % 2:
        raw.update({"threat_to_kill": "yes", "escalation": "yes"})
    answers = answers_clean(instrument.definition, raw)
    result = score(instrument.definition, answers)
    office = case.police_zone.prosecutor_office
    assert office is not None
    RiskAssessment.objects.create(
        case=case,
        instrument=instrument,
        answers=answers,
        score=result.score,
        computed_level=result.level,
        level=result.level,
        bombshells=result.bombshells,
        assessed_at=now,
        assessed_by="reference",
    )
    decision = Decision.objects.create(
        case=case,
        outcome=DecisionOutcome.APPROVED,
        reference=f"PKGNT-DEMO-{number:03d}",
        decided_at=now,
        decided_by="magistrate",
        valid_from=now.date(),
        valid_until=case.order_valid_until,
        contact_ban=True,
        conditions="",
    )
    ExclusionZone.objects.create(
        decision=decision,
        label="home of the victim",
        shape=ZoneShape.CIRCLE,
        lat=lat,
        lon=lon,
        radius_m=200,
    )
    Consent.objects.create(
        case=case,
        given_at=now,
        method=ConsentMethod.WRITTEN,
        recorded_by="reference",
        recorded_at=now,
    )
    ActivationChecklist.objects.create(
        case=case,
        button_paired_at=now,
        permissions_granted_at=now,
        test_incident_reference="(demo)",
        test_confirmed_at=now,
        confirmed_by="reference",
    )
    case.risk_level = result.level
    case.assessed_at = case.decided_at = case.consented_at = now
    # the same instant the decision gives (its last valid day, in the zone's time zone)
    assert case.order_valid_until is not None
    case.expires_at = validity_ends_at(case.order_valid_until, time_zone=case.police_zone.time_zone)
    case.save(
        update_fields=["risk_level", "assessed_at", "decided_at", "consented_at", "expires_at"]
    )
    Review.objects.create(case=case, due_at=now + review_interval(result.level))
    CareTeamMember.objects.create(
        case=case, organisation=case.police_zone, role=TeamRole.POLICE, added_at=now
    )
    CareTeamMember.objects.create(
        case=case, organisation=office, role=TeamRole.REFERENCE_MAGISTRATE, added_at=now
    )
    support = Organisation.objects.filter(kind=OrgKind.SUPPORT_SERVICE).first()
    if support is not None and number <= 3:
        CareTeamMember.objects.create(
            case=case, organisation=support, role=TeamRole.VICTIM_SUPPORT, added_at=now
        )
