"""POST /api/device/v1/alarms, line by line of protocol.md."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from msa.alarms.models import Incident, LocationFix, RepeatPress
from msa.audit.models import AuditEntry
from msa.cases.models import ProtectionCase
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.devices.models import Device
from msa.devices.services import device_enroll
from msa.devices.states import DeviceStatus
from msa.ingest.tests.moment import AT, NOW
from msa.realtime.models import IncidentEvent
from msa_protocol import decode_key, signed_headers
from tests.support.device import alarm_payload, body_bytes, signed_post

PATH = "/api/device/v1/alarms"

VECTOR_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
VECTOR_BODY = (
    b'{"alarm_id":"5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21","trigger":"button",'
    b'"pressed_at":"2026-03-14T08:15:02Z","location":{"lat":51.054342,"lon":3.717424,'
    b'"accuracy_m":12,"fix_at":"2026-03-14T08:15:00Z","source":"gps"}}'
)
VECTOR_SIGNATURE = "7e1b621d2d2ac43da1e39db780f3b1247a068e5ad719f3909a5e6839036794d3"


def error_of(response: Any) -> dict[str, Any]:
    body = json.loads(response.content)
    assert set(body) >= {"error"}
    error: dict[str, Any] = body["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def nothing_stored() -> bool:
    return not Incident.objects.exists() and not LocationFix.objects.exists()


@pytest.mark.django_db
def test_the_protocol_test_vector_is_accepted(demo: None, frozen: Clock, client: Client) -> None:
    case = ProtectionCase.objects.get(reference__startswith="GNT-C", victim__first_name="Elise")
    device_enroll(
        case=case,
        actor=Actor.system("test"),
        device_id="dev-7KQ2",
        key=decode_key(VECTOR_KEY),
    )
    response = client.post(
        PATH,
        data=VECTOR_BODY,
        content_type="application/json",
        headers={
            "X-MSA-Device": "dev-7KQ2",
            "X-MSA-Timestamp": "1773476103",
            "X-MSA-Signature": VECTOR_SIGNATURE,
        },
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["alarm_id"] == "5f0c7c1e-8a0b-4d57-9a3e-2f1d9b6c4e21"
    assert answer["incident"].startswith("GNT-2026-")
    assert answer["report_interval_s"] == 10
    incident = Incident.objects.get(reference=answer["incident"])
    assert incident.alarm_ref == "5f0c7c1e"
    assert incident.fixes.count() == 1


@pytest.mark.django_db
def test_a_press_writes_incident_fix_event_and_audit(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = str(uuid.uuid4())
    response = signed_post(client, PATH, body_bytes(alarm_payload(alarm_id, AT)), now=NOW)
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(alarm_id=alarm_id)
    assert incident.status == "received"
    assert incident.lane == "live"
    assert incident.channels == ["data"]
    assert incident.call_state == "dialing"
    assert incident.track_until is None  # open until the call ends
    assert (incident.phone_battery_pct, incident.button_battery_pct) == (80, 60)
    assert incident.fixes.get().accuracy_m == 12
    event = IncidentEvent.objects.get(incident=incident)
    assert event.type == "alarm.raised"
    assert event.seq == 1
    assert AuditEntry.objects.filter(action="incident.raise", subject_id=str(incident.pk)).exists()
    assert incident.transitions.get().to_state == "received"


@pytest.mark.django_db
def test_the_same_alarm_id_again_answers_200_and_creates_nothing(
    demo: None, frozen: Clock, client: Client
) -> None:
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    first = signed_post(client, PATH, body, now=NOW)
    second = signed_post(client, PATH, body, now=NOW)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Incident.objects.count() == 1
    assert IncidentEvent.objects.count() == 1


@pytest.mark.django_db
def test_an_alarm_without_a_position_is_still_an_alarm(
    demo: None, frozen: Clock, client: Client
) -> None:
    for location in (None, {"lat": 0, "lon": 0, "accuracy_m": 0, "fix_at": AT, "source": "gps"}):
        payload = alarm_payload(str(uuid.uuid4()), AT, location=location, call=None)
        response = signed_post(client, PATH, body_bytes(payload), now=NOW)
        assert response.status_code == 201, response.content
        assert response.json()["track_until"] == "2026-03-14T10:15:03Z"
    # the second press joined the first's open incident as a repeat press (issue 11)
    assert Incident.objects.count() == 1
    assert RepeatPress.objects.count() == 1
    assert not LocationFix.objects.exists()


@pytest.mark.django_db
def test_a_test_alarm_goes_to_the_test_lane(demo: None, frozen: Clock, client: Client) -> None:
    payload = alarm_payload(str(uuid.uuid4()), AT, trigger="test")
    assert signed_post(client, PATH, body_bytes(payload), now=NOW).status_code == 201
    assert Incident.objects.get().lane == "test"


@pytest.mark.django_db
def test_unknown_device(demo: None, frozen: Clock, client: Client) -> None:
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    response = signed_post(client, PATH, body, now=NOW, device_id="dev-nobody")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unknown_device"
    assert nothing_stored()


@pytest.mark.django_db
def test_missing_headers_are_an_unknown_device(demo: None, client: Client) -> None:
    response = client.post(PATH, data=b"{}", content_type="application/json")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unknown_device"


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["body", "key", "path", "timestamp", "missing"])
def test_invalid_signature(demo: None, frozen: Clock, client: Client, tamper: str) -> None:
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    kwargs: dict[str, Any] = {}
    if tamper == "key":
        kwargs["key"] = bytes(32)
    if tamper == "timestamp":
        kwargs["timestamp"] = int(NOW.timestamp()) - 1
    headers = signed_headers(
        "dev-demo-1",
        kwargs.get("key", Device.objects.get(device_id="dev-demo-1").secret()),
        "POST",
        "/api/device/v1/heartbeat" if tamper == "path" else PATH,
        body,
        kwargs.get("timestamp", int(NOW.timestamp())),
    )
    if tamper == "timestamp":
        headers["X-MSA-Timestamp"] = str(int(NOW.timestamp()))
    if tamper == "missing":
        del headers["X-MSA-Signature"]
    sent = body.replace(b"button", b"app") if tamper == "body" else body
    response = client.post(PATH, data=sent, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_signature"
    assert nothing_stored()


@pytest.mark.django_db
def test_revoked_device_is_answered_device_revoked_and_its_press_still_shown(
    demo: None, frozen: Clock, client: Client
) -> None:
    Device.objects.filter(device_id="dev-demo-1").update(status=DeviceStatus.REVOKED)
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    response = signed_post(client, PATH, body, now=NOW)
    assert response.status_code == 401
    assert error_of(response)["code"] == "device_revoked"
    incident = Incident.objects.get()
    assert incident.flags == ["device_revoked"]
    assert incident.lane == "live"
    raised = IncidentEvent.objects.get(incident=incident, type="alarm.raised")
    assert raised.payload["flags"] == ["device_revoked"]
    # the same request again (the phone retries): still one incident, the same answer
    again = signed_post(client, PATH, body, now=NOW)
    assert (again.status_code, error_of(again)["code"]) == (401, "device_revoked")
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_revoked_device_with_a_bad_signature_records_nothing(
    demo: None, frozen: Clock, client: Client
) -> None:
    Device.objects.filter(device_id="dev-demo-1").update(status=DeviceStatus.REVOKED)
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    response = signed_post(client, PATH, body, now=NOW, key=b"\x01" * 32)
    assert error_of(response)["code"] == "invalid_signature"
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-301, 301])
def test_clock_skew_carries_the_server_time(
    demo: None, frozen: Clock, client: Client, offset: int
) -> None:
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    response = signed_post(client, PATH, body, now=NOW + timedelta(seconds=offset))
    assert response.status_code == 401
    assert error_of(response)["code"] == "clock_skew"
    assert response.json()["server_time"] == "2026-03-14T08:15:03Z"
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-300, 300])
def test_the_window_edges_are_accepted(
    demo: None, frozen: Clock, client: Client, offset: int
) -> None:
    body = body_bytes(alarm_payload(str(uuid.uuid4()), AT))
    response = signed_post(client, PATH, body, now=NOW + timedelta(seconds=offset))
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
def test_malformed(demo: None, frozen: Clock, client: Client, body: bytes) -> None:
    response = signed_post(client, PATH, body, now=NOW)
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed"
    assert nothing_stored()


INVALID = [
    ({"alarm_id": "not-a-uuid"}, "alarm_id"),
    ({"trigger": "panic"}, "trigger"),
    ({"pressed_at": "2026-03-14T08:15:02"}, "pressed_at"),  # naive
    ({"pressed_at": 1773476102}, "pressed_at"),
    (
        {"location": {"lat": 91, "lon": 3, "accuracy_m": 1, "fix_at": AT, "source": "gps"}},
        "location.lat",
    ),
    (
        {"location": {"lat": 51, "lon": 3, "accuracy_m": -1, "fix_at": AT, "source": "gps"}},
        "location.accuracy_m",
    ),
    (
        {"location": {"lat": "51", "lon": 3, "accuracy_m": 1, "fix_at": AT, "source": "gps"}},
        "location.lat",
    ),
    (
        {"location": {"lat": 51, "lon": 3, "accuracy_m": 1, "fix_at": AT, "source": "moon"}},
        "location.source",
    ),
    (
        {
            "location": {
                "lat": 51,
                "lon": 3,
                "accuracy_m": 1,
                "fix_at": "2026-03-14T08:20:04Z",
                "source": "gps",
            }
        },
        "location.fix_at",
    ),
    ({"battery": {"phone_pct": 101}}, "battery.phone_pct"),
    ({"call": {"state": "ringing"}}, "call.state"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("override", "path"), INVALID)
def test_validation_error_names_the_field(
    demo: None, frozen: Clock, client: Client, override: dict[str, Any], path: str
) -> None:
    payload = alarm_payload(str(uuid.uuid4()), AT, **override)
    response = signed_post(client, PATH, body_bytes(payload), now=NOW)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert path in error["fields"], error["fields"]
    assert nothing_stored()


@pytest.mark.django_db
def test_missing_field_and_nan(demo: None, frozen: Clock, client: Client) -> None:
    payload = alarm_payload(str(uuid.uuid4()), AT)
    del payload["pressed_at"]
    response = signed_post(client, PATH, body_bytes(payload), now=NOW)
    assert error_of(response)["fields"].keys() == {"pressed_at"}
    nan_body = body_bytes(alarm_payload(str(uuid.uuid4()), AT)).replace(b"51.054342", b"NaN")
    response = signed_post(client, PATH, nan_body, now=NOW)
    assert response.status_code == 400
    assert "location.lat" in error_of(response)["fields"]
    assert nothing_stored()


@pytest.mark.django_db
def test_too_large(demo: None, frozen: Clock, client: Client) -> None:
    payload = alarm_payload(str(uuid.uuid4()), AT, padding="x" * (64 * 1024))
    response = signed_post(client, PATH, body_bytes(payload), now=NOW)
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"
    assert nothing_stored()


@pytest.mark.django_db
def test_the_openapi_document_is_served_unsigned(client: Client) -> None:
    response = client.get("/api/device/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/device/v1/alarms" in document["paths"]
