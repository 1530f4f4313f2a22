"""``/metrics``: the domain's figures from the database, and who may scrape them."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from msa.alarms.models import Incident
from msa.asgi import application
from msa.core.clock import Clock
from msa.devices.models import Device, DeviceHealthIssue
from msa.messaging.models import MessageStatus, OutboundMessage
from msa.ops.metrics import metrics_text, scrape_allowed
from msa.worker.models import WorkerHeartbeat
from tests.support.factories import press

NOW = datetime(2026, 5, 4, 21, 14, 3, tzinfo=UTC)


class Scrape:
    def __init__(self) -> None:
        self.found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(metrics_text().decode()):
            for s in family.samples:
                self.found[(s.name, frozenset(s.labels.items()))] = s.value

    def __call__(self, name: str, **labels: str) -> float:
        return self.found[(name, frozenset(labels.items()))]


@pytest.mark.django_db
def test_the_figures_come_from_the_database(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    first = press(victim=1, at=NOW - timedelta(seconds=3), number=1).incident
    press(victim=2, at=NOW - timedelta(seconds=40), number=1)
    Incident.objects.filter(pk=first.pk).update(
        status="acknowledged", acknowledged_at=NOW + timedelta(seconds=12), channels=["data", "sms"]
    )
    WorkerHeartbeat.objects.create(
        worker="h:1:fast", loop="fast", started_at=NOW, beat_at=NOW, lag_ms=250
    )
    OutboundMessage.objects.filter(status=MessageStatus.PENDING).delete()
    active = Device.objects.filter(status="active").count()
    device = Device.objects.get(incidents=first)
    assert device.case is not None
    other = Device.objects.exclude(pk=device.pk).first()
    assert other is not None
    DeviceHealthIssue.objects.all().delete()
    for problem, cleared in (("silent", None), ("phone_battery_low", None), ("silent", NOW)):
        DeviceHealthIssue.objects.create(
            device=device if cleared is None else other,
            case=device.case,
            problem=problem,
            opened_at=NOW,
            cleared_at=cleared,
        )
    clock.advance(timedelta(seconds=5))

    got = Scrape()
    assert got("msa_alarms_received_total", channel="data", lane="live") == 2
    assert got("msa_alarms_received_total", channel="sms", lane="live") == 1
    assert got("msa_incidents_total", lane="live") == 2
    assert got("msa_incidents_open", lane="live", status="received") == 1
    assert got("msa_incidents_open", lane="live", status="acknowledged") == 1
    assert got("msa_incidents_open", lane="test", status="received") == 0
    # press-to-receipt: 3 s and 40 s
    assert got("msa_ingest_latency_seconds_bucket", le="5.0", lane="live") == 1
    assert got("msa_ingest_latency_seconds_bucket", le="60.0", lane="live") == 2
    assert got("msa_ingest_latency_seconds_count", lane="live") == 2
    assert got("msa_ingest_latency_seconds_sum", lane="live") == pytest.approx(43)
    # one acknowledged, 12 s after receipt
    assert got("msa_time_to_acknowledge_seconds_bucket", le="10.0", lane="live") == 0
    assert got("msa_time_to_acknowledge_seconds_bucket", le="15.0", lane="live") == 1
    assert got("msa_time_to_on_scene_seconds_count", lane="live") == 0
    assert got("msa_devices_active") == active
    assert got("msa_devices_silent") == 1
    assert got("msa_device_health_problems_open", problem="phone_battery_low") == 1
    assert got("msa_device_health_problems_open", problem="button_unlinked") == 0
    assert got("msa_worker_heartbeat_age_seconds", loop="fast") == 5
    assert got("msa_worker_loop_lag_seconds", loop="fast") == 0.25
    assert got("msa_outbox_oldest_pending_age_seconds") == 0


@pytest.mark.django_db
def test_the_outbox_depth_and_dead_letters(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    OutboundMessage.objects.all().delete()
    for status, attempts in (("pending", 0), ("pending", 2), ("failed", 8), ("sent", 1)):
        OutboundMessage.objects.create(
            channel="sms",
            recipient="+32470000000",
            body="x",
            status=status,
            attempts=attempts,
            created_at=NOW - timedelta(minutes=10),
            next_attempt_at=NOW,
        )
    got = Scrape()
    assert got("msa_outbox_messages", channel="sms", status="pending") == 2
    assert got("msa_outbox_messages", channel="sms", status="failed") == 1
    assert got("msa_outbox_failed_attempts") == 10
    assert got("msa_outbox_oldest_pending_age_seconds") == 600


def _scope(client: str, token: str = "") -> dict[str, object]:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return {"type": "http", "client": (client, 50000), "headers": headers}


@override_settings(
    MSA_METRICS_TOKEN="s3cret-token", MSA_METRICS_ALLOW=[ipaddress.ip_network("10.1.0.0/16")]
)
def test_only_the_allowed_addresses_or_the_token_may_scrape() -> None:
    assert scrape_allowed(_scope("10.1.2.3"))
    assert not scrape_allowed(_scope("10.2.0.1"))
    assert not scrape_allowed(_scope("127.0.0.1"))
    assert scrape_allowed(_scope("192.0.2.1", "s3cret-token"))
    assert not scrape_allowed(_scope("192.0.2.1", "wrong"))
    assert not scrape_allowed({"type": "http", "headers": []})


@override_settings(MSA_METRICS_TOKEN="", MSA_METRICS_ALLOW=[])
async def test_a_stranger_gets_403_before_any_figure_is_read() -> None:
    transport = httpx.ASGITransport(app=application, client=("192.0.2.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        answer = await c.get("/metrics")
    assert answer.status_code == 403
    assert answer.json() == {"error": "forbidden"}
