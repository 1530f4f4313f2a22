"""GET /api/cic/v1/incidents/{ref}/eido: the EIDO checked against docs/interop.md section 3,
its PIDF-LO read with an XML parser, and each read audited."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from msa.accounts.models import Organisation, OrgKind, TokenKind
from msa.accounts.tokens import token_create
from msa.alarms.services.aml import AmlInput, aml_report_attach
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.models import IncidentNote, Unit
from msa.dispatch.services.dispatching import dispatch_create
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
ACTOR = Actor.system("test")
NS = {
    "p": "urn:ietf:params:xml:ns:pidf",
    "gp": "urn:ietf:params:xml:ns:pidf:geopriv10",
    "gml": "http://www.opengis.net/gml",
    "gs": "http://www.opengis.net/pidflo/1.0",
}
META = ("$id", "lastUpdateTimeStamp", "updatedByAgencyReference")
COMPONENTS = (
    "agencyComponent",
    "incidentComponent",
    "locationComponent",
    "personComponent",
    "vehicleComponent",
    "cautionComponent",
    "alarmsSensorsComponent",
    "notesComponent",
    "dispatchComponent",
)
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


def _check_meta(component: dict[str, Any], where: str) -> None:
    for key in META:
        assert key in component, f"{where} lacks {key}"
    assert TIME.match(component["lastUpdateTimeStamp"]), where
    assert component["updatedByAgencyReference"]["$ref"].startswith("urn:msa:agency:")


def _circle(pidf: str) -> tuple[float, float, float, str]:
    root = ET.fromstring(pidf)
    assert root.tag == "{urn:ietf:params:xml:ns:pidf}presence"
    info = root.find("p:tuple/p:status/gp:geopriv/gp:location-info", NS)
    assert info is not None
    circle = info.find("gs:Circle", NS)
    assert circle is not None
    assert circle.get("srsName") == "urn:ogc:def:crs:EPSG::4326"
    pos = circle.find("gml:pos", NS)
    radius = circle.find("gs:radius", NS)
    assert pos is not None
    assert radius is not None
    assert pos.text
    assert radius.text
    assert radius.get("uom") == "urn:ogc:def:uom:EPSG::9001"
    method = root.find("p:tuple/p:status/gp:geopriv/gp:method", NS)
    stamp = root.find("p:tuple/p:timestamp", NS)
    assert method is not None
    assert method.text
    assert stamp is not None
    assert stamp.text
    assert TIME.match(stamp.text)
    lat, lon = (float(x) for x in pos.text.split())
    return lat, lon, float(radius.text), method.text


@pytest.mark.django_db
def test_the_eido_follows_the_rules_and_keeps_aml_apart(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    raised = press(at=NOW, lat=51.05, lon=3.72)
    incident = raised.incident
    aml_report_attach(
        case=incident.case,
        position=AmlInput(lat=51.061, lon=3.734, radius_m=25, fix_at=NOW, method="wifi"),
        shape="sms_v1",
        call_at=None,
        actor=ACTOR,
    )
    IncidentNote.objects.create(incident=incident, text="door locked", author_label="op", at=NOW)
    Unit.objects.update(position_at=None)  # seeded at the real time, after NOW
    unit = Unit.objects.get(call_sign="G-12")
    dispatch_create(incident=incident, unit_ids=[unit.pk], actor=ACTOR)
    token = token_create(
        kind=TokenKind.INTEGRATION, name="cad", actor=ACTOR, organisation=incident.centre
    ).plain
    url = f"/api/cic/v1/incidents/{incident.reference}/eido"
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    eido = response.json()

    assert eido["eidoVersion"] == "1.0"
    assert eido["issuingElementIdentification"]
    _check_meta(eido, "the object")
    for name in COMPONENTS:
        assert name in eido, name
        parts = eido[name] if isinstance(eido[name], list) else [eido[name]]
        for part in parts:
            _check_meta(part, name)
    ids = [eido["$id"]] + [
        p["$id"]
        for name in COMPONENTS
        for p in (eido[name] if isinstance(eido[name], list) else [eido[name]])
    ]
    assert len(ids) == len(set(ids)), "every $id is unique"
    assert eido["incidentComponent"]["incidentTrackingIdentifier"] == incident.reference
    assert eido["incidentComponent"]["incidentStatusCommonRegistryText"] == ["dispatched"]

    device = [
        c for c in eido["locationComponent"] if c["locationTypeDescriptionRegistryText"] == "Caller"
    ]
    aml = [
        c
        for c in eido["locationComponent"]
        if c["locationTypeDescriptionRegistryText"] == "Caller AML"
    ]
    assert len(device) == 1
    assert len(aml) == 1
    assert _circle(device[0]["locationByValue"])[:3] == (51.05, 3.72, 10.0)
    assert _circle(device[0]["locationByValue"])[3] == "GPS"
    assert _circle(aml[0]["locationByValue"])[:3] == (51.061, 3.734, 25.0)

    roles = {p["personRoleRegistryText"]: p for p in eido["personComponent"]}
    assert set(roles) == {"Victim", "Suspect"}
    caution_ids = {c["$id"] for c in eido["cautionComponent"]}
    assert roles["Suspect"]["cautionReference"][0]["$ref"] in caution_ids
    assert "Restraining order" in eido["cautionComponent"][0]["cautionTypeRegistryText"]
    assert eido["alarmsSensorsComponent"][0]["alarmTriggerText"] == "button"
    assert [n["noteText"] for n in eido["notesComponent"]] == ["door locked"]
    assert [d["unitIdentifier"] for d in eido["dispatchComponent"]] == ["G-12"]

    reads = AuditEntry.objects.filter(action="incident.eido_read", subject_id=str(incident.pk))
    assert reads.count() == 1
    client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert reads.count() == 2


@pytest.mark.django_db
def test_another_centres_token_gets_404(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    other = Organisation.objects.create(kind=OrgKind.CIC, name="CIC Antwerpen", code="ANT")
    token = token_create(
        kind=TokenKind.INTEGRATION, name="cad-x", actor=ACTOR, organisation=other
    ).plain
    response = client.get(
        f"/api/cic/v1/incidents/{incident.reference}/eido",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert client.get(f"/api/cic/v1/incidents/{incident.reference}/eido").status_code == 401
