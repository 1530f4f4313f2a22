"""The worker's own state: one heartbeat row per loop of each worker process."""

from __future__ import annotations

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
