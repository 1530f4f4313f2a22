"""The worker's entry points for device health: the facts of ``alarms`` the watch needs,
passed down to ``msa.devices.health`` (below this part), which holds the checks, the episodes
and the reports.

Only the time of each device's last test alarm comes from here: a test alarm is an incident
in the test lane.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max

from msa.alarms.models import Incident
from msa.alarms.states import Lane
from msa.core.actors import Actor
from msa.devices.health import device_health_sweep, device_report_sweep

WORKER = Actor.system("worker")


def last_test_alarms() -> dict[int, datetime]:
    """Each device's last test alarm (one grouped query)."""
    rows = (
        Incident.objects.filter(lane=Lane.TEST, device__isnull=False)
        .values("device_id")
        .annotate(last=Max("received_at"))
        .values_list("device_id", "last")
    )
    return dict(rows)


def sweep_device_health() -> int:
    """Flag and clear the devices' problems; the number of devices whose flags changed."""
    return device_health_sweep(last_test_alarms=last_test_alarms(), actor=WORKER)


def sweep_device_reports() -> int:
    """Send the police zones' daily device reports that are due."""
    return device_report_sweep(actor=WORKER)
