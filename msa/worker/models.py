"""The worker's own state: one heartbeat row per loop of each worker process."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class WorkerHeartbeat(models.Model):
    """Written at every turn of a worker loop; ``/readyz`` and ``/metrics`` read the newest.

    A row per (host, process, loop), so that several workers never write the same row; the
    rows of workers that stopped age out with the operational retention sweep."""

    worker = models.CharField(max_length=120, unique=True)  # host:pid:loop
    loop = models.CharField(max_length=8)  # fast | slow (msa.worker.sweeps.Loop)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    lag_ms = models.PositiveIntegerField(default=0)  # how late the turn's sweeps started
    duration_ms = models.PositiveIntegerField(default=0)  # how long the turn's sweeps took

    def __str__(self) -> str:
        return self.worker


class ProbePath(models.TextChoices):
    """Which way the probe's alarm took (docs/operations.md, path monitoring)."""

    DATA = "data", "data"  # a signed device request, as a phone sends it
    SMS = "sms", "sms"  # a fallback SMS through the gateway's loopback number


class ProbeStatus(models.TextChoices):
    PENDING = "pending", "pending"  # sent, not yet acknowledged
    OK = "ok", "ok"  # acknowledged within MSA_PROBE_LATE_S of sending
    LATE = "late", "late"  # acknowledged, but later than MSA_PROBE_LATE_S
    FAILED = "failed", "failed"  # refused, lost, or never acknowledged
    MISSED = "missed", "missed"  # no round at all when one was due (the worker stood still)


class ProbeRound(models.Model):
    """One synthetic alarm of the centre's path-monitoring probe (``msa.worker.probe``): when it
    was sent, answered, seen in the console feed and acknowledged, and how it ended.

    No personal data: the probe's case is the centre's own. The rows age out with the
    operational retention sweep."""

    centre = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="probe_rounds"
    )
    path = models.CharField(max_length=8, choices=ProbePath.choices)
    alarm_id = models.UUIDField(unique=True)
    status = models.CharField(max_length=8, choices=ProbeStatus.choices)
    sent_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)  # the 2xx (data) or the raise (SMS)
    seen_at = models.DateTimeField(null=True, blank=True)  # its alarm.raised in the console feed
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    incident_reference = models.CharField(max_length=32, blank=True)
    error = models.CharField(max_length=80, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)  # the supervisor was told

    class Meta:
        indexes: ClassVar = [models.Index(fields=("centre", "path", "sent_at"))]

    def __str__(self) -> str:
        return f"{self.path} {self.sent_at:%Y-%m-%d %H:%M:%S} {self.status}"
