"""POST /alarms/{id}/locations, /call, /cancel and /heartbeat, and the rate limit."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings

from msa.alarms.models import Incident, LocationFix
from msa.alarms.states import IncidentState
from msa.core.clock import Clock
from msa.demo_data import demo_device_id, demo_device_key
from msa.devices.models import Device
from msa.ingest.tests.moment import AT, NOW
from msa.realtime.models import IncidentEvent
from tests.support.device import alarm_payload, body_bytes, signed_post

BASE = "/api/device/v1"


def t(seconds: float, base: datetime = NOW) -> str:
    return (base + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def fix(seconds: float, lat: float = 51.05, lon: float = 3.72) -> dict[str, Any]:
    return {"lat": lat, "lon": lon, "accuracy_m": 8, "fix_at": t(seconds), "source": "gps"}


def post(client: Client, path: str, payload: Any, clock: Clock, **kw: Any) -> Any:
    body = payload if isinstance(payload, bytes) else body_bytes(payload)
    return signed_post(client, BASE + path, body, now=clock.now(), **kw)


def raise_alarm(client: Client, clock: Clock, *, call: str | None = "dialing", **kw: Any) -> str:
    alarm_id = str(uuid.uuid4())
    payload = alarm_payload(alarm_id, AT, call={"state": call} if call else None, **kw)
    response = post(client, "/alarms", payload, clock)
    assert response.status_code == 201, response.content
    return alarm_id


def code_of(response: Any) -> str:
    code: str = json.loads(response.content)["error"]["code"]
    return code


# --- locations ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_positions_are_stored_during_the_call_once_each(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = raise_alarm(client, frozen)
    fixes = [fix(10), fix(20), fix(20), fix(30, 0, 0)]
    response = post(client, f"/alarms/{alarm_id}/locations", {"fixes": fixes}, frozen)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "accepted": 2,
        "continue": True,
        "report_interval_s": 10,
        "track_until": None,
    }
    # the same batch again (its answer was lost): nothing duplicated, the same answer
    again = post(client, f"/alarms/{alarm_id}/locations", {"fixes": fixes[:2]}, frozen)
    assert again.json()["accepted"] == 2
    incident = Incident.objects.get(alarm_id=alarm_id)
    assert incident.fixes.count() == 3  # the alarm's own fix and two more
    located = IncidentEvent.objects.filter(incident=incident, type="alarm.located")
    assert located.count() == 1
    assert len(located.get().payload["positions"]) == 2


@pytest.mark.django_db
def test_tracking_stops_two_hours_after_the_call_and_then_nothing_is_stored(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = raise_alarm(client, frozen)
    for event in ("ringing", "answered"):
        answer = post(client, f"/alarms/{alarm_id}/call", {"event": event, "at": AT}, frozen)
        assert answer.status_code == 200
    frozen.advance(timedelta(minutes=3))
    ended = post(client, f"/alarms/{alarm_id}/call", {"event": "ended", "at": t(180)}, frozen)
    assert ended.json()["track_until"] == t(180 + 7200)
    incident = Incident.objects.get(alarm_id=alarm_id)
    assert incident.call_state == "ended"
    frozen.advance(timedelta(seconds=7200))  # exactly at track_until: still inside
    inside = post(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(7300)]}, frozen)
    assert inside.json()["continue"] is True
    before = LocationFix.objects.count()
    frozen.advance(timedelta(seconds=1))
    outside = post(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(7390)]}, frozen)
    assert outside.status_code == 200
    assert outside.json()["continue"] is False
    assert outside.json()["accepted"] == 0
    assert LocationFix.objects.count() == before  # no row written


@pytest.mark.django_db
def test_a_closed_incident_stores_no_more_positions(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = raise_alarm(client, frozen)
    Incident.objects.filter(alarm_id=alarm_id).update(status=IncidentState.CLOSED, closed_at=NOW)
    before = LocationFix.objects.count()
    response = post(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(10)]}, frozen)
    assert response.json()["continue"] is False
    assert LocationFix.objects.count() == before


@pytest.mark.django_db
def test_locations_limits_and_unknown_alarms(demo: None, frozen: Clock, client: Client) -> None:
    alarm_id = raise_alarm(client, frozen)
    many = {"fixes": [fix(i) for i in range(101)]}
    assert code_of(post(client, f"/alarms/{alarm_id}/locations", many, frozen)) == "too_large"
    none = post(client, f"/alarms/{alarm_id}/locations", {"fixes": []}, frozen)
    assert (none.status_code, code_of(none)) == (400, "validation_error")
    future = post(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(301)]}, frozen)
    assert json.loads(future.content)["error"]["fields"] == {
        "fixes.0.fix_at": ("more than 300 s in the future")
    }
    bad = post(client, f"/alarms/{alarm_id}/locations", {"fixes": [{**fix(1), "lat": 91}]}, frozen)
    assert "fixes.0.lat" in json.loads(bad.content)["error"]["fields"]
    for other in (str(uuid.uuid4()), "not-a-uuid"):
        response = post(client, f"/alarms/{other}/locations", {"fixes": [fix(1)]}, frozen)
        assert (response.status_code, code_of(response)) == (404, "not_found")
    # another device's alarm is not found either
    response = post(
        client,
        f"/alarms/{alarm_id}/locations",
        {"fixes": [fix(1)]},
        frozen,
        device_id=demo_device_id(2),
        key=demo_device_key(2),
    )
    assert (response.status_code, code_of(response)) == (404, "not_found")
    assert LocationFix.objects.count() == 1


# --- call ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ended_without_answered_is_a_ghost_call(demo: None, frozen: Clock, client: Client) -> None:
    alarm_id = raise_alarm(client, frozen)
    post(client, f"/alarms/{alarm_id}/call", {"event": "ringing", "at": AT}, frozen)
    response = post(client, f"/alarms/{alarm_id}/call", {"event": "ended", "at": AT}, frozen)
    assert response.status_code == 200
    assert response.json() == {"alarm_id": alarm_id, "track_until": "2026-03-14T10:15:02Z"}
    incident = Incident.objects.get(alarm_id=alarm_id)
    assert incident.call_state == "ghost"
    events = IncidentEvent.objects.filter(incident=incident, type="alarm.call_changed")
    assert [e.payload["call_state"] for e in events.order_by("seq")] == ["ringing", "ghost"]
    # a late "answered" does not undo it
    post(client, f"/alarms/{alarm_id}/call", {"event": "answered", "at": AT}, frozen)
    assert Incident.objects.get(alarm_id=alarm_id).call_state == "ghost"


@pytest.mark.django_db
def test_call_event_validation(demo: None, frozen: Clock, client: Client) -> None:
    alarm_id = raise_alarm(client, frozen)
    for body in ({"event": "hung", "at": AT}, {"event": "ended"}, {"event": "ended", "at": 5}):
        response = post(client, f"/alarms/{alarm_id}/call", body, frozen)
        assert (response.status_code, code_of(response)) == (400, "validation_error")
    naive = post(
        client, f"/alarms/{alarm_id}/call", {"event": "ended", "at": "2026-03-14T08:15:02"}, frozen
    )
    assert code_of(naive) == "validation_error"


# --- cancel --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_normal_and_duress_cancel_answer_the_same_bytes(
    demo: None, frozen: Clock, client: Client
) -> None:
    fixed = uuid.UUID("11111111-2222-4333-8444-555555555555")
    a = raise_alarm(client, frozen)
    Incident.objects.filter(alarm_id=a).update(alarm_id=fixed, alarm_ref=fixed.hex[:8])
    normal = post(client, f"/alarms/{fixed}/cancel", {"at": AT, "pin": "normal"}, frozen)
    raw_normal = (normal.status_code, normal.content, normal["Content-Type"])
    incident = Incident.objects.get(alarm_id=fixed)
    assert incident.victim_cancelled_at == NOW
    assert incident.duress_at is None
    # the same alarm id with the duress PIN: the bytes must not differ
    duress = post(client, f"/alarms/{fixed}/cancel", {"at": AT, "pin": "duress"}, frozen)
    assert (duress.status_code, duress.content, duress["Content-Type"]) == raw_normal
    assert raw_normal[1] == (
        b'{"alarm_id":"11111111-2222-4333-8444-555555555555","status":"cancelled"}'
    )
    incident.refresh_from_db()
    assert incident.duress_at == NOW
    assert incident.status == IncidentState.RECEIVED  # still visible to the centre
    types = set(IncidentEvent.objects.filter(incident=incident).values_list("type", flat=True))
    assert {"alarm.victim_cancelled", "alarm.duress"} <= types


@pytest.mark.django_db
def test_duress_first_answers_like_normal_first(demo: None, frozen: Clock, client: Client) -> None:
    answers = []
    for pin in ("normal", "duress"):
        alarm_id = raise_alarm(client, frozen)
        response = post(client, f"/alarms/{alarm_id}/cancel", {"at": AT, "pin": pin}, frozen)
        answers.append(response.content.replace(alarm_id.encode(), b"ID"))
    assert answers[0] == answers[1]


# --- heartbeat -----------------------------------------------------------------------------


def heartbeat(**overrides: Any) -> dict[str, Any]:
    beat: dict[str, Any] = {
        "at": AT,
        "battery": {"phone_pct": 77, "button_pct": 41},
        "button": {"connected": True, "last_seen_at": AT},
        "permissions": {"location": "always", "sms": True, "notifications": False},
        "network": {"data": True},
        "app_version": "msa-client/1.0",
    }
    beat.update(overrides)
    return beat


@pytest.mark.django_db
def test_heartbeat_records_health_never_a_position_and_tells_the_last_test(
    demo: None, frozen: Clock, client: Client
) -> None:
    response = post(client, "/heartbeat", heartbeat(), frozen)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "next_heartbeat_s": 300,
        "server_time": "2026-03-14T08:15:03Z",
        "last_test_alarm": None,
    }
    device = Device.objects.get(device_id=demo_device_id(1))
    assert device.last_heartbeat_at == NOW
    assert (device.phone_battery_pct, device.button_battery_pct) == (77, 41)
    assert device.button_connected is True
    assert device.permissions == {"location": "always", "sms": True, "notifications": False}
    assert device.app_version == "msa-client/1.0"
    assert not LocationFix.objects.exists()
    raise_alarm(client, frozen, trigger="test")
    frozen.advance(timedelta(seconds=300))
    answer = post(client, "/heartbeat", heartbeat(), frozen).json()
    assert answer["last_test_alarm"] == "2026-03-14T08:15:03Z"
    assert LocationFix.objects.filter(incident__lane="live").count() == 0


@pytest.mark.django_db
def test_heartbeat_validation(demo: None, frozen: Clock, client: Client) -> None:
    for bad in (
        heartbeat(battery={"phone_pct": 101, "button_pct": None}),
        heartbeat(permissions={"location": "sometimes", "sms": True, "notifications": True}),
        heartbeat(network={"data": "yes"}),
        heartbeat(app_version="x" * 41),
        {k: v for k, v in heartbeat().items() if k != "button"},
    ):
        response = post(client, "/heartbeat", bad, frozen)
        assert (response.status_code, code_of(response)) == (400, "validation_error"), bad
    # a position in a heartbeat is ignored, never stored
    assert post(client, "/heartbeat", heartbeat(location=fix(0)), frozen).status_code == 200
    assert not LocationFix.objects.exists()


# --- rate limit ----------------------------------------------------------------------------


def beat(n: int) -> dict[str, Any]:
    """The n-th distinct heartbeat (another battery level: another body, another signature)."""
    return heartbeat(battery={"phone_pct": n % 101, "button_pct": 41})


@pytest.mark.django_db
@override_settings(MSA_HEARTBEAT_RATE_LIMIT=3, MSA_DEVICE_RATE_WINDOW_S=60)
def test_rate_limit_answers_429_with_retry_after_but_never_refuses_an_alarm(
    demo: None, frozen: Clock, client: Client
) -> None:
    statuses = [post(client, "/heartbeat", beat(n), frozen).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = post(client, "/heartbeat", beat(5), frozen)
    assert code_of(limited) == "rate_limited"
    retry_after = int(limited["Retry-After"])
    assert 1 <= retry_after <= 61
    raise_alarm(client, frozen)  # a new press is never rate limited
    # another device has its own budget
    other = post(
        client,
        "/heartbeat",
        heartbeat(),
        frozen,
        device_id=demo_device_id(2),
        key=demo_device_key(2),
    )
    assert other.status_code == 200
    frozen.advance(timedelta(seconds=retry_after))
    assert post(client, "/heartbeat", beat(6), frozen).status_code == 200


@pytest.mark.django_db
@override_settings(MSA_HEARTBEAT_RATE_LIMIT=2, MSA_DEVICE_RATE_LIMIT=2)
def test_a_heartbeat_flood_never_touches_the_follow_ups_of_an_open_alarm(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = raise_alarm(client, frozen)
    flood = [post(client, "/heartbeat", beat(n), frozen).status_code for n in range(5)]
    assert flood.count(429) == 3
    for n in range(5):
        located = post(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(n)]}, frozen)
        assert located.status_code == 200, located.content
    call = post(client, f"/alarms/{alarm_id}/call", {"event": "answered", "at": AT}, frozen)
    assert call.status_code == 200
    for _ in range(3):
        cancel = post(client, f"/alarms/{alarm_id}/cancel", {"at": AT, "pin": "duress"}, frozen)
        assert cancel.status_code == 200, cancel.content
    assert Incident.objects.get().duress_at is not None


@pytest.mark.django_db
@override_settings(MSA_DEVICE_RATE_LIMIT=2)
def test_the_follow_ups_of_a_closed_alarm_share_the_general_bucket(
    demo: None, frozen: Clock, client: Client
) -> None:
    alarm_id = raise_alarm(client, frozen)
    Incident.objects.update(status="closed", closed_at=NOW)
    statuses = [
        post(client, f"/alarms/{alarm_id}/locations", {"fixes": [fix(n)]}, frozen).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    # and unknown alarm ids too (a 404 costs as much as any request)
    assert post(client, f"/alarms/{uuid.uuid4()}/call", {"event": "ended", "at": AT}, frozen)[
        "Retry-After"
    ]


@pytest.mark.django_db
@override_settings(MSA_DEVICE_RATE_LIMIT=2)
def test_a_repeat_press_is_an_open_alarm_but_another_devices_alarm_is_not(
    demo: None, frozen: Clock, client: Client
) -> None:
    """The device and its own open alarm are read in one statement; a repeat press's id (it
    joined the open incident) is found by the second half, and the alarm of another device
    counts for the device that names it."""
    first = raise_alarm(client, frozen)
    repeat_id = str(uuid.uuid4())
    again = post(client, "/alarms", alarm_payload(repeat_id, AT), frozen)
    assert again.status_code == 201, again.content
    assert Incident.objects.count() == 1  # it joined the open incident
    for n in range(4):
        located = post(client, f"/alarms/{repeat_id}/locations", {"fixes": [fix(n)]}, frozen)
        assert located.status_code == 200, located.content
    other = {"device_id": demo_device_id(2), "key": demo_device_key(2)}
    statuses = [
        post(client, f"/alarms/{first}/locations", {"fixes": [fix(n)]}, frozen, **other)
        for n in range(3)
    ]
    assert [(r.status_code, code_of(r)) for r in statuses] == [
        (404, "not_found"),
        (404, "not_found"),
        (429, "rate_limited"),
    ]
    assert LocationFix.objects.count() == 4 + 1  # the press's own fix and the repeat's four


@pytest.mark.django_db
@override_settings(MSA_HEARTBEAT_RATE_LIMIT=2)
def test_an_exact_replay_of_a_signed_heartbeat_is_answered_without_counting(
    demo: None, frozen: Clock, client: Client
) -> None:
    replays = [post(client, "/heartbeat", beat(1), frozen).status_code for _ in range(10)]
    assert replays == [200] * 10  # the same signed request: counted once
    assert post(client, "/heartbeat", beat(2), frozen).status_code == 200  # the second
    assert post(client, "/heartbeat", beat(3), frozen).status_code == 429  # over 2


@pytest.mark.django_db
def test_a_newline_in_the_path_is_refused_not_a_500(
    demo: None, frozen: Clock, client: Client
) -> None:
    """Found by the schemathesis run: %0A in the alarm id reached the signature code."""
    response = client.post(
        f"{BASE}/alarms/%0A/locations",
        data=b"{}",
        content_type="application/json",
        headers={"X-MSA-Device": demo_device_id(1), "X-MSA-Timestamp": "1", "X-MSA-Signature": "0"},
    )
    assert (response.status_code, code_of(response)) == (401, "invalid_signature")


@pytest.mark.django_db
def test_a_press_time_at_the_edge_of_the_calendar_is_no_500(
    demo: None, frozen: Clock, client: Client
) -> None:
    """Found by the schemathesis run: the merge window overflowed near year 9999."""
    for pressed_at in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"):
        payload = alarm_payload(str(uuid.uuid4()), pressed_at, location=None)
        assert post(client, "/alarms", payload, frozen).status_code == 201
        Incident.objects.update(status="closed", closed_at=NOW)  # the next is no repeat press
    # never refused, and an unbelievable press time stands for the arrival (issue 11)
    assert set(Incident.objects.values_list("pressed_at", flat=True)) == {NOW}


@pytest.mark.django_db
def test_a_nul_in_the_app_version_is_a_validation_error(
    demo: None, frozen: Clock, client: Client
) -> None:
    response = post(client, "/heartbeat", heartbeat(app_version="1\x00"), frozen)
    assert (response.status_code, code_of(response)) == (400, "validation_error")


@pytest.mark.django_db
@pytest.mark.parametrize("fix_at", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59"])
def test_a_time_outside_the_utc_calendar_is_a_validation_error(
    demo: None, frozen: Clock, client: Client, fix_at: str
) -> None:
    """Found by the schemathesis run on PostgreSQL: year 0 in UTC reached the database."""
    alarm_id = raise_alarm(client, frozen)
    body = {"fixes": [{**fix(1), "fix_at": fix_at}]}
    response = post(client, f"/alarms/{alarm_id}/locations", body, frozen)
    assert (response.status_code, code_of(response)) == (400, "validation_error")
