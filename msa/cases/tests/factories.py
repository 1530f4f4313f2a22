"""Deterministic factories for cases: a case walked to a stage, on top of the demo region."""

from __future__ import annotations

import uuid
from datetime import date

from django.db import transaction
from django.test import Client

from msa.accounts.models import Organisation, OrgKind, User
from msa.alarms.revocation import loan_pair
from msa.alarms.selectors import case_test_alarm_last
from msa.alarms.services.intake import alarm_raise
from msa.alarms.states import CallState, Channel, Trigger
from msa.cases.models import (
    CaseApplication,
    ProtectionCase,
    Referral,
    ReferralWho,
    RiskInstrument,
)
from msa.cases.risk import DEFAULT_INSTRUMENT, items_of
from msa.cases.selectors import instrument_current
from msa.cases.services.application import ApplicationInput, application_submit
from msa.cases.services.assessment import (
    assessment_record,
    case_submit,
    instrument_load,
    instrument_read_file,
)
from msa.cases.services.decision import ZoneInput, decision_record
from msa.cases.services.enrolment import (
    case_activate,
    checklist_confirm_test,
    checklist_mark,
    consent_record,
)
from msa.cases.services.opening import PersonInput, case_open
from msa.core import clock
from msa.core.actors import Actor
from msa.devices.inventory import item_add, loan_create
from msa.devices.models import Device, ItemKind


def client_for(username: str) -> Client:
    """A test client signed in (both factors) as a demo login."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def actor(username: str) -> Actor:
    return Actor.for_user(User.objects.get(username=username))


def instrument() -> RiskInstrument:
    current = instrument_current()
    if current is not None:
        return current
    with transaction.atomic():
        loaded, _ = instrument_load(
            definition=instrument_read_file(DEFAULT_INSTRUMENT), actor=Actor.system("test")
        )
    return loaded


def answers(**yes: str) -> dict[str, str]:
    raw: dict[str, str] = {}
    for item in items_of(instrument().definition):
        if item["type"] == "yes_no":
            raw[item["key"]] = "no"
        elif item["type"] == "choice":
            raw[item["key"]] = item["choices"][0]["value"]
        elif item["type"] == "number":
            raw[item["key"]] = "0"
        else:
            raw[item["key"]] = ""
    raw.update(yes)
    return raw


def new_case(zone_code: str = "GNT", *, number: int = 1) -> ProtectionCase:
    return case_open(
        zone=Organisation.objects.get(code=zone_code),
        victim=PersonInput(
            first_name="Anna", last_name=f"Test{number}", phone_number=f"0470 00 09 0{number}"
        ),
        suspect=PersonInput(first_name="Piet", last_name=f"Suspect{number}"),
        relation="ex_partner",
        actor=actor("reference"),
    )


def assessed(case: ProtectionCase, **yes: str) -> ProtectionCase:
    assessment_record(
        case=case, instrument=instrument(), answers=answers(**yes), actor=actor("reference")
    )
    return ProtectionCase.objects.get(pk=case.pk)


def approved(case: ProtectionCase) -> ProtectionCase:
    case = assessed(case, threat_to_kill="yes")
    case_submit(case=case, actor=actor("reference"))
    decision_record(
        case=case,
        approve=True,
        reference="PKGNT-2026-TEST",
        actor=actor("magistrate"),
        valid_until=None,
        zones=[
            ZoneInput(label="home", shape="circle", lat=51.04, lon=3.72, radius_m=200),
            ZoneInput(
                label="school",
                shape="polygon",
                rings=[[[51.05, 3.70], [51.06, 3.70], [51.06, 3.71]]],
            ),
        ],
    )
    return ProtectionCase.objects.get(pk=case.pk)


def enrolling(case: ProtectionCase) -> ProtectionCase:
    case = approved(case)
    consent_record(case=case, given_at=clock.now(), method="written", actor=actor("reference"))
    return ProtectionCase.objects.get(pk=case.pk)


def equipped(case: ProtectionCase, *, number: int = 1) -> tuple[ProtectionCase, Device]:
    """Enrolling, with a button, a phone and a SIM lent and the phone paired."""
    case = enrolling(case)
    office = case.police_zone.prosecutor_office
    assert office is not None
    ref = actor("reference")
    for kind in (ItemKind.BUTTON, ItemKind.PHONE, ItemKind.SIM):
        item = item_add(kind=kind, serial=f"T-{kind}-{number}", district=office, actor=ref)
        loan_create(item=item, case=case, actor=ref)
    pairing = loan_pair(case=case, actor=ref)
    return case, pairing.device


def send_test_alarm(device: Device, number: int = 1) -> None:
    alarm_raise(
        device=device,
        alarm_id=uuid.UUID(int=900_000 + number),
        trigger=Trigger.TEST,
        pressed_at=clock.now(),
        location=None,
        battery=None,
        call_state=CallState.NONE,
        channel=Channel.DATA,
        actor=Actor.device(device.device_id),
    )


def active(case: ProtectionCase, *, number: int = 1) -> ProtectionCase:
    case, device = equipped(case, number=number)
    ref = actor("reference")
    checklist_mark(case=case, item="button_paired", actor=ref)
    checklist_mark(case=case, item="permissions_granted", actor=ref)
    send_test_alarm(device, number)
    checklist_confirm_test(case=case, test_incident_reference=case_test_alarm_last(case), actor=ref)
    case_activate(case=case, actor=ref)
    return ProtectionCase.objects.get(pk=case.pk)


TODAY = date(2026, 3, 2)


def case_in(status: str) -> ProtectionCase:
    """The first demo case, put straight into ``status``."""
    case = ProtectionCase.objects.order_by("pk").first()
    assert case is not None, "the demo region has cases"
    ProtectionCase.objects.filter(pk=case.pk).update(status=status)
    case.refresh_from_db()
    return case


def referral_in(status: str) -> Referral:
    """A victim referral of the first demo case to the support service, in ``status``."""
    case = ProtectionCase.objects.order_by("pk").first()
    assert case is not None, "the demo region has cases"
    return Referral.objects.create(
        case=case,
        who=ReferralWho.VICTIM,
        organisation=Organisation.objects.get(kind=OrgKind.SUPPORT_SERVICE),
        status=status,
        created_at=clock.now(),
        updated_at=clock.now(),
    )


def application(
    *,
    zone_code: str = "GNT",
    applicant: str = "counsellor",
    number: int = 1,
    org_level: str = "high",
    items: tuple[str, ...] = ("strangulation",),
) -> CaseApplication:
    """A support service's application (the applicant's first service), as submitted."""
    user = User.objects.get(username=applicant)
    service = Organisation.objects.filter(
        kind=OrgKind.SUPPORT_SERVICE, memberships__user=user
    ).first()
    assert service is not None, f"{applicant} is in no support service"
    return application_submit(
        organisation=service,
        zone=Organisation.objects.get(code=zone_code),
        data=ApplicationInput(
            victim=PersonInput(first_name="Sara", last_name=f"Applied{number}", languages="nl"),
            suspect=PersonInput(first_name="Tom", last_name=f"Applied{number}"),
            relation="ex_partner",
            safe_number=f"0470 11 22 3{number}",
            times_to_avoid="evenings, when he is home",
            org_level=org_level,
            urgency_notes="He choked her last week and waits at her work.",
            items=items,
            victim_agrees=True,
        ),
        applicant=user,
    )


def application_in(status: str) -> CaseApplication:
    """An application put straight into ``status`` (the state-machine walk)."""
    row = application()
    CaseApplication.objects.filter(pk=row.pk).update(status=status)
    row.refresh_from_db()
    return row
