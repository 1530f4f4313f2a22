"""Seeding the demo region (see ``demo_data``). Reachable only with ``MSA_DEMO=1``."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from msa.accounts.models import Membership, Organisation, OrgKind, Role, User
from msa.cases.demo import demo_case_dossier
from msa.cases.demo_places import demo_case_places, demo_gazetteer_load
from msa.cases.models import ProtectionCase, Suspect, Victim
from msa.cases.phones import normalise_phone, phone_lookup
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor
from msa.core.references import reference_next
from msa.demo_data import (
    CENTRE_CODE,
    LOGINS,
    UNITS,
    VICTIMS,
    ZONES,
    demo_device_id,
    demo_device_key,
    demo_password,
    demo_totp_key,
    demo_totp_secret,
    key_text,
)
from msa.devices.demo import demo_case_equipment
from msa.devices.models import Device
from msa.devices.services import device_enroll
from msa.dispatch.models import Unit, UnitCrew

DEMO_ACTOR = Actor.system("demo-seed")


def is_seeded() -> bool:
    return Organisation.objects.filter(code=CENTRE_CODE).exists()


@transaction.atomic
def seed() -> None:
    """Create the demo region once. Calling it again changes nothing."""
    if is_seeded():
        return
    now = clock.now()
    centre = Organisation.objects.create(
        kind=OrgKind.CIC,
        name="CIC Oost-Vlaanderen",
        code=CENTRE_CODE,
        time_zone="Europe/Brussels",
    )
    office = Organisation.objects.create(
        kind=OrgKind.PROSECUTOR_OFFICE,
        name="Parket Oost-Vlaanderen, afdeling Gent",
        code="PKGNT",
    )
    Organisation.objects.create(
        kind=OrgKind.SUPPORT_SERVICE,
        name="Slachtofferhulp Oost-Vlaanderen",
        code="VSOVL",
    )
    zones = {
        code: Organisation.objects.create(
            kind=OrgKind.POLICE_ZONE,
            name=name,
            code=code,
            covered_by=centre,
            prosecutor_office=office,
        )
        for code, name in ZONES
    }
    orgs = {o.code: o for o in Organisation.objects.all()}
    for username, role, org_code in LOGINS:
        user = User.objects.create_user(
            username=username,
            password=demo_password(username),
            first_name=username.capitalize(),
            last_name="Demo",
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        Membership.objects.create(user=user, organisation=orgs[org_code], role=role)
        if settings.MSA_DEMO:  # the second factor of the demo logins (never outside the demo)
            TOTPDevice.objects.create(
                user=user, name="demo", key=demo_totp_key(username).hex(), confirmed=True
            )
    for unit in UNITS:
        Unit.objects.create(
            call_sign=unit.call_sign,
            police_zone=zones[unit.zone],
            kind=unit.kind,
            lat=unit.lat,
            lon=unit.lon,
            position_at=now,
            location_label=unit.where,
        )
    # The demo patrol officer crews G-12 (what /unit/ shows them).
    UnitCrew.objects.create(
        user=User.objects.get(username="patrol"), unit=Unit.objects.get(call_sign="G-12")
    )
    demo_gazetteer_load(actor=DEMO_ACTOR)
    for v in VICTIMS:
        victim_row = Victim.objects.create(
            first_name=v.first_name,
            last_name=v.last_name,
            languages=v.languages,
            address=v.address,
            phone_number=normalise_phone(v.phone, region="BE"),  # the demo's numbers are Belgian
            phone_lookup=phone_lookup(normalise_phone(v.phone, region="BE")),
            health_notes=v.health,
            children_notes=v.children,
        )
        suspect_row = Suspect.objects.create(
            first_name=v.suspect_first,
            last_name=v.suspect_last,
            vehicle=v.vehicle,
            weapons=v.weapons,
            address=v.suspect_address,
        )
        case = ProtectionCase.objects.create(
            reference=reference_next(f"{v.zone}-C", now.year),
            police_zone=zones[v.zone],
            victim=victim_row,
            suspect=suspect_row,
            relation=v.relation,
            status=CaseState.ACTIVE,
            restraining_order=v.order,
            order_valid_until=date(now.year, now.month, 1) + timedelta(days=200),
            created_at=now,
            activated_at=now,
        )
        device = device_enroll(
            case=case,
            actor=DEMO_ACTOR,
            device_id=demo_device_id(v.number),
            key=demo_device_key(v.number),
        )
        demo_case_dossier(case=case, number=v.number, lat=v.lat, lon=v.lon, actor=DEMO_ACTOR)
        demo_case_places(case=case, number=v.number, actor=DEMO_ACTOR)
        demo_case_equipment(case=case, device=device, number=v.number)


def summary() -> str:
    """What ``msa demo`` prints: a login per role and the demo devices."""
    lines = ["Demo logins (username / password, role @ organisation):"]
    for username, role, org_code in LOGINS:
        org = Organisation.objects.get(code=org_code)
        label = Role(role).label
        lines.append(f"  {username:<11} {demo_password(username):<22} {label} @ {org.name}")
        if settings.MSA_DEMO:
            code = f"{totp(demo_totp_key(username)):06d}"
            lines.append(f"  {'':<11} TOTP secret {demo_totp_secret(username)}  code now {code}")
    lines.append("Demo devices (victim number, device id, key, case):")
    for v in VICTIMS:
        device = Device.objects.select_related("case").get(device_id=demo_device_id(v.number))
        case_ref = device.case.reference if device.case else "-"
        lines.append(
            f"  {v.number}. {device.device_id:<11} {key_text(demo_device_key(v.number))}  "
            f"case {case_ref}",
        )
    return "\n".join(lines)
