"""The worker's sweeps: each finds the rows whose time has come and calls one service.

Every sweep is idempotent and safe with several workers: candidates are read without a
lock, then each is handled by a service that locks the row and checks again.

``SWEEPS`` is the one list of what the worker runs. Each sweep runs in one of two loops, each
its own thread (``msa.worker.runner``): ``FAST`` for the incident timers, which only touch the
database and must fire within a second or two; ``SLOW`` for everything that may wait on the
network or work through many rows (outbox sends, retention, case reminders). An SMTP or SMS
gateway timeout in the slow loop never delays an escalation. A sweep registered without a loop
is slow: only a sweep that never leaves the database belongs in the fast loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from msa.alarms.device_health import sweep_device_health, sweep_device_reports
from msa.alarms.models import Incident
from msa.alarms.retention import retention_run
from msa.alarms.services.tracking import tracking_window_close
from msa.cases.sweeps import sweep_case_reviews, sweep_case_tasks
from msa.core import clock
from msa.core.actors import Actor
from msa.evaluation.sweeps import sweep_incident_reviews
from msa.messaging.services import message_deliver_due
from msa.realtime.events import TrackingEnded
from msa.worker import timers
from msa.worker.demo_phones import sweep_demo_heartbeats
from msa.worker.probe import sweep_probe
from msa.worker.retention import ops_retention_run

log = logging.getLogger("msa.worker")

WORKER = Actor.system("worker")
BATCH = 200


Loop = Literal["fast", "slow"]
FAST: Final = "fast"
SLOW: Final = "slow"


@dataclass(frozen=True, slots=True)
class Sweep:
    name: str
    every_s: float
    run: Callable[[], int]
    loop: Loop = SLOW


def sweep_tracking_windows() -> int:
    """Tell the consoles when an incident's tracking window has closed."""
    due = (
        Incident.objects.filter(track_until__lte=clock.now())
        .exclude(events__type=TrackingEnded.type)
        .order_by("track_until")[:BATCH]
    )
    done = 0
    for incident in due:
        if tracking_window_close(incident=incident, actor=WORKER):
            done += 1
    return done


SWEEPS: tuple[Sweep, ...] = (
    # fast: the incident timers (database only)
    Sweep("ack_escalations", 1.0, timers.sweep_ack_escalations, FAST),
    Sweep("backup_offers", 1.0, timers.sweep_backup_offers, FAST),
    Sweep("dispatch_overdue", 2.0, timers.sweep_dispatch_overdue, FAST),
    Sweep("on_scene_breaches", 2.0, timers.sweep_on_scene_breaches, FAST),
    Sweep("silent_devices", 5.0, timers.sweep_silent_devices, FAST),
    Sweep("tracking_windows", 5.0, sweep_tracking_windows, FAST),
    # slow: sends, reminders, retention
    Sweep("outbox", 2.0, message_deliver_due, SLOW),
    Sweep("case_tasks", 30.0, sweep_case_tasks, SLOW),
    Sweep("case_reviews", 300.0, sweep_case_reviews, SLOW),
    Sweep("incident_reviews", 60.0, sweep_incident_reviews, SLOW),
    Sweep("retention", 3600.0, retention_run, SLOW),
    Sweep("ops_retention", 3600.0, ops_retention_run, SLOW),
    Sweep("device_health", 60.0, sweep_device_health, SLOW),
    Sweep("device_reports", 300.0, sweep_device_reports, SLOW),
    # path monitoring: decides itself when a round is due (MSA_PROBE_INTERVAL_S)
    Sweep("probe", 5.0, sweep_probe, SLOW),
    Sweep("demo_heartbeats", 60.0, sweep_demo_heartbeats, SLOW),  # MSA_DEMO=1 only
)
