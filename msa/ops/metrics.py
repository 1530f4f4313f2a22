"""``GET /metrics``: the Prometheus text format, named after the domain.

Every figure is computed from the database at scrape time, so that every node and every
process of a node (``msa serve --workers N``) answers the same numbers and a restart loses
nothing: counters and histograms are counts over the incidents ever received (cumulative, as
Prometheus expects), gauges are counts of what is true now. No figure names a person, a case
or a device; labels are channels, lanes, states and loops.

Who may scrape: a client whose address is in ``MSA_METRICS_ALLOW``, or one that sends
``Authorization: Bearer <MSA_METRICS_TOKEN>``. Anyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from msa.accounts.models import Organisation
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Lane
from msa.core import clock
from msa.devices.models import Device, DeviceHealthIssue, HealthProblem
from msa.devices.states import DeviceStatus
from msa.messaging.models import MessageStatus, OutboundMessage
from msa.ops.asgi_util import Receive, Scope, Send, header, in_own_connection, respond
from msa.worker.models import ProbeRound, ProbeStatus, WorkerHeartbeat
from msa.worker.probe import probe_health

INGEST_BUCKETS_S = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
ACK_BUCKETS_S = (5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600)
ON_SCENE_BUCKETS_S = (120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600)
PROBE_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


def _histogram(
    name: str,
    documentation: str,
    *,
    start: str,
    end: str,
    buckets: Sequence[float],
    by_lane: bool,
) -> HistogramMetricFamily:
    """A cumulative histogram of ``end - start`` over the incidents that have both."""
    family = HistogramMetricFamily(name, documentation, labels=["lane"] if by_lane else [])
    span = ExpressionWrapper(F(end) - F(start), output_field=DurationField())
    rows = Incident.objects.filter(**{f"{end}__isnull": False}).annotate(span=span)
    lanes: list[str | None] = [lane.value for lane in Lane] if by_lane else [None]
    for lane in lanes:
        scoped = rows if lane is None else rows.filter(lane=lane)
        counts: dict[str, Any] = {
            f"le{i}": Count("pk", filter=Q(span__lte=timedelta(seconds=b)))
            for i, b in enumerate(buckets)
        }
        agg = scoped.aggregate(total=Count("pk"), sum=Sum("span"), **counts)
        cumulative = [(str(float(b)), float(agg[f"le{i}"])) for i, b in enumerate(buckets)]
        cumulative.append(("+Inf", float(agg["total"])))
        total: timedelta | None = agg["sum"]
        # a device clock ahead of ours makes a negative span: it counts in the first bucket
        family.add_metric(
            [] if lane is None else [lane],
            cumulative,
            max(0.0, total.total_seconds()) if total else 0.0,
        )
    return family


def _alarms() -> Iterator[Metric]:
    received = CounterMetricFamily(
        "msa_alarms_received",
        "Alarms received, by the channel that brought them and lane (one incident brought by "
        "data and SMS counts once on each channel).",
        labels=["channel", "lane"],
    )
    incidents = CounterMetricFamily(
        "msa_incidents", "Incidents raised (one per press), by lane.", labels=["lane"]
    )
    by_channel: Counter[tuple[str, str]] = Counter()
    by_lane: Counter[str] = Counter()
    for row in Incident.objects.values("lane", "channels").annotate(n=Count("pk")):
        by_lane[row["lane"]] += row["n"]
        for channel in set(row["channels"] or ()):
            by_channel[(str(channel), row["lane"])] += row["n"]
    for (channel, lane), n in sorted(by_channel.items()):
        received.add_metric([channel, lane], n)
    for lane, n in sorted(by_lane.items()):
        incidents.add_metric([lane], n)
    yield received
    yield incidents

    open_ = GaugeMetricFamily(
        "msa_incidents_open", "Incidents not closed, by lane and status.", labels=["lane", "status"]
    )
    found = {
        (r["lane"], r["status"]): r["n"]
        for r in Incident.objects.exclude(status=IncidentState.CLOSED)
        .values("lane", "status")
        .annotate(n=Count("pk"))
    }
    for lane in Lane:
        for status in IncidentState:
            if status is not IncidentState.CLOSED:
                open_.add_metric([lane.value, status.value], found.get((lane.value, status), 0))
    yield open_

    yield _histogram(
        "msa_ingest_latency_seconds",
        "From the press (the device's clock) to the centre receiving the alarm.",
        start="pressed_at",
        end="received_at",
        buckets=INGEST_BUCKETS_S,
        by_lane=True,
    )
    yield _histogram(
        "msa_time_to_acknowledge_seconds",
        "From receipt to an operator's acknowledgement.",
        start="received_at",
        end="acknowledged_at",
        buckets=ACK_BUCKETS_S,
        by_lane=True,
    )
    yield _histogram(
        "msa_time_to_on_scene_seconds",
        "From receipt to the first unit on scene (the target is MSA_ON_SCENE_TARGET_S).",
        start="received_at",
        end="on_scene_at",
        buckets=ON_SCENE_BUCKETS_S,
        by_lane=True,
    )


def _devices() -> Iterator[Metric]:
    yield GaugeMetricFamily(
        "msa_devices_active",
        "Enrolled devices not revoked.",
        Device.objects.filter(status=DeviceStatus.ACTIVE).count(),
    )
    # the device-health watch's open episodes (msa.devices.health): what the officers are told
    open_ = {
        row["problem"]: row["n"]
        for row in DeviceHealthIssue.objects.filter(cleared_at__isnull=True)
        .values("problem")
        .annotate(n=Count("pk"))
    }
    yield GaugeMetricFamily(
        "msa_devices_silent",
        "Devices of protected cases without a heartbeat for MSA_HEALTH_SILENT_BEATS intervals.",
        open_.get(HealthProblem.SILENT, 0),
    )
    problems = GaugeMetricFamily(
        "msa_device_health_problems_open",
        "Open device-health problems, by problem.",
        labels=["problem"],
    )
    for problem in HealthProblem:
        problems.add_metric([problem.value], open_.get(problem.value, 0))
    yield problems


def _outbox() -> Iterator[Metric]:
    messages = GaugeMetricFamily(
        "msa_outbox_messages",
        "Outbound messages by channel and status: pending is the outbox's depth, failed the "
        "dead letters.",
        labels=["channel", "status"],
    )
    rows = OutboundMessage.objects.exclude(status=MessageStatus.SENT).values("channel", "status")
    for row in rows.annotate(n=Count("pk")).order_by("channel", "status"):
        messages.add_metric([row["channel"], row["status"]], row["n"])
    yield messages
    failed = OutboundMessage.objects.filter(attempts__gt=0).aggregate(
        n=Sum(F("attempts")) - Count("pk", filter=Q(status=MessageStatus.SENT))
    )["n"]
    yield GaugeMetricFamily(
        "msa_outbox_failed_attempts",
        "Failed send attempts of the messages on record (retention removes old ones).",
        float(failed or 0),
    )
    oldest = OutboundMessage.objects.filter(status=MessageStatus.PENDING).aggregate(
        at=Min("created_at")
    )["at"]
    yield GaugeMetricFamily(
        "msa_outbox_oldest_pending_age_seconds",
        "Age of the oldest message not yet sent (0: none).",
        max(0.0, (clock.now() - oldest).total_seconds()) if oldest else 0.0,
    )


def _worker() -> Iterator[Metric]:
    age = GaugeMetricFamily(
        "msa_worker_heartbeat_age_seconds",
        "Seconds since the newest heartbeat of the loop (any worker process).",
        labels=["loop"],
    )
    lag = GaugeMetricFamily(
        "msa_worker_loop_lag_seconds",
        "How late the loop's sweeps started in its newest turn.",
        labels=["loop"],
    )
    duration = GaugeMetricFamily(
        "msa_worker_loop_duration_seconds",
        "How long the loop's newest turn took.",
        labels=["loop"],
    )
    newest = WorkerHeartbeat.objects.values("loop").annotate(at=Max("beat_at"))
    for row in newest.order_by("loop"):
        beat = (
            WorkerHeartbeat.objects.filter(loop=row["loop"], beat_at=row["at"])
            .values("lag_ms", "duration_ms")
            .first()
        )
        age.add_metric([row["loop"]], max(0.0, (clock.now() - row["at"]).total_seconds()))
        if beat is not None:
            lag.add_metric([row["loop"]], beat["lag_ms"] / 1000)
            duration.add_metric([row["loop"]], beat["duration_ms"] / 1000)
    yield age
    yield lag
    yield duration


def _probe() -> Iterator[Metric]:
    """Path monitoring (``msa.worker.probe``): each round's time from sending the synthetic
    alarm to the probe's acknowledgement, the rounds by outcome, and whether each path is in
    order now (by centre code: the centre's own, no personal data)."""
    rounds = CounterMetricFamily(
        "msa_probe_rounds", "Path-probe rounds by path and outcome.", labels=["path", "status"]
    )
    for row in (
        ProbeRound.objects.values("path", "status")
        .annotate(n=Count("pk"))
        .order_by("path", "status")
    ):
        rounds.add_metric([row["path"], row["status"]], row["n"])
    yield rounds
    family = HistogramMetricFamily(
        "msa_probe_round_seconds",
        "From the probe sending its alarm to its acknowledgement (the whole chain).",
        labels=["path"],
    )
    span = ExpressionWrapper(F("acknowledged_at") - F("sent_at"), output_field=DurationField())
    done = ProbeRound.objects.filter(acknowledged_at__isnull=False).annotate(span=span)
    for path in sorted({r["path"] for r in done.values("path")}):
        counts: dict[str, Any] = {
            f"le{i}": Count("pk", filter=Q(span__lte=timedelta(seconds=b)))
            for i, b in enumerate(PROBE_BUCKETS_S)
        }
        agg = done.filter(path=path).aggregate(total=Count("pk"), sum=Sum("span"), **counts)
        buckets = [(str(float(b)), float(agg[f"le{i}"])) for i, b in enumerate(PROBE_BUCKETS_S)]
        buckets.append(("+Inf", float(agg["total"])))
        total: timedelta | None = agg["sum"]
        family.add_metric([path], buckets, max(0.0, total.total_seconds()) if total else 0.0)
    yield family
    in_order = GaugeMetricFamily(
        "msa_probe_ok",
        "1 while the probe path is in order (its newest round came back in time), else 0.",
        labels=["centre", "path"],
    )
    last = GaugeMetricFamily(
        "msa_probe_last_round_seconds",
        "The newest acknowledged round of the path: sent to acknowledged.",
        labels=["centre", "path"],
    )
    codes = dict(Organisation.objects.values_list("pk", "code"))
    for health in probe_health():
        labels = [codes.get(health.centre_id, str(health.centre_id)), health.path]
        in_order.add_metric(labels, 1 if health.ok else 0)
        if health.ms is not None and health.status != ProbeStatus.MISSED:
            last.add_metric(labels, health.ms / 1000)
    yield in_order
    yield last


class DomainCollector(Collector):
    """The figures above, read from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        yield from _alarms()
        yield from _devices()
        yield from _outbox()
        yield from _worker()
        yield from _probe()


def metrics_text() -> bytes:
    """One scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DomainCollector())
    return generate_latest(registry)


def scrape_allowed(scope: Scope) -> bool:
    token = settings.MSA_METRICS_TOKEN
    given = header(scope, b"authorization")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    client = scope.get("client")
    if not client:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return any(address in network for network in settings.MSA_METRICS_ALLOW)


async def metrics(scope: Scope, receive: Receive, send: Send) -> None:
    head = scope.get("method") == "HEAD"
    if scope.get("method") not in {"GET", "HEAD"}:
        await respond(send, 405, b'{"error": "method_not_allowed"}', "application/json")
        return
    if not scrape_allowed(scope):
        await respond(send, 403, b'{"error": "forbidden"}', "application/json")
        return
    body = await in_own_connection(metrics_text)()
    await respond(send, 200, body, CONTENT_TYPE_LATEST, head=head)
