"""POST /api/sms/v1/inbound: every rule of protocol.md's "Fallback SMS"."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from msa.accounts.models import TokenKind, User
from msa.accounts.tokens import token_create
from msa.alarms.models import Incident
from msa.alarms.revocation import device_revoke
from msa.alarms.states import IncidentState
from msa.cases.models import ProtectionCase
from msa.cases.states import CaseState
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.demo_data import demo_device_id, demo_device_key
from msa.devices.models import Device
from msa.devices.services import device_enroll
from msa.ingest.models import InboundSms
from msa.ingest.selectors import incident_sms, rejected_sms_log
from msa.realtime.models import IncidentEvent
from msa_protocol import decode_key, format_fallback_sms
from tests.support.device import alarm_payload, body_bytes, signed_post

PATH = "/api/sms/v1/inbound"
NOW = datetime(2026, 3, 14, 8, 15, 10, tzinfo=UTC)
PRESS = datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
VICTIM_PHONE = "+32470000101"  # demo victim 1 (Elise), enrolled on an active case
STRANGER = "+32470999999"
VECTOR_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
VECTOR_SMS = "MSA1 dev-7KQ2 5f0c7c1e 1773476102 51.05434 3.71742 12 BN KH2LBTP7Y4"
VECTOR_SMS_NO_FIX = "MSA1 dev-7KQ2 5f0c7c1e 1773476102 - - - BG ISKLDJWNDS"


@pytest.fixture
def frozen(clock: Clock) -> Clock:
    clock.freeze(NOW)
    return clock


@pytest.fixture
def token(demo: None) -> str:
    return token_create(kind=TokenKind.SMS_GATEWAY, name="gw-test", actor=Actor.system("t")).plain


@pytest.fixture
def vector_device(demo: None) -> None:
    case = ProtectionCase.objects.get(victim__first_name="Elise")
    device_enroll(
        case=case, actor=Actor.system("t"), device_id="dev-7KQ2", key=decode_key(VECTOR_KEY)
    )


_ids = iter(range(1, 10_000))


def deliver(
    client: Client,
    token: str,
    text: str,
    *,
    sender: str = STRANGER,
    message_id: str | None = None,
) -> Any:
    body = {
        "id": message_id or f"gw-{next(_ids)}",
        "from": sender,
        "to": "+32470099112",
        "text": text,
        "received_at": "2026-03-14T08:15:09Z",
    }
    return client.post(
        PATH,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def demo_sms(alarm_id: uuid.UUID, *, reason: str = "N", trigger: str = "button", **kw: Any) -> str:
    args: dict[str, Any] = {
        "key": demo_device_key(1),
        "device_id": demo_device_id(1),
        "alarm_id": alarm_id,
        "pressed_at_unix": int(PRESS.timestamp()),
        "lat": 51.05434,
        "lon": 3.71742,
        "accuracy_m": 12,
        "trigger": trigger,
        "reason": reason,
    }
    args.update(kw)
    return format_fallback_sms(**args)


# --- the gateway -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_wrong_or_missing_token_is_401(token: str, client: Client) -> None:
    for headers in ({}, {"Authorization": "Bearer msa_wrong"}, {"Authorization": token}):
        response = client.post(PATH, data="{}", content_type="application/json", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"
    assert not InboundSms.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "malformed"),
        (b"[]", "malformed"),
        (b'{"id": "1"}', "validation_error"),
        (b'{"id": 1, "from": "+32", "to": "", "text": "", "received_at": "x"}', "validation_error"),
    ],
)
def test_a_malformed_delivery_is_400(token: str, client: Client, body: bytes, code: str) -> None:
    response = client.post(
        PATH,
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not InboundSms.objects.exists()


# --- verified SMS ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_protocol_vectors_raise_one_alarm_and_a_redelivery_is_harmless(
    token: str, vector_device: None, frozen: Clock, client: Client
) -> None:
    frozen.freeze(datetime(2026, 3, 14, 8, 15, 20, tzinfo=UTC))
    first = deliver(client, token, VECTOR_SMS, message_id="m-1")
    assert first.status_code == 200
    ref = first.json()["incident"]
    assert first.json() == {"result": "raised", "incident": ref}
    incident = Incident.objects.get(reference=ref)
    assert incident.channels == ["sms"]
    assert incident.alarm_ref == "5f0c7c1e"
    assert incident.alarm_id is None
    assert incident.device is not None
    assert incident.device.device_id == "dev-7KQ2"
    assert incident.fixes.get().channel == "sms"
    again = deliver(client, token, VECTOR_SMS, message_id="m-1")
    assert again.json() == {"result": "duplicate", "incident": ref}
    # the ghost-call SMS of the same press joins the same incident
    ghost = deliver(client, token, VECTOR_SMS_NO_FIX, message_id="m-2")
    assert ghost.json() == {"result": "merged", "incident": ref}  # it brings the ghost call
    assert Incident.objects.count() == 1
    incident.refresh_from_db()
    assert incident.call_state == "ghost"
    assert InboundSms.objects.count() == 2


@pytest.mark.django_db
def test_sms_first_then_the_data_alarm_is_one_incident(
    token: str, frozen: Clock, client: Client
) -> None:
    alarm_id = uuid.uuid4()
    sms = deliver(client, token, demo_sms(alarm_id))
    assert sms.json()["result"] == "raised"
    payload = alarm_payload(str(alarm_id), "2026-03-14T08:15:02Z")
    data = signed_post(client, "/api/device/v1/alarms", body_bytes(payload), now=NOW)
    assert data.status_code == 200, data.content  # the centre already knew of the press
    assert data.json()["incident"] == sms.json()["incident"]
    incident = Incident.objects.get()
    assert incident.channels == ["sms", "data"]
    assert incident.alarm_id == alarm_id
    added = IncidentEvent.objects.filter(incident=incident, type="alarm.channel_added")
    assert [e.payload["channel"] for e in added] == ["data"]
    # the data alarm again: still one incident, nothing new
    again = signed_post(client, "/api/device/v1/alarms", body_bytes(payload), now=NOW)
    assert again.status_code == 200
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_data_first_then_the_sms_is_merged(token: str, frozen: Clock, client: Client) -> None:
    alarm_id = uuid.uuid4()
    payload = alarm_payload(str(alarm_id), "2026-03-14T08:15:02Z")
    data = signed_post(client, "/api/device/v1/alarms", body_bytes(payload), now=NOW)
    assert data.status_code == 201
    sms = deliver(client, token, demo_sms(alarm_id, reason="G"))
    assert sms.json() == {"result": "merged", "incident": data.json()["incident"]}
    incident = Incident.objects.get()
    assert incident.channels == ["data", "sms"]
    assert incident.call_state == "ghost"


@pytest.mark.django_db
def test_a_test_sms_goes_to_the_test_lane(token: str, frozen: Clock, client: Client) -> None:
    deliver(client, token, demo_sms(uuid.uuid4(), trigger="test"))
    assert Incident.objects.get().lane == "test"


@pytest.mark.django_db
def test_a_late_sms_shows_its_delay(token: str, frozen: Clock, client: Client) -> None:
    frozen.advance(timedelta(minutes=25))
    deliver(client, token, demo_sms(uuid.uuid4()))
    event = IncidentEvent.objects.get(type="alarm.raised")
    assert event.payload["delay_s"] == 25 * 60 + 8
    # closed, so that the next press raises its own incident instead of joining as a repeat
    Incident.objects.update(status=IncidentState.CLOSED, closed_at=frozen.now())
    fresh = uuid.uuid4()
    deliver(client, token, demo_sms(fresh, pressed_at_unix=int(frozen.now().timestamp()) - 30))
    latest = IncidentEvent.objects.filter(type="alarm.raised").order_by("-seq").first()
    assert latest is not None
    assert latest.payload["delay_s"] is None


@pytest.mark.django_db
def test_a_replay_never_reopens_a_closed_incident(
    token: str, frozen: Clock, client: Client
) -> None:
    alarm_id = uuid.uuid4()
    text = demo_sms(alarm_id)
    ref = deliver(client, token, text).json()["incident"]
    Incident.objects.filter(reference=ref).update(status=IncidentState.CLOSED, closed_at=NOW)
    frozen.advance(timedelta(hours=3))
    replay = deliver(client, token, text)  # a new gateway id, the same text
    assert replay.json() == {"result": "duplicate", "incident": ref}
    incident = Incident.objects.get()
    assert incident.status == "closed"
    assert incident.channels == ["sms"]
    assert InboundSms.objects.filter(reason="closed_incident").count() == 1


# --- unverified SMS and the rejected-SMS log ---------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: t[:-10] + "AAAAAAAAAA", "bad_mac"),
        (lambda t: t.rsplit(" ", 1)[0], "missing_mac"),
        (lambda t: "HELP ME", "not_msa"),
    ],
)
def test_the_enrolled_number_of_an_active_case_raises_an_unverified_alarm(
    token: str, frozen: Clock, client: Client, mangle: Any, reason: str
) -> None:
    text = mangle(demo_sms(uuid.uuid4()))
    response = deliver(client, token, text, sender="0470 00 01 01")  # normalised to E.164
    assert response.json()["result"] == "raised"
    incident = Incident.objects.get()
    assert incident.channels == ["unverified_sms"]
    assert incident.unverified_reason == reason
    assert incident.case.victim.first_name == "Elise"
    event = IncidentEvent.objects.get(type="alarm.raised")
    assert event.payload["unverified_reason"] == reason
    assert VICTIM_PHONE not in json.dumps(event.payload)
    assert InboundSms.objects.get().reason == reason


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HELLO", "not_msa"),
        ("MSA2 x", "bad_version"),
        ("MSA1 dev-nobody 5f0c7c1e 1773476102 - - - BN ABCDEFGHIJ", "unknown_device"),
        (None, "bad_mac"),
    ],
)
def test_anything_else_is_rejected_and_logged_with_its_reason(
    token: str, frozen: Clock, client: Client, text: str | None, reason: str
) -> None:
    text = text or demo_sms(uuid.uuid4())[:-10] + "AAAAAAAAAA"
    response = deliver(client, token, text, sender=STRANGER)
    assert response.status_code == 200
    assert response.json() == {"result": "rejected", "incident": None}
    assert not Incident.objects.exists()
    logged = InboundSms.objects.get()
    assert (logged.result, logged.reason) == ("rejected", reason)
    assert logged.text == text  # kept (encrypted at rest) for the review


@pytest.mark.django_db
def test_the_enrolled_number_of_an_ended_case_is_rejected(
    token: str, frozen: Clock, client: Client
) -> None:
    ProtectionCase.objects.filter(victim__first_name="Elise").update(status=CaseState.ENDED)
    response = deliver(client, token, "HELP", sender=VICTIM_PHONE)
    assert response.json() == {"result": "rejected", "incident": None}


@pytest.mark.django_db
def test_a_revoked_device_s_signed_sms_raises_a_flagged_alarm(
    token: str, frozen: Clock, client: Client
) -> None:
    device_revoke(device=Device.objects.get(device_id=demo_device_id(1)), actor=Actor.system("t"))
    response = deliver(client, token, demo_sms(uuid.uuid4()), sender=STRANGER)
    assert response.json()["result"] == "raised"
    incident = Incident.objects.get(reference=response.json()["incident"])
    assert incident.flags == ["device_revoked"]
    assert incident.channels == ["sms"]


@pytest.mark.django_db
def test_a_revoked_device_s_bad_mac_is_not_trusted(
    token: str, frozen: Clock, client: Client
) -> None:
    device_revoke(device=Device.objects.get(device_id=demo_device_id(1)), actor=Actor.system("t"))
    text = demo_sms(uuid.uuid4(), key=b"\x07" * 32)
    response = deliver(client, token, text, sender=STRANGER)
    assert response.json()["result"] == "rejected"
    assert InboundSms.objects.get().reason == "device_revoked"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["id", "from", "to", "text"])
def test_a_nul_character_is_a_validation_error_not_a_database_error(
    token: str, client: Client, field: str
) -> None:
    body = {
        "id": "nul-1",
        "from": STRANGER,
        "to": "+32470099112",
        "text": "HELP",
        "received_at": "2026-03-14T08:15:09Z",
    }
    body[field] = "a\x00b"
    response = client.post(
        PATH,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_the_rejected_sms_log_is_for_console_staff(
    token: str, frozen: Clock, client: Client
) -> None:

    deliver(client, token, "HELLO")
    deliver(client, token, demo_sms(uuid.uuid4()))
    operator = User.objects.get(username="operator")
    counsellor = User.objects.get(username="counsellor")
    assert [m.reason for m in rejected_sms_log(operator)] == ["not_msa"]
    assert not rejected_sms_log(counsellor).exists()
    incident = Incident.objects.get()
    assert [m.result for m in incident_sms(incident)] == ["raised"]
