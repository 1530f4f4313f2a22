"""Path monitoring (issue 12): the probe enrolled once, its round through the device API (a
signed request, the probe lane, the console feed, the probe's acknowledgement), a late or missed
probe alerting the supervisor once, failing /readyz and showing on the console, the probe kept
out of case lists and device health, and the SMS path through the loopback HTTP gateway."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client, override_settings

from msa.accounts.models import TokenKind, User
from msa.accounts.tokens import token_create
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Lane
from msa.cases.selectors import cases_list
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.demo_data import CENTRE_CODE
from msa.devices.health import device_health_sweep
from msa.devices.selectors import watched_devices
from msa.messaging.models import OutboundMessage
from msa.messaging.services import message_deliver_due
from msa.ops.health import probe_check
from msa.ops.metrics import metrics_text
from msa.worker.models import ProbeRound, ProbeStatus
from msa.worker.probe import Poster, probe_enrol, probe_health, sweep_probe
from msa.worker.retention import ops_retention_run
from tests.support.loopback import http_endpoint

NOW = datetime(2026, 5, 6, 3, 0, 0, tzinfo=UTC)
LOOPBACK = "+32470000999"
ACTOR = Actor.system("test")


def client_poster(client: Client, before: Callable[[], None] | None = None) -> Poster:
    """The device API through Django's test client (the same view, auth and lane code)."""

    def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if before is not None:
            before()
        answer = client.post(path, data=body, content_type="application/json", headers=headers)
        return answer.status_code, json.loads(answer.content or b"{}")

    return post


def supervisor_alerts() -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(subject__contains="path probe").order_by("pk"))


@pytest.mark.django_db
def test_enrol_is_idempotent_and_the_probe_is_nobody_s_case(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    first = probe_enrol(centre_code=CENTRE_CODE, actor=ACTOR)
    again = probe_enrol(centre_code=CENTRE_CODE, actor=ACTOR)
    assert first.created is True
    assert again.created is False
    assert (again.case.pk, again.device.pk) == (first.case.pk, first.device.pk)
    assert first.case.is_probe is True
    assert first.zone.covered_by_id == first.centre.pk
    operator = User.objects.get(username="operator")
    assert first.case not in cases_list(operator)
    assert first.device not in watched_devices([first.zone])
    # silent for ever: the device-health watch never looks at it
    clock.advance(timedelta(days=40))
    device_health_sweep(last_test_alarms={}, actor=ACTOR)
    assert not first.device.health_issues.exists()


@pytest.mark.django_db
@override_settings(MSA_PROBE_INTERVAL_S=300, MSA_PROBE_LATE_S=30, MSA_PROBE_SMS_LOOPBACK="")
def test_a_round_goes_through_the_device_api_to_the_probe_s_acknowledgement(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    probe = probe_enrol(centre_code=CENTRE_CODE, actor=ACTOR)
    post = client_poster(client)
    assert sweep_probe(post) == 1
    round_ = ProbeRound.objects.get()
    assert round_.status == ProbeStatus.OK
    assert round_.answered_at is not None
    assert round_.seen_at is not None
    assert round_.acknowledged_at is not None
    incident = Incident.objects.get(reference=round_.incident_reference)
    assert incident.device_id == probe.device.pk
    assert incident.lane == Lane.PROBE
    assert incident.status == IncidentState.CLOSED  # acknowledged by the probe, then closed
    assert incident.acknowledged_by_id is None
    assert sweep_probe(post) == 0  # not due again before the interval
    clock.advance(timedelta(seconds=300))
    assert sweep_probe(post) == 1
    assert [h.ok for h in probe_health()] == [True]
    assert probe_check()["ok"] is True
    assert supervisor_alerts() == []
    text = metrics_text().decode()
    assert 'msa_probe_rounds_total{path="data",status="ok"} 2.0' in text
    assert 'msa_probe_round_seconds_count{path="data"} 2.0' in text
    assert f'msa_probe_ok{{centre="{CENTRE_CODE}",path="data"}} 1.0' in text
    clock.advance(timedelta(days=91))  # the rounds age out with the operational retention
    ops_retention_run()
    assert not ProbeRound.objects.exists()


@pytest.mark.django_db
@override_settings(MSA_PROBE_INTERVAL_S=300, MSA_PROBE_LATE_S=30, MSA_PROBE_SMS_LOOPBACK="")
def test_a_late_probe_alerts_once_fails_readyz_and_shows_on_the_console(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    probe_enrol(centre_code=CENTRE_CODE, actor=ACTOR)
    slow = client_poster(client, before=lambda: clock.advance(timedelta(seconds=31)))
    assert sweep_probe(slow) == 1
    assert ProbeRound.objects.get().status == ProbeStatus.LATE
    assert probe_check()["ok"] is False
    assert len(supervisor_alerts()) == 1
    operator = User.objects.get(username="operator")
    client.force_login(operator)
    page = client.get("/console/", follow=True).content.decode()
    assert 'id="probe-banner"' in page

    clock.advance(timedelta(seconds=300))
    sweep_probe(slow)  # late again: the same outage, no second alert
    assert len(supervisor_alerts()) == 1

    clock.advance(timedelta(seconds=300))
    sweep_probe(client_poster(client))  # in order again
    assert probe_check()["ok"] is True
    assert 'id="probe-banner"' not in client.get("/console/", follow=True).content.decode()

    clock.advance(timedelta(seconds=300))
    sweep_probe(slow)  # a new outage: a new alert
    assert len(supervisor_alerts()) == 2


@pytest.mark.django_db
@override_settings(MSA_PROBE_INTERVAL_S=300, MSA_PROBE_LATE_S=30, MSA_PROBE_SMS_LOOPBACK="")
def test_a_missed_probe_fails_readyz_and_alerts_the_supervisor(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    probe_enrol(centre_code=CENTRE_CODE, actor=ACTOR)
    sweep_probe(client_poster(client))
    clock.advance(timedelta(seconds=331))  # no worker ran the probe for an interval and more
    assert [(h.ok, h.status) for h in probe_health()] == [(False, "missed")]
    assert probe_check()["ok"] is False

    def refused(path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        return 503, {"error": {"code": "unavailable"}}

    sweep_probe(refused)  # the worker is back: the missed slot is recorded, then a round fails
    statuses = list(ProbeRound.objects.order_by("sent_at").values_list("status", "error"))
    assert [s for s, _ in statuses] == ["ok", "missed", "failed"]
    assert statuses[-1][1] == "http 503 unavailable"
    assert len(supervisor_alerts()) == 1  # one outage, one alert


@pytest.mark.django_db
@override_settings(MSA_PROBE_INTERVAL_S=300, MSA_PROBE_LATE_S=30)
def test_the_sms_path_probe_through_the_loopback_gateway(
    demo: None, clock: Clock, client: Client, settings: Any
) -> None:
    clock.freeze(NOW)
    probe_enrol(centre_code=CENTRE_CODE, actor=ACTOR)
    settings.MSA_PROBE_SMS_LOOPBACK = LOOPBACK
    with http_endpoint() as gateway:
        settings.MSA_SMS_PROVIDER = "http"
        settings.MSA_SMS_GATEWAY_URL = gateway.url
        settings.MSA_SMS_GATEWAY_TOKEN = "gw-out"
        sweep_probe(client_poster(client))  # the data round ends; the SMS is queued
        message_deliver_due()
        sent = [json.loads(r.body) for r in gateway.received]
    looped = [m for m in sent if m["to"] == LOOPBACK]
    assert len(looped) == 1
    sms = ProbeRound.objects.get(path="sms")
    assert sms.status == ProbeStatus.PENDING
    # the gateway loops the number back: the centre's inbound webhook gets the text
    token = token_create(kind=TokenKind.SMS_GATEWAY, name="gw-loop", actor=ACTOR).plain
    clock.advance(timedelta(seconds=2))
    delivered = client.post(
        "/api/sms/v1/inbound",
        data=json.dumps(
            {
                "id": "loop-1",
                "from": LOOPBACK,
                "to": settings.MSA_SMS_NUMBER,
                "text": looped[0]["text"],
                "received_at": clock.now().isoformat(),
            }
        ),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["result"] == "raised"
    clock.advance(timedelta(seconds=3))
    sweep_probe(client_poster(client))
    sms.refresh_from_db()
    assert sms.status == ProbeStatus.OK, sms.error
    assert Incident.objects.get(reference=sms.incident_reference).lane == Lane.PROBE
    assert [(h.path, h.ok) for h in probe_health()] == [("data", True), ("sms", True)]


@pytest.mark.django_db
@override_settings(MSA_PROBE_INTERVAL_S=300, MSA_PROBE_LATE_S=30)
def test_an_sms_probe_that_never_comes_back_has_failed(
    demo: None, clock: Clock, client: Client, settings: Any
) -> None:
    clock.freeze(NOW)
    probe_enrol(centre_code=CENTRE_CODE, actor=ACTOR)
    settings.MSA_PROBE_SMS_LOOPBACK = LOOPBACK
    sweep_probe(client_poster(client))
    clock.advance(timedelta(seconds=31))
    sweep_probe(client_poster(client))
    sms = ProbeRound.objects.get(path="sms")
    assert (sms.status, sms.error) == (ProbeStatus.FAILED, "the SMS did not come back")
    assert probe_check()["ok"] is False
    assert len(supervisor_alerts()) == 1
