"""Issue 11, "An alarm is never dropped": revoked devices and ended cases, repeat presses,
retries that differ, and tracking windows that stay closed."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client, override_settings

from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_create
from msa.alarms.models import Incident, LocationFix, RepeatPress
from msa.alarms.states import IncidentState
from msa.cases.models import ProtectionCase
from msa.cases.states import CaseState
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.demo_data import demo_device_id, demo_device_key
from msa.devices.models import Device
from msa.dispatch.selectors import incident_timeline
from msa.ingest.tests.moment import AT, NOW
from msa.messaging.models import OutboundMessage
from msa.realtime.models import IncidentEvent
from msa_protocol import format_fallback_sms
from tests.support.device import alarm_payload, body_bytes, signed_post

PATH = "/api/device/v1/alarms"
VICTIM_PHONE = "+32470000101"  # demo victim 1 (Elise), enrolled on an active case
ACTOR = Actor.system("test")


def press(client: Client, now: datetime, alarm_id: str | None = None, **overrides: Any) -> Any:
    payload = alarm_payload(alarm_id or str(uuid.uuid4()), AT, **overrides)
    return signed_post(client, PATH, body_bytes(payload), now=now)


def sms(client: Client, text: str, *, sender: str = "+32470999999") -> Any:
    token = token_create(kind=TokenKind.SMS_GATEWAY, name=f"gw-{uuid.uuid4()}", actor=ACTOR).plain
    body = {
        "id": f"gw-{uuid.uuid4()}",
        "from": sender,
        "to": "+32470099112",
        "text": text,
        "received_at": "2026-03-14T08:15:09Z",
    }
    return client.post(
        "/api/sms/v1/inbound",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def demo_sms(alarm_id: uuid.UUID, *, trigger: str = "button") -> str:
    return format_fallback_sms(
        key=demo_device_key(1),
        device_id=demo_device_id(1),
        alarm_id=alarm_id,
        pressed_at_unix=int(NOW.timestamp()) - 1,
        lat=51.05434,
        lon=3.71742,
        accuracy_m=12,
        trigger=trigger,
        reason="N",
    )


def end_case_of_demo_device() -> None:
    ProtectionCase.objects.filter(devices__device_id=demo_device_id(1)).update(
        status=CaseState.ENDED
    )


def integration_flags(client: Client, incident: Incident) -> list[str]:
    token = token_create(
        kind=TokenKind.INTEGRATION, name="cad-test", actor=ACTOR, organisation=incident.centre
    ).plain
    response = client.get(
        f"/api/cic/v1/incidents/{incident.reference}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    flags: list[str] = response.json()["flags"]
    return flags


# --- revoked devices and ended cases ---------------------------------------------------------


@pytest.mark.django_db
def test_a_press_of_an_ended_case_is_raised_and_flagged(
    demo: None, frozen: Clock, client: Client
) -> None:
    end_case_of_demo_device()
    response = press(client, NOW)
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(reference=response.json()["incident"])
    assert incident.flags == ["case_ended"]
    assert incident.status == IncidentState.RECEIVED
    raised = IncidentEvent.objects.get(incident=incident, type="alarm.raised")
    assert raised.payload["flags"] == ["case_ended"]
    assert integration_flags(client, incident) == ["case_ended"]


@pytest.mark.django_db
def test_the_fallback_sms_of_an_ended_case_is_raised_and_flagged(
    demo: None, frozen: Clock, client: Client
) -> None:
    end_case_of_demo_device()
    response = sms(client, demo_sms(uuid.uuid4()))
    assert response.json()["result"] == "raised"
    incident = Incident.objects.get(reference=response.json()["incident"])
    assert incident.flags == ["case_ended"]


@pytest.mark.django_db
def test_a_revoked_device_s_press_reaches_the_integration_feed_flagged(
    demo: None, frozen: Clock, client: Client
) -> None:
    Device.objects.filter(device_id=demo_device_id(1)).update(status="revoked")
    response = press(client, NOW)
    assert response.json()["error"]["code"] == "device_revoked"
    incident = Incident.objects.get()
    assert integration_flags(client, incident) == ["device_revoked"]


# --- repeat presses ------------------------------------------------------------------------


@pytest.mark.django_db
def test_repeated_presses_join_the_open_incident(demo: None, frozen: Clock, client: Client) -> None:
    first = press(client, NOW)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for alarm_id in ids:
        repeat = press(client, NOW, alarm_id)
        assert repeat.status_code == 201, repeat.content  # never refused
        assert repeat.json()["incident"] == first.json()["incident"]
    incident = Incident.objects.get()
    assert RepeatPress.objects.filter(incident=incident).count() == 3
    counts = [
        e.payload["count"]
        for e in IncidentEvent.objects.filter(type="alarm.repeat_press").order_by("seq")
    ]
    assert counts == [1, 2, 3]
    labels = [entry.label for entry in incident_timeline(incident)]
    assert labels.count("repeat press") == 3
    # a retry of a repeat press is that press again, not one more
    again = press(client, NOW, ids[0])
    assert again.status_code == 200
    assert RepeatPress.objects.count() == 3
    # the follow-ups of a repeat press find the incident
    fix = {
        "lat": 51.06,
        "lon": 3.72,
        "accuracy_m": 9,
        "fix_at": "2026-03-14T08:15:03Z",
        "source": "gps",
    }
    path = f"/api/device/v1/alarms/{ids[1]}/locations"
    located = signed_post(client, path, body_bytes({"fixes": [fix]}), now=NOW)
    assert located.status_code == 200, located.content
    assert LocationFix.objects.filter(incident=incident, lat=51.06).exists()


@pytest.mark.django_db
def test_a_press_after_the_incident_closed_raises_a_new_one(
    demo: None, frozen: Clock, client: Client
) -> None:
    press(client, NOW)
    Incident.objects.update(status=IncidentState.CLOSED, closed_at=NOW)
    assert press(client, NOW).status_code == 201
    assert Incident.objects.count() == 2
    assert not RepeatPress.objects.exists()


@pytest.mark.django_db
def test_a_test_press_during_a_live_alarm_is_its_own_test_incident(
    demo: None, frozen: Clock, client: Client
) -> None:
    press(client, NOW)
    press(client, NOW, trigger="test")
    assert sorted(Incident.objects.values_list("lane", flat=True)) == ["live", "test"]


@pytest.mark.django_db
def test_a_duress_repeat_press_raises_the_incident_to_duress(
    demo: None, frozen: Clock, client: Client
) -> None:
    press(client, NOW)
    press(client, NOW, trigger="duress")
    incident = Incident.objects.get()
    assert incident.is_duress
    assert IncidentEvent.objects.filter(incident=incident, type="alarm.duress").exists()


@pytest.mark.django_db
def test_unverified_sms_from_the_victim_s_number_join_the_open_incident(
    demo: None, frozen: Clock, client: Client
) -> None:
    first = sms(client, "HELP", sender=VICTIM_PHONE).json()
    second = sms(client, "HELP AGAIN", sender=VICTIM_PHONE).json()
    assert first["result"] == "raised"
    assert second == {"result": "merged", "incident": first["incident"]}
    assert Incident.objects.count() == 1
    assert RepeatPress.objects.get().channel == "unverified_sms"


@pytest.mark.django_db
@override_settings(MSA_REPEAT_PRESS_ALERT_PER_MIN=3, MSA_SUPERVISOR_ALERT_TO="+32470000999")
def test_more_than_n_presses_a_minute_alert_the_supervisor_once(
    demo: None, frozen: Clock, client: Client
) -> None:
    for _ in range(3):
        press(client, NOW)
    assert not OutboundMessage.objects.exists()  # 3 presses: not more than 3
    press(client, NOW)
    press(client, NOW)
    alert = OutboundMessage.objects.get()
    assert alert.recipient == "+32470000999"
    incident = Incident.objects.get()
    assert incident.reference in alert.body
    assert (
        IncidentEvent.objects.filter(
            type="incident.escalated", payload__kind="repeat_presses"
        ).count()
        == 1
    )


@pytest.mark.django_db
@override_settings(MSA_REPEAT_PRESS_ALERT_PER_MIN=3)
def test_presses_spread_over_minutes_do_not_alert(
    demo: None, frozen: Clock, client: Client
) -> None:
    for _ in range(6):
        press(client, frozen.now())
        frozen.advance(timedelta(seconds=30))
    assert RepeatPress.objects.count() == 5
    assert not OutboundMessage.objects.exists()


# --- retries that differ -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retried_test_alarm_saying_duress_is_flagged_and_raised_to_live(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = str(uuid.uuid4())
    assert press(client, NOW, alarm_id, trigger="test").status_code == 201
    retry = press(client, NOW, alarm_id, trigger="duress")
    assert retry.status_code == 200
    incident = Incident.objects.get()
    assert incident.flags == ["retry_differs"]
    assert (incident.lane, incident.is_duress) == ("live", True)
    differs = IncidentEvent.objects.get(type="alarm.retry_differs")
    assert (differs.payload["stored"], differs.payload["received"]) == ("test", "duress")


@pytest.mark.django_db
def test_a_retry_never_lowers_the_trigger(demo: None, frozen: Clock, client: Client) -> None:
    alarm_id = str(uuid.uuid4())
    press(client, NOW, alarm_id, trigger="duress")
    press(client, NOW, alarm_id, trigger="test")
    incident = Incident.objects.get()
    assert (incident.trigger, incident.lane) == ("duress", "live")
    assert incident.flags == ["retry_differs"]


@pytest.mark.django_db
def test_an_identical_retry_is_not_flagged(demo: None, frozen: Clock, client: Client) -> None:
    alarm_id = str(uuid.uuid4())
    press(client, NOW, alarm_id)
    press(client, NOW, alarm_id)
    assert Incident.objects.get().flags == []


# --- tracking windows stay closed ----------------------------------------------------------


@pytest.mark.django_db
def test_a_late_dialing_never_reopens_a_closed_tracking_window(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = str(uuid.uuid4())
    raised = press(client, NOW, alarm_id, call=None).json()
    assert raised["track_until"] == "2026-03-14T10:15:03Z"
    frozen.advance(timedelta(hours=3))
    later = frozen.now()
    call = {"event": "dialing", "at": later.isoformat()}
    response = signed_post(client, f"{PATH}/{alarm_id}/call", body_bytes(call), now=later).json()
    assert response["track_until"] == "2026-03-14T10:15:03Z"
    # a retry of the alarm saying a call is being dialled does not reopen it either
    retry = press(client, later, alarm_id)
    assert retry.json()["track_until"] == "2026-03-14T10:15:03Z"
    assert Incident.objects.get().track_until == NOW + timedelta(hours=2)


@pytest.mark.django_db
def test_dialing_within_the_window_still_holds_tracking_open(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = str(uuid.uuid4())
    press(client, NOW, alarm_id, call=None)
    call = {"event": "dialing", "at": AT}
    response = signed_post(client, f"{PATH}/{alarm_id}/call", body_bytes(call), now=NOW).json()
    assert response["track_until"] is None
