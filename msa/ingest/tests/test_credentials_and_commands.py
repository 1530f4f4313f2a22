"""Device credentials (enrol, QR, rotate, revoke) and their command line."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from msa.accounts.models import ApiToken
from msa.alarms.models import Incident
from msa.alarms.revocation import device_revoke
from msa.audit.models import AuditEntry
from msa.cases.models import ProtectionCase
from msa.cli import main
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.demo_data import demo_device_id
from msa.devices.models import Device
from msa.devices.services import device_credentials_issue, device_key_rotate
from msa.ingest.tests.moment import AT, NOW
from msa.realtime.models import IncidentEvent
from msa_protocol import parse_enrolment_qr
from tests.support.device import alarm_payload, body_bytes, signed_post
from tests.support.factories import press


def elise_case() -> ProtectionCase:
    return ProtectionCase.objects.get(victim__first_name="Elise")


@pytest.mark.django_db
def test_enrolment_issues_a_key_shown_once_as_qr_and_text(demo: None, frozen: Clock) -> None:
    credentials = device_credentials_issue(case=elise_case(), actor=Actor.system("t"))
    qr = parse_enrolment_qr(credentials.qr_text)
    assert qr.device_id == credentials.device.device_id
    assert qr.key == credentials.device.secret()
    assert qr.sms_number == "+32470099112"
    svg = credentials.qr_svg()
    assert svg.startswith("<svg")
    assert "</svg>" in svg
    # the key is never in the audit trail
    assert credentials.key_text not in json.dumps(
        list(AuditEntry.objects.values_list("new", flat=True)), default=str
    )


@pytest.mark.django_db
def test_a_rotated_key_replaces_the_old_one(demo: None, frozen: Clock, client: Client) -> None:
    device = Device.objects.get(device_id=demo_device_id(1))
    credentials = device_key_rotate(device=device, actor=Actor.system("t"))
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    old = signed_post(client, "/api/device/v1/alarms", body, now=NOW)
    assert old.json()["error"]["code"] == "invalid_signature"
    new = signed_post(
        client, "/api/device/v1/alarms", body, now=NOW, key=credentials.device.secret()
    )
    assert new.status_code == 201
    assert Device.objects.get(pk=device.pk).key_rotated_at == NOW


@pytest.mark.django_db
def test_revocation_in_one_action(demo: None, frozen: Clock, client: Client) -> None:
    incident = press(1, at=NOW).incident
    device = Device.objects.get(device_id=demo_device_id(1))
    assert device_revoke(device=device, actor=Actor.system("t"), reason="phone taken") == 1
    incident.refresh_from_db()
    assert incident.device_revoked_at == NOW
    assert IncidentEvent.objects.filter(incident=incident, type="alarm.device_revoked").exists()
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    response = signed_post(client, "/api/device/v1/alarms", body, now=NOW)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "device_revoked")
    assert device_revoke(device=device, actor=Actor.system("t")) == 0  # twice: nothing more
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_the_command_line(demo: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["case", "list", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert {"reference", "zone", "status", "devices"} <= set(cases[0])
    assert any(demo_device_id(1) in c["devices"] for c in cases)
    ref = elise_case().reference
    assert main(["device", "enroll", "--case", ref, "--json"]) == 0
    enrolled = json.loads(capsys.readouterr().out)
    assert parse_enrolment_qr(enrolled["qr_text"]).device_id == enrolled["device_id"]
    assert enrolled["sms_number"] == "+32470099112"
    assert main(["device", "enroll", "--case", "NOPE"]) == 2
    assert "no case" in capsys.readouterr().err
    assert main(["device", "revoke", enrolled["device_id"]]) == 0
    assert Device.objects.get(device_id=enrolled["device_id"]).status == "revoked"
    assert main(["device", "revoke", "nope"]) == 2
    capsys.readouterr()
    assert main(["token", "create", "--sms-gateway", "gw-1", "--json"]) == 0
    token = json.loads(capsys.readouterr().out)
    assert token["token"].startswith("msa_")
    assert ApiToken.objects.get(name="gw-1").kind == "sms_gateway"
    assert main(["token", "create", "--sms-gateway", "gw-1"]) == 2
    with pytest.raises(SystemExit):
        main(["token", "create"])  # a kind is required


@pytest.mark.django_db
def test_case_list_leaves_out_the_probe_unless_asked(
    demo: None, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = ProtectionCase.objects.exclude(victim__first_name="Elise").order_by("pk").first()
    assert probe is not None
    ProtectionCase.objects.filter(pk=probe.pk).update(is_probe=True)
    assert main(["case", "list", "--json"]) == 0
    listed = {c["reference"] for c in json.loads(capsys.readouterr().out)}
    assert probe.reference not in listed
    assert elise_case().reference in listed
    assert main(["case", "list"]) == 0
    assert probe.reference not in capsys.readouterr().out
    assert main(["case", "list", "--probes", "--json"]) == 0
    with_probes = {c["reference"] for c in json.loads(capsys.readouterr().out)}
    assert with_probes == listed | {probe.reference}
