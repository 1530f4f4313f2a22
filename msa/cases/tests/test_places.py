"""Places on the map: the gazetteer loader (all or nothing, idempotent), placing an address,
and who may read a place's coordinates."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

from msa.accounts.models import User
from msa.alarms.selectors import case_has_open_incident
from msa.cases.models import GazetteerEntry, PlaceSource, ProtectionCase
from msa.cases.places import places_on_map
from msa.cases.services.places import (
    address_key,
    gazetteer_load,
    gazetteer_parse,
    gazetteer_read_file,
    place_store,
)
from msa.cases.tests import factories as h
from msa.cli import main
from msa.core.errors import NotFoundError, ValidationError
from tests.support.factories import press

pytestmark = pytest.mark.django_db

GOOD = (
    "address,lat,lon\n"
    '"Veldstraat 1, 9000 Gent",51.0531,3.7222\n'
    '"Veldstraat 3, 9000 Gent",51.0528,3.7223\n'
    "\n"
    '"Kouter 10, 9000 Gent",51.0502,3.7255\n'
)


def test_a_good_file_loads_and_loading_it_again_changes_nothing(demo: None) -> None:
    before = GazetteerEntry.objects.count()
    rows = gazetteer_parse(GOOD)
    first = gazetteer_load(rows=rows, actor=h.actor("admin"))
    assert (first.added, first.changed, first.unchanged) == (3, 0, 0)
    again = gazetteer_load(rows=gazetteer_parse(GOOD), actor=h.actor("admin"))
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    assert GazetteerEntry.objects.count() == before + 3
    moved = GOOD.replace("51.0502,3.7255", "51.0503,3.7256")
    third = gazetteer_load(rows=gazetteer_parse(moved), actor=h.actor("admin"))
    assert (third.added, third.changed, third.unchanged) == (0, 1, 2)
    entry = GazetteerEntry.objects.get(key=address_key("kouter 10 9000  gent"))
    assert (entry.lat, entry.lon) == (51.0503, 3.7256)


def test_each_bad_line_is_named_and_nothing_is_loaded(demo: None, tmp_path: Path) -> None:
    bad = (
        "address,lat,lon\n"
        '"Veldstraat 1, 9000 Gent",51.0531,3.7222\n'
        '"Veldstraat 3, 9000 Gent",north,3.7223\n'
        ",51.0,3.7\n"
        '"Kouter 10, 9000 Gent",51.05,200\n'
        '"Kouter 12, 9000 Gent",51.05\n'
        '"veldstraat 1 9000 gent",51.1,3.8\n'
    )
    with pytest.raises(ValidationError) as err:
        gazetteer_parse(bad)
    assert err.value.fields == {
        "line 3": "lat 'north' is not a number",
        "line 4": "the address is empty",
        "line 5": "lon 200.0 is outside -180..180",
        "line 6": "2 columns, expected 3 (address,lat,lon)",
        "line 7": "the address is on line 2 with other coordinates",
    }
    assert "5 bad line(s), nothing loaded" in err.value.message
    with pytest.raises(ValidationError, match="header"):
        gazetteer_parse("street,x,y\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b'address,lat,lon\n"Caf\xe9straat 1",51,3\n')
    with pytest.raises(ValidationError, match="line 2: not UTF-8"):
        gazetteer_read_file(latin)


def test_msa_places_load_reports_bad_lines_and_loads_nothing(
    demo: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = GazetteerEntry.objects.count()
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + '"Kouter 12, 9000 Gent",x,3.7\n', encoding="utf-8")
    assert main(["places", "load", str(bad)]) == 2
    assert "line 6: lat 'x' is not a number" in capsys.readouterr().err
    assert GazetteerEntry.objects.count() == before
    assert main(["places", "load", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["places", "load", str(good)]) == 0
    assert "3 addresses: 3 added, 0 changed, 0 unchanged" in capsys.readouterr().out
    assert main(["places", "load", str(good)]) == 0
    assert "0 added, 0 changed, 3 unchanged" in capsys.readouterr().out
    assert GazetteerEntry.objects.count() == before + 3


def test_a_place_comes_from_a_pin_or_the_gazetteer(demo: None) -> None:
    case = h.new_case("GNT", number=8)
    pinned = place_store(
        case=case,
        kind="work",
        address="Somewhere unlisted 1",
        label="work",
        lat=51.06,
        lon=3.71,
        actor=h.actor("reference"),
    )
    assert (pinned.lat, pinned.lon, pinned.source) == (51.06, 3.71, PlaceSource.PIN)
    found = place_store(
        case=case, kind="home", address="veldstraat 45  9000 gent", actor=h.actor("reference")
    )
    assert (found.lat, found.lon, found.source) == (51.052, 3.7225, PlaceSource.GAZETTEER)
    with pytest.raises(ValidationError, match="not in the gazetteer"):
        place_store(case=case, kind="home", address="Nowhere 9", actor=h.actor("reference"))
    with pytest.raises(ValidationError):
        place_store(
            case=case, kind="home", address="X 1", lat=91, lon=3, actor=h.actor("reference")
        )
    # the address and the label are encrypted at rest like the victim's own address
    with connection.cursor() as cursor:
        cursor.execute("SELECT address, label FROM cases_place WHERE id = %s", [pinned.pk])
        address, label = cursor.fetchone()
    assert "unlisted" not in address
    assert "work" not in label


def test_places_are_read_only_while_the_dossier_may_be(demo: None, clock) -> None:
    case = ProtectionCase.objects.filter(police_zone__code="GNT").order_by("id").first()
    assert case is not None
    user = User.objects.get
    kinds = [
        p["kind"] for p in places_on_map(user(username="reference"), case, open_incident=False)
    ]
    assert kinds == ["home", "suspect", "usual", "work"]
    assert places_on_map(user(username="magistrate"), case, open_incident=False)
    # the centre: no place without an open incident or a stated reason
    assert places_on_map(user(username="operator"), case, open_incident=False) == []
    assert places_on_map(user(username="operator"), case, open_incident=False, stated_reason=True)
    # a counsellor on the team reads no coordinates; outside the scope: not found
    assert places_on_map(user(username="counsellor"), case, open_incident=False) == []
    for nobody in ("analyst", "patrol"):
        with pytest.raises(NotFoundError):
            places_on_map(user(username=nobody), case, open_incident=False)
    at = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    clock.freeze(at)
    incident = press(1, at=at).incident
    assert incident.case_id == case.pk
    assert places_on_map(
        user(username="operator"), case, open_incident=case_has_open_incident(case)
    )


def test_the_incident_page_draws_the_places_and_the_decision_page_the_zones(
    demo: None, clock
) -> None:
    at = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)
    clock.freeze(at)
    incident = press(1, at=at).incident
    page = h.client_for("operator").get(f"/console/incidents/{incident.reference}/")
    assert page.status_code == 200
    places = json.loads(
        re.search(r'id="places-data"[^>]*>([^<]*)<', page.content.decode()).group(1)  # type: ignore[union-attr]
    )
    assert {p["label"] for p in places} >= {"home of the victim", "school of her son"}
    case = incident.case
    decide = h.client_for("magistrate").get(f"/cases/{case.reference}/decide/")
    assert decide.status_code == 200
    assert [z["label"] for z in decide.context["map_data"]["zones"]] == ["home of the victim"]
    assert len(decide.context["map_data"]["places"]) == len(places)


def test_the_officer_places_a_pin_or_finds_the_address(demo: None) -> None:
    case = h.new_case("GNT", number=6)
    officer = h.client_for("reference")
    url = f"/cases/{case.reference}/places/"
    assert officer.get(url).status_code == 200
    found = officer.post(url, {"kind": "home", "address": "Korenmarkt 16, 9000 Gent"})
    assert found.status_code == 302
    missing = officer.post(url, {"kind": "work", "address": "Nergensstraat 1, 9000 Gent"})
    assert missing.status_code == 422
    assert "not in the gazetteer" in missing.content.decode()
    pinned = officer.post(
        url,
        {
            "kind": "work",
            "label": "bakery",
            "address": "Nergensstraat 1",
            "lat": "51.06",
            "lon": "3.7",
        },
    )
    assert pinned.status_code == 302
    assert officer.post(url, {"kind": "work", "address": "X", "lat": "95"}).status_code == 422
    places = [(p.kind, p.source, p.lat) for p in case.places.order_by("id")]
    assert places == [("home", "gazetteer", 51.0546), ("work", "pin", 51.06)]
    assert "bakery" in officer.get(url).content.decode()
    # only the zone's officer records places: the magistrate and the centre get 404
    for other in ("magistrate", "operator"):
        assert h.client_for(other).get(url).status_code == 404
