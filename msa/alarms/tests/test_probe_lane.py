"""The probe lane (issue 12, path monitoring): a probe's synthetic alarm runs the whole chain and
the event log, but never the dispatch queue, the console's test lane, a timer or an escalation;
its timings are the metrics' ``lane="probe"`` series. The probe device, its enrolment and its
worker round are still to come: here a raised alarm is moved into the lane by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Lane
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch import selectors
from msa.dispatch.services.console import incident_acknowledge
from msa.messaging.models import OutboundMessage
from msa.ops.metrics import metrics_text
from msa.realtime.selectors import events_after
from msa.worker import timers
from tests.support.factories import press

NOW = datetime(2026, 5, 6, 3, 0, 0, tzinfo=UTC)


def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(metrics_text().decode())
        for s in family.samples
    }


def probe_alarm(*, at: datetime) -> Incident:
    incident = press(victim=1, at=at).incident
    Incident.objects.filter(pk=incident.pk).update(lane=Lane.PROBE)
    incident.refresh_from_db()
    return incident


@pytest.mark.django_db
def test_a_probe_alarm_reaches_the_event_log_but_no_queue_timer_or_escalation(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(NOW)
    incident = probe_alarm(at=NOW)
    assert "alarm.raised" in [
        e["type"] for e in events_after(centre_id=incident.centre_id, since=0)
    ]
    operator = User.objects.get(username="operator")
    lanes = selectors.queue_for(operator, incident.centre_id)
    assert all(incident not in rows for rows in lanes.values())
    client.force_login(operator)
    assert incident.reference not in client.get("/console/").content.decode()

    before = OutboundMessage.objects.count()
    clock.advance(timedelta(minutes=15))  # past every timer: 30 s, 60 s, 600 s, silence
    assert timers.sweep_ack_escalations() == 0
    assert timers.sweep_backup_offers() == 0
    assert timers.sweep_on_scene_breaches() == 0
    assert timers.sweep_silent_devices() == 0
    assert OutboundMessage.objects.count() == before  # nobody was alerted
    assert "incident.escalated" not in [
        e["type"] for e in events_after(centre_id=incident.centre_id, since=0)
    ]


@pytest.mark.django_db
def test_a_probe_alarm_is_never_joined_by_a_real_press(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    probe = probe_alarm(at=NOW)
    real = press(victim=1, at=NOW + timedelta(seconds=5), number=2).incident
    assert real.pk != probe.pk
    assert real.lane == Lane.LIVE


@pytest.mark.django_db
def test_the_probe_timings_are_the_metrics_probe_lane(demo: None, clock: Clock) -> None:
    clock.freeze(NOW + timedelta(seconds=2))
    incident = probe_alarm(at=NOW)  # received 2 s after the probe sent it
    clock.advance(timedelta(seconds=3))
    acknowledged = incident_acknowledge(incident=incident, actor=Actor.system("probe"))
    assert acknowledged.status == IncidentState.ACKNOWLEDGED

    found = scrape()

    def got(name: str, **labels: str) -> float:
        return found[(name, frozenset(labels.items()))]

    assert got("msa_incidents_total", lane="probe") == 1
    assert ("msa_incidents_total", frozenset({("lane", "live")})) not in found
    assert got("msa_ingest_latency_seconds_count", lane="probe") == 1
    assert got("msa_ingest_latency_seconds_sum", lane="probe") == pytest.approx(2.0)
    assert got("msa_time_to_acknowledge_seconds_sum", lane="probe") == pytest.approx(3.0)
    assert got("msa_time_to_acknowledge_seconds_count", lane="live") == 0
    assert got("msa_incidents_open", lane="probe", status="acknowledged") == 1
