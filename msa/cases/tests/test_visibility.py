"""Who sees which case: the one scope, role by role, across two regions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from msa.accounts.models import Membership, Organisation, OrgKind, Role, User
from msa.alarms.models import Incident
from msa.alarms.selectors import case_has_open_incident
from msa.cases.models import ProtectionCase
from msa.cases.selectors import (
    ACCESS_FULL,
    ACCESS_SUMMARY,
    ACCESS_TEAM,
    case_access,
    cases_visible_to,
)
from msa.cases.services.team import team_member_add
from msa.cases.tests import factories as h
from msa.core.errors import NotFoundError
from tests.support.factories import press

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_region(demo: None) -> dict[str, Organisation]:
    """A second region: its own centre, office, zone and support service, with one login each."""
    centre = Organisation.objects.create(kind=OrgKind.CIC, name="CIC Antwerpen", code="ANT")
    office = Organisation.objects.create(
        kind=OrgKind.PROSECUTOR_OFFICE, name="Parket Antwerpen", code="PKANT"
    )
    zone = Organisation.objects.create(
        kind=OrgKind.POLICE_ZONE,
        name="Politiezone Antwerpen",
        code="ANZ",
        covered_by=centre,
        prosecutor_office=office,
    )
    support = Organisation.objects.create(
        kind=OrgKind.SUPPORT_SERVICE, name="CAW Antwerpen", code="CAWA"
    )
    for username, role, org in (
        ("ant-ref", Role.REFERENCE_OFFICER, zone),
        ("ant-mag", Role.MAGISTRATE, office),
        ("ant-op", Role.OPERATOR, centre),
        ("ant-couns", Role.COUNSELLOR, support),
    ):
        user = User.objects.create_user(username=username, password="x")
        Membership.objects.create(user=user, organisation=org, role=role)
    return {"centre": centre, "office": office, "zone": zone, "support": support}


def refs(username: str) -> set[str]:
    return set(
        cases_visible_to(User.objects.get(username=username)).values_list("reference", flat=True)
    )


def test_scope_role_by_role(other_region: dict[str, Organisation]) -> None:
    ant_case = h.new_case("ANZ", number=7)
    demo_gnt = set(
        ProtectionCase.objects.filter(police_zone__code="GNT").values_list("reference", flat=True)
    )
    demo_all = set(
        ProtectionCase.objects.exclude(pk=ant_case.pk).values_list("reference", flat=True)
    )
    team = set(
        ProtectionCase.objects.filter(team__organisation__code="VSOVL").values_list(
            "reference", flat=True
        )
    )
    assert refs("reference") == demo_gnt  # own zone only (HAW and OUD are other zones)
    assert refs("magistrate") == demo_all  # every zone of the PKGNT district
    assert refs("operator") == demo_all  # every zone the OVL centre covers
    assert refs("supervisor") == demo_all
    assert refs("counsellor") == team  # only the cases its service is on the team of
    for nobody in ("patrol", "analyst", "admin"):
        assert refs(nobody) == set()
    assert refs("ant-ref") == refs("ant-mag") == refs("ant-op") == {ant_case.reference}
    assert refs("ant-couns") == set()
    team_member_add(
        case=ant_case,
        organisation=other_region["support"],
        role="victim_support",
        person="",
        actor=h.actor("reference"),
    )
    assert refs("ant-couns") == {ant_case.reference}


def test_access_levels(demo: None) -> None:
    case = ProtectionCase.objects.filter(
        police_zone__code="GNT", team__organisation__code="VSOVL"
    ).first()
    assert case is not None
    user = User.objects.get
    assert case_access(user(username="reference"), case).level == ACCESS_FULL
    assert case_access(user(username="reference"), case).is_officer
    assert case_access(user(username="magistrate"), case).is_magistrate
    assert case_access(user(username="operator"), case).level == ACCESS_SUMMARY
    assert case_access(user(username="operator"), case, stated_reason=True).level == ACCESS_FULL
    assert case_access(user(username="counsellor"), case).level == ACCESS_TEAM
    with pytest.raises(NotFoundError):
        case_access(user(username="analyst"), case)


def test_an_open_incident_opens_the_dossier_to_the_centre(demo: None, clock) -> None:
    at = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    clock.freeze(at)
    result = press(1, at=at)
    incident: Incident = result.incident
    operator = User.objects.get(username="operator")
    open_incident = case_has_open_incident(incident.case)
    assert case_access(operator, incident.case, open_incident=open_incident).level == ACCESS_FULL
