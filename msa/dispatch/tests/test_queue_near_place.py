"""Each queue row names the nearest place of the case to the last position ("120 m from
home"), or the gazetteer's nearest address; scoped like the map's places (a backup centre
working another centre's incident sees none), and in a bounded number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from msa.accounts.models import Membership, Organisation, OrgKind, Role, User
from msa.alarms.models import Incident
from msa.cases.models import Place, PlaceKind, ProtectionCase
from msa.cases.selectors import ACCESS_FULL, case_access, cases_read_in_full
from msa.core.clock import Clock
from msa.core.errors import NotFoundError
from msa.dispatch import selectors
from msa.dispatch.models import CentreBackup
from msa.dispatch.routing import haversine_m
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def _near_home(incident: Incident) -> tuple[float, float]:
    home = Place.objects.get(case=incident.case, kind=PlaceKind.HOME)
    return home.lat + 0.001, home.lon  # about 111 m north of her home


def _queries(user: User, centre_id: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        selectors.queue_for(user, centre_id)
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_a_row_names_the_nearest_place_and_the_queue_reads_it_in_bounded_queries(
    demo: None, clock: Clock, client: Client
) -> None:
    operator = User.objects.get(username="operator")
    clock.freeze(NOW)
    first = press(victim=1, at=NOW, number=1).incident
    home = Place.objects.get(case=first.case, kind=PlaceKind.HOME)
    lat, lon = home.lat + 0.001, home.lon
    clock.advance(timedelta(seconds=1))  # a repeat press: her newest position, near home
    press(victim=1, at=clock.now(), number=2, lat=lat, lon=lon)

    lanes = selectors.queue_for(operator, first.centre_id)
    near = lanes["live"][0].near  # type: ignore[attr-defined]
    assert near.kind == PlaceKind.HOME
    assert near.distance_m == round(haversine_m(lat, lon, home.lat, home.lon))
    one = _queries(operator, first.centre_id)

    client.force_login(operator)
    html = client.get("/console/").content.decode()
    assert f"{near.distance_m} m from home" in html

    # Two more alarms, of another victim of the zone and one of another zone: not one query
    # more for the whole queue.
    for victim in (2, 3):
        clock.advance(timedelta(seconds=5))
        press(victim=victim, at=clock.now(), number=1)
    assert len(selectors.queue_for(operator, first.centre_id)["live"]) == 3
    assert _queries(operator, first.centre_id) == one


@pytest.mark.django_db
def test_a_backup_centre_working_another_centres_incident_sees_no_place(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    home_centre = Organisation.objects.get(code="OVL")
    backup = Organisation.objects.create(kind=OrgKind.CIC, name="CIC West-Vlaanderen", code="WVL")
    CentreBackup.objects.create(centre=home_centre, backup=backup)
    west = User.objects.create_user(username="west", password="x")
    Membership.objects.create(user=west, organisation=backup, role=Role.OPERATOR)
    incident = press(victim=1, at=NOW).incident
    lat, lon = _near_home(incident)
    clock.advance(timedelta(seconds=1))
    press(victim=1, at=clock.now(), number=2, lat=lat, lon=lon)
    Incident.objects.filter(pk=incident.pk).update(backup_centre=backup)

    operator = User.objects.get(username="operator")
    mine = {i.pk: i for i in selectors.queue_for(operator, home_centre.pk)["live"]}
    assert mine[incident.pk].near.kind == PlaceKind.HOME  # type: ignore[attr-defined]
    theirs = {i.pk: i for i in selectors.queue_for(west, backup.pk)["live"]}
    near = theirs[incident.pk].near  # type: ignore[attr-defined]
    assert near is None or near.kind == "address"  # never a place of her dossier


@pytest.mark.django_db
def test_the_queues_access_rule_is_case_access_for_every_demo_reader_and_case(demo: None) -> None:
    cases = list(ProtectionCase.objects.select_related("police_zone"))
    for user in User.objects.filter(memberships__isnull=False).distinct():
        for open_incident in (False, True):
            expected = set()
            for case in cases:
                try:
                    access = case_access(user, case, open_incident=open_incident)
                except NotFoundError:
                    continue
                if access.level == ACCESS_FULL:
                    expected.add(case.pk)
            opened = {c.pk for c in cases} if open_incident else set()
            assert cases_read_in_full(user, cases, open_case_ids=opened) == expected, user
