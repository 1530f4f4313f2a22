"""The new-case form may put her home, work and a usual place and the suspect's address on the
incident map at once (optional), with the places page's rule: an address the gazetteer knows is
placed, any other is refused with a clear error (this form has no map for a pin)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from msa.accounts.models import User
from msa.cases.models import Place, PlaceKind, PlaceSource, ProtectionCase
from msa.cases.tests.factories import client_for

pytestmark = pytest.mark.django_db

HOME = "Sint-Pietersnieuwstraat 120, 9000 Gent"  # in the demo's gazetteer
WORK = "Dendermondsesteenweg 200, 9040 Gent"


def _form(**extra: Any) -> dict[str, Any]:
    return {
        "zone": User.objects.get(username="reference").memberships.get().organisation_id,
        "relation": "ex_partner",
        "victim_first_name": "Sofie",
        "victim_last_name": "Places",
        "victim_address": HOME,
        "suspect_first_name": "Tom",
        "suspect_last_name": "Places",
        **extra,
    }


def test_the_places_asked_for_are_on_the_new_cases_map(demo: None) -> None:
    answer = client_for("reference").post(
        "/cases/new/",
        _form(place_home="on", place_work_address=WORK, place_work_label="the bakery"),
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    reference = re.search(r"/cases/([^/]+)/assess/", answer["Location"]).group(1)  # type: ignore[union-attr]
    places = {p.kind: p for p in Place.objects.filter(case__reference=reference)}
    assert set(places) == {PlaceKind.HOME, PlaceKind.WORK}
    assert places[PlaceKind.HOME].address == HOME
    assert places[PlaceKind.WORK].label == "the bakery"
    assert {p.source for p in places.values()} == {PlaceSource.GAZETTEER}


def test_none_asked_none_recorded_and_an_unknown_address_opens_no_case(demo: None) -> None:
    officer = client_for("reference")
    plain = officer.post("/cases/new/", _form(victim_last_name="Plain"))
    reference = re.search(r"/cases/([^/]+)/assess/", plain["Location"]).group(1)  # type: ignore[union-attr]
    assert not Place.objects.filter(case__reference=reference).exists()

    before = ProtectionCase.objects.count()
    refused = officer.post(
        "/cases/new/", _form(place_usual_address="Nergensstraat 1, 9000 Gent", place_suspect="on")
    )
    page = refused.content.decode()
    assert refused.status_code == 200
    assert "not in the gazetteer" in page
    assert "An address is needed" in page  # the suspect's address was asked for, not given
    assert ProtectionCase.objects.count() == before
