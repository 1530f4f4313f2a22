"""The case pages, through HTTP, as each role uses them."""

from __future__ import annotations

import re

import pytest

from msa.accounts.models import User
from msa.audit.models import AuditEntry
from msa.cases.models import CaseTask, ProtectionCase
from msa.cases.states import CaseState
from msa.cases.tests import factories as h
from msa.cases.tests.factories import client_for
from msa.devices.models import Device, InventoryItem
from msa.devices.states import ItemStatus

pytestmark = pytest.mark.django_db


def test_the_whole_workflow_through_the_pages(demo: None) -> None:
    h.instrument()
    ref = client_for("reference")
    page = ref.get("/cases/new/")
    assert page.status_code == 200
    answer = ref.post(
        "/cases/new/",
        {
            "zone": User.objects.get(username="reference").memberships.get().organisation_id,
            "relation": "ex_partner",
            "victim_first_name": "Sofie",
            "victim_last_name": "Page",
            "victim_phone": "0470 12 34 56",
            "suspect_first_name": "Tom",
            "suspect_last_name": "Page",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    reference = re.search(r"/cases/([^/]+)/assess/", answer["Location"]).group(1)  # type: ignore[union-attr]
    case = ProtectionCase.objects.get(reference=reference)
    assert case.victim.phone_number == "+32470123456"

    form = ref.get(f"/cases/{reference}/assess/")
    assert b"bombshell" in form.content
    data = h.answers(strangulation="yes")
    answer = ref.post(f"/cases/{reference}/assess/", data)
    assert answer.status_code == 302
    listing = ref.get("/cases/")
    assert b"contact the prosecutor" in listing.content
    assert CaseTask.objects.filter(case=case, urgent=True).exists()

    ref.post(f"/cases/{reference}/step/submit/")
    magistrate = client_for("magistrate")
    assert magistrate.get(f"/cases/{reference}/decide/").status_code == 200
    answer = magistrate.post(
        f"/cases/{reference}/decide/",
        {
            "outcome": "approve",
            "reference": "PKGNT-2026-0042",
            "contact_ban": "on",
            "circle_label": "home",
            "circle_lat": "51.04",
            "circle_lon": "3.72",
            "circle_radius_m": "250",
            "zones_json": '[{"label": "work", "shape": "polygon", "rings": '
            "[[[51.05, 3.70], [51.06, 3.70], [51.06, 3.71]]]}]",
        },
    )
    assert answer.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseState.AWAITING_CONSENT
    assert case.decisions.get().zones.count() == 2

    ref.post(
        f"/cases/{reference}/step/consent/", {"given_at": "2026-03-02T10:00", "method": "written"}
    )
    case.refresh_from_db()
    assert case.status == CaseState.ENROLLING
    office = case.police_zone.prosecutor_office
    assert office is not None
    for kind in ("button", "phone", "sim"):
        ref.post(
            "/devices/inventory/", {"kind": kind, "serial": f"PG-{kind}", "district": office.pk}
        )
        item = InventoryItem.objects.get(serial=f"PG-{kind}")
        ref.post(f"/cases/{reference}/step/loan/", {"item": item.pk})
        item.refresh_from_db()
        assert item.status == ItemStatus.LOANED
    paired = ref.post(f"/cases/{reference}/pair/")
    assert b"<svg" in paired.content
    device_id = re.search(rb'id="device-id">([^<]+)<', paired.content).group(1).decode()  # type: ignore[union-attr]
    device = Device.objects.get(device_id=device_id)
    ref.post(f"/cases/{reference}/step/button_paired/")
    ref.post(f"/cases/{reference}/step/permissions_granted/")
    ref.post(f"/cases/{reference}/step/activate/")
    case.refresh_from_db()
    assert case.status == CaseState.ENROLLING  # no test alarm yet
    h.send_test_alarm(device)
    ref.post(f"/cases/{reference}/step/confirm_test/")
    ref.post(f"/cases/{reference}/step/activate/")
    case.refresh_from_db()
    assert case.status == CaseState.ACTIVE
    detail = ref.get(f"/cases/{reference}/")
    assert b"Sofie Page" in detail.content
    assert AuditEntry.objects.filter(action="dossier.read", subject_id=str(case.pk)).exists()


def test_who_sees_what(demo: None) -> None:
    """Role by role: the demo's GNT case 1 (team includes the support service)."""
    case = ProtectionCase.objects.filter(police_zone__code="GNT").order_by("id").first()
    assert case is not None
    url = f"/cases/{case.reference}/"
    name = case.victim.full_name.encode()
    suspect = case.suspect.full_name.encode()
    seen = {}
    for username in (
        "reference",
        "magistrate",
        "operator",
        "supervisor",
        "counsellor",
        "patrol",
        "analyst",
        "admin",
    ):
        page = client_for(username).get(url)
        seen[username] = (page.status_code, name in page.content, suspect in page.content)
    assert seen["reference"] == (200, True, True)
    assert seen["magistrate"] == (200, True, True)
    assert seen["operator"] == (200, False, False)  # summary until a reason or an open incident
    assert seen["supervisor"] == (200, False, False)
    assert seen["counsellor"] == (200, True, False)  # the team's view: no suspect
    assert seen["patrol"][0] == 404
    assert seen["analyst"][0] == 404
    assert seen["admin"][0] == 404


def test_a_centre_reader_sees_the_dossier_after_stating_a_reason(demo: None) -> None:
    case = ProtectionCase.objects.filter(police_zone__code="GNT").order_by("id").first()
    assert case is not None
    operator = client_for("operator")
    operator.post(
        f"/cases/{case.reference}/reason/", {"reason": "caller reports the suspect nearby"}
    )
    page = operator.get(f"/cases/{case.reference}/")
    assert case.victim.full_name.encode() in page.content
    entry = AuditEntry.objects.filter(action="dossier.read", subject_id=str(case.pk)).last()
    assert entry is not None
    assert entry.reason == "caller reports the suspect nearby"


def test_a_second_suspect_opens_a_second_case_for_the_same_victim(demo: None) -> None:
    first = ProtectionCase.objects.filter(police_zone__code="GNT").order_by("id").first()
    elsewhere = ProtectionCase.objects.filter(police_zone__code="HAW").first()
    assert first is not None
    assert elsewhere is not None
    ref = client_for("reference")
    zone = first.police_zone_id
    form = {
        "zone": zone,
        "relation": "family",
        "suspect_first_name": "Second",
        "suspect_last_name": "Suspect",
    }
    answer = ref.post("/cases/new/", {**form, "same_victim_as": first.reference})
    assert answer.status_code == 302
    assert first.victim.cases.count() == 2
    # a case the officer cannot see is "no such case", and nothing is created
    refused = ref.post("/cases/new/", {**form, "same_victim_as": elsewhere.reference})
    assert refused.status_code == 200
    assert b"No such case" in refused.content
    assert elsewhere.victim.cases.count() == 1
    # without either a name or a case, the form says what is missing
    missing = ref.post("/cases/new/", form)
    assert b"the case of the victim" in missing.content
