"""The OsmAnd protocol (Traccar Client and similar apps), docs/interop.md section 2: every
variant of the table, Traccar Client's own request shapes, units, and never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msa.alarms.models import Incident, LocationFix
from msa.alarms.states import Channel
from msa.cases.models import ProtectionCase
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.devices.models import Device
from msa.devices.services import device_osmand_enroll
from msa.dispatch.models import Unit, UnitPosition
from msa.dispatch.services.osmand import unit_osmand_id_issue
from msa.ingest.osmand import osmand_time

BASE = "/api/osmand/v1/"
NOW = datetime(2026, 3, 14, 8, 15, 10, tzinfo=UTC)


@pytest.fixture
def enabled(settings: Any) -> None:
    settings.MSA_OSMAND_ENABLED = True


@pytest.fixture
def frozen(clock: Clock) -> Clock:
    clock.freeze(NOW)
    return clock


@pytest.fixture
def ident(demo: None, enabled: None) -> str:
    case = ProtectionCase.objects.get(victim__first_name="Elise")
    return device_osmand_enroll(case=case, actor=Actor.system("t")).identifier


def test_timestamps_in_seconds_milliseconds_and_iso() -> None:
    at = datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
    assert osmand_time("1773476102") == at
    assert osmand_time("1773476102000") == at
    assert osmand_time("2026-03-14T08:15:02Z") == at
    assert osmand_time("2026-03-14T09:15:02+01:00") == at
    assert osmand_time("2026-03-14 08:15:02") == at
    assert osmand_time("soon") is None


@pytest.mark.django_db
def test_off_unless_enabled(demo: None, client: Client, settings: Any) -> None:
    settings.MSA_OSMAND_ENABLED = False
    assert client.get(BASE, {"id": "x", "alarm": "sos"}).status_code == 404


@pytest.mark.django_db
def test_missing_or_unknown_identifier_is_400(ident: str, client: Client) -> None:
    assert client.get(BASE, {"lat": "51", "lon": "3"}).status_code == 400
    assert client.get(BASE, {"id": "not-enrolled", "alarm": "sos"}).status_code == 400
    assert not Incident.objects.filter(unverified_reason="unsigned_protocol").exists()


def test_the_identifier_has_at_least_128_random_bits(demo: None, db: None) -> None:
    case = ProtectionCase.objects.get(victim__first_name="Elise")
    one = device_osmand_enroll(case=case, actor=Actor.system("t"))
    two = device_osmand_enroll(case=case, actor=Actor.system("t"))
    assert len(one.identifier) * 4 >= 128
    assert one.identifier != two.identifier
    # only its keyed hash is kept
    row = Device.objects.get(pk=one.device.pk)
    assert row.protocol == "osmand"
    assert one.identifier not in (row.osmand_lookup or "", row.device_id, row.key)


@pytest.mark.django_db
def test_traccar_query_alarm_raises_an_unsigned_incident_with_its_position(
    ident: str, client: Client, frozen: Clock
) -> None:
    # Traccar Client's own shape: POST with every parameter in the query, empty body
    query = urlencode(
        {
            "id": ident,
            "timestamp": "1773476105",
            "lat": "51.054342",
            "lon": "3.717424",
            "speed": "10",
            "bearing": "90",
            "altitude": "12",
            "accuracy": "8",
            "batt": "77",
            "alarm": "sos",
        }
    )
    response = client.post(f"{BASE}?{query}", data=b"", content_type="text/plain")
    assert (response.status_code, response.content) == (200, b"")
    incident = Incident.objects.get(unverified_reason="unsigned_protocol")
    assert incident.unverified_reason == "unsigned_protocol"
    assert incident.phone_battery_pct == 77
    fix = LocationFix.objects.get(incident=incident)
    assert (fix.lat, fix.lon, fix.accuracy_m) == (51.054342, 3.717424, 8)
    assert fix.speed_mps == pytest.approx(10 * 1852 / 3600)
    assert fix.fix_at == datetime.fromtimestamp(1773476105, tz=UTC)
    assert fix.channel == Channel.OSMAND
    # a following position (no alarm) at any path below is stored: the window is open
    later = {"deviceid": ident, "timestamp": "1773476110000", "location": "51.0550,3.7180"}
    assert (
        client.post(
            BASE + "traccar/",
            data=urlencode(later),
            content_type="application/x-www-form-urlencoded",
        ).status_code
        == 200
    )
    assert incident.fixes.count() == 2


@pytest.mark.django_db
def test_an_alarm_without_a_position_is_an_alarm(ident: str, client: Client, frozen: Clock) -> None:
    assert client.get(BASE, {"id": ident, "alarm": "sos"}).status_code == 200
    incident = Incident.objects.get(unverified_reason="unsigned_protocol")
    assert not incident.fixes.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["extras", "location"])
def test_json_alarm_in_extras_or_location(
    ident: str, client: Client, frozen: Clock, where: str
) -> None:
    location: dict[str, Any] = {
        "timestamp": "2026-03-14T08:15:05Z",
        "coords": {
            "latitude": 51.06,
            "longitude": 3.73,
            "accuracy": 5,
            "speed": 2.5,
            "heading": 180,
            "altitude": 9,
        },
        "battery": {"level": 0.42, "is_charging": False},
    }
    if where == "extras":
        location["extras"] = {"alarm": "sos"}
    else:
        location["alarm"] = "sos"
    body = json.dumps({"location": location, "device_id": ident})
    assert client.post(BASE, data=body, content_type="application/json").status_code == 200
    incident = Incident.objects.get(unverified_reason="unsigned_protocol")
    assert incident.phone_battery_pct == 42
    fix = incident.fixes.get()
    assert (fix.lat, fix.speed_mps, fix.heading_deg) == (51.06, 2.5, 180)


@pytest.mark.django_db
def test_a_position_outside_an_incident_window_is_dropped_and_counts_as_heartbeat(
    ident: str, client: Client, frozen: Clock
) -> None:
    response = client.get(BASE, {"id": ident, "lat": "51.05", "lon": "3.72", "batt": "55"})
    assert response.status_code == 200
    assert not LocationFix.objects.exists()
    device = Device.objects.get(protocol="osmand")
    assert device.last_heartbeat_at == NOW
    assert device.phone_battery_pct == 55
    # after the tracking window the same holds for an incident that is still open
    client.get(BASE, {"id": ident, "alarm": "sos"})
    incident = Incident.objects.get(unverified_reason="unsigned_protocol")
    Incident.objects.filter(pk=incident.pk).update(track_until=NOW - timedelta(seconds=1))
    client.get(BASE, {"id": ident, "lat": "51.05", "lon": "3.72"})
    assert not LocationFix.objects.exists()


@pytest.mark.django_db
def test_a_units_identifier_moves_the_unit(demo: None, enabled: None, client: Client) -> None:
    unit = Unit.objects.order_by("pk").first()
    assert unit is not None
    ident = unit_osmand_id_issue(unit=unit, actor=Actor.system("t"))
    response = client.get(BASE, {"id": ident, "lat": "51.04", "lon": "3.70", "accuracy": "6"})
    assert response.status_code == 200
    position = UnitPosition.objects.filter(unit=unit, source="osmand").get()
    assert (position.lat, position.lon) == (51.04, 3.70)


@pytest.mark.django_db
def test_the_console_marks_an_osmand_alarm_unsigned(
    ident: str, client: Client, frozen: Clock
) -> None:
    from msa.accounts.models import User  # noqa: PLC0415

    client.get(BASE, {"id": ident, "alarm": "sos", "lat": "51.05", "lon": "3.72"})
    incident = Incident.objects.get(unverified_reason="unsigned_protocol")
    client.force_login(User.objects.get(username="operator"))
    html = client.get(f"/console/incidents/{incident.reference}/live/").content.decode()
    assert 'id="unsigned-protocol"' in html


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "lat",
                "lon",
                "timestamp",
                "speed",
                "bearing",
                "altitude",
                "accuracy",
                "batt",
                "alarm",
                "location",
                "hdop",
                "charge",
            ]
        ),
        st.one_of(st.text(max_size=20), st.integers().map(str), st.floats().map(str)),
        max_size=8,
    ),
    shape=st.sampled_from(["query", "form", "json"]),
)
@pytest.mark.django_db
def test_any_request_gets_a_defined_answer(
    ident: str, client: Client, frozen: Clock, params: dict[str, str], shape: str
) -> None:
    if shape == "query":
        response = client.get(BASE, {"id": ident, **params})
    elif shape == "form":
        response = client.post(
            BASE,
            data=urlencode({"id": ident, **params}),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        body = {"device_id": ident, "location": {"coords": params, "extras": params, **params}}
        response = client.post(BASE, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200


@pytest.mark.django_db
def test_the_command_line_enrols_osmand_devices_and_units(
    demo: None, enabled: None, client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    from msa.audit.models import AuditEntry  # noqa: PLC0415
    from msa.cli import main  # noqa: PLC0415

    assert main(["case", "list", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    elise = next(c for c in cases if c["victim_phone"] == "+32470000101")
    assert AuditEntry.objects.filter(action="case.list_victim_phones").exists()
    assert (
        main(["device", "enroll", "--case", elise["reference"], "--protocol", "osmand", "--json"])
        == 0
    )
    enrolled = json.loads(capsys.readouterr().out)
    assert enrolled["protocol"] == "osmand"
    assert len(enrolled["identifier"]) * 4 >= 128
    assert enrolled["server_url"].endswith("/api/osmand/v1/")
    assert client.get(BASE, {"id": enrolled["identifier"]}).status_code == 200
    assert main(["unit", "osmand-id", "G-12", "--json"]) == 0
    unit = json.loads(capsys.readouterr().out)
    assert (
        client.get(BASE, {"id": unit["identifier"], "lat": "51.1", "lon": "3.7"}).status_code == 200
    )
    assert Unit.objects.get(call_sign="G-12").positions.filter(source="osmand").count() == 1
    assert main(["unit", "osmand-id", "NOPE"]) == 2


@pytest.mark.django_db
def test_numbers_beyond_a_float_are_no_position(ident: str, client: Client, frozen: Clock) -> None:
    huge = "1" + "0" * 400  # JSON allows it; float() overflows
    body = (
        f'{{"device_id": "{ident}", "location": {{"timestamp": {huge}, "alarm": "sos",'
        f' "coords": {{"latitude": {huge}, "longitude": 3}}, "battery": {{"level": {huge}}}}}}}'
    )
    assert client.post(BASE, data=body, content_type="application/json").status_code == 200
    incident = Incident.objects.get(unverified_reason="unsigned_protocol")
    assert not incident.fixes.exists()
