"""Scoped reads of what the ingest adapters kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from msa.accounts.models import User
from msa.accounts.selectors import console_centres_for
from msa.alarms.models import Incident, RepeatPress
from msa.alarms.selectors import TRACKED_COLUMNS, tracked_incident_of
from msa.alarms.states import OPEN_STATE_VALUES
from msa.core.sql import Statement
from msa.devices.models import Device
from msa.devices.selectors import REQUEST_COLUMNS
from msa.ingest.models import InboundSms, SmsResult


def rejected_sms_log(user: User, *, limit: int = 100) -> QuerySet[InboundSms]:
    """The rejected-SMS log, newest first, for console staff only (an empty set otherwise).

    A rejected message has no incident and often no known sender, so it belongs to no centre:
    every console user of any centre may review it. The sender and the text are decrypted only
    when the caller reads them (and a view that shows them must audit the read).
    """
    if not console_centres_for(user).exists():
        return InboundSms.objects.none()
    return InboundSms.objects.filter(result=SmsResult.REJECTED).order_by("-received_at")[:limit]


def incident_sms(incident: Incident) -> QuerySet[InboundSms]:
    """The SMS that raised or joined ``incident`` (for the timeline: reason, arrival)."""
    return InboundSms.objects.filter(incident=incident).order_by("received_at")


# A follow-up's device and the incident of the alarm it names (what a position reads of it:
# msa.alarms.services.tracking), in one statement: the device API reads both for every
# position, call and cancel (one round trip fewer, twice: docs/performance.md steps 19, 28).
_DEVICE_AND_FOLLOWUP = Statement(
    Device,
    "SELECT "  # noqa: S608 - field names checked by Statement, placeholders
    + ", ".join("{table}.{" + name + "}" for name in REQUEST_COLUMNS)
    + ", "
    + ", ".join("{incident}.{incident." + name + "}" for name in TRACKED_COLUMNS)
    + " FROM {table} LEFT JOIN {incident} ON {incident}.{incident.device} = {table}.{pk}"
    " AND {incident}.{incident.alarm_id} = %s WHERE {table}.{device_id} = %s",
    writes=[None, "device_id"],
    reads=REQUEST_COLUMNS,
    others={"incident": Incident},
)
_ALARM_ID = Incident._meta.get_field("alarm_id")


@dataclass(frozen=True, slots=True)
class Followup:
    """A follow-up's device, and the incident its alarm id names (``None``: none of its own
    press; a repeat press's alarm id is for :func:`repeat_press_alarm_is_open`), read without
    a lock before the signature is checked: used only once it holds."""

    device: Device
    incident: Incident | None

    @property
    def own_press_open(self) -> bool:
        return self.incident is not None and self.incident.status in OPEN_STATE_VALUES


def device_with_followup(device_id: str, alarm_id: uuid.UUID) -> Followup | None:
    """The device of ``device_id`` (protocol.md's id, with the columns of
    :func:`~msa.devices.selectors.device_for_request`) and the incident of ``alarm_id`` if it
    is its own press's; ``None`` when no device has that id."""
    key = _ALARM_ID.get_db_prep_save(alarm_id, connection)
    found = _DEVICE_AND_FOLLOWUP.instance_and(key, device_id)
    if found is None:
        return None
    device, incident_row = found
    return Followup(device, tracked_incident_of(incident_row))


def repeat_press_alarm_is_open(device: Device, alarm_id: uuid.UUID) -> bool:
    """Whether ``alarm_id`` is the id of a repeat press of ``device`` that joined an open
    incident (its follow-ups are never rate limited, as its own press's are)."""
    return RepeatPress.objects.filter(
        device=device, alarm_id=alarm_id, incident__status__in=OPEN_STATE_VALUES
    ).exists()
