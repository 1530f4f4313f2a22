"""Positions from an unsigned protocol (OsmAnd, docs/interop.md section 2): a position without
an alarm is kept only inside the tracking window of the device's open incident."""

from __future__ import annotations

from django.db import transaction

from msa.alarms.models import Incident
from msa.alarms.services.tracking import FixInput, fix_position, fix_row, tracking_open
from msa.alarms.states import OPEN_STATE_VALUES, Channel, Lane
from msa.core import clock
from msa.devices.models import Device
from msa.realtime import events
from msa.realtime.services import incident_event_append


@transaction.atomic(durable=True)
def device_fix_offer(*, device: Device, fix: FixInput, channel: Channel) -> bool:
    """Store ``fix`` on ``device``'s open live incident while its window is open (the same
    ``fix_at`` once); False when there is none or the window is over: nothing is stored."""
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .filter(device=device, lane=Lane.LIVE, status__in=list(OPEN_STATE_VALUES))
        .order_by("-received_at")
        .first()
    )
    now = clock.now()
    if incident is None or not tracking_open(incident, now) or not fix.is_fix:
        return False
    if incident.fixes.filter(fix_at=fix.fix_at).exists():
        return True
    row = fix_row(incident, fix, channel, now)
    row.save()
    incident_event_append(
        incident=incident,
        event=events.AlarmLocated(incident=incident.reference, positions=[fix_position(row)]),
    )
    return True
