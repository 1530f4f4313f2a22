"""Scoped reads of what the ingest adapters kept."""

from __future__ import annotations

import uuid

from django.db import connection
from django.db.models import QuerySet

from msa.accounts.models import User
from msa.accounts.selectors import console_centres_for
from msa.alarms.models import Incident, RepeatPress
from msa.alarms.states import OPEN_STATE_VALUES
from msa.core.sql import Statement, placeholders
from msa.devices.models import Device
from msa.devices.selectors import REQUEST_COLUMNS, REQUEST_SELECT
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


# A follow-up's device and whether the alarm it names is an open incident of the device's own
# press, in one statement: the device API reads both for every position (one round trip fewer).
_DEVICE_AND_OWN_ALARM_OPEN = Statement(
    Device,
    f"SELECT {REQUEST_SELECT}, EXISTS (SELECT 1 FROM {{incident}}"  # noqa: S608 - field names checked by Statement, placeholders
    " WHERE {incident.device} = {table}.{pk} AND {incident.alarm_id} = %s AND {incident.status} IN "
    f"({placeholders(len(OPEN_STATE_VALUES))})) FROM {{table}} WHERE {{device_id}} = %s",
    writes=[None, *[None] * len(OPEN_STATE_VALUES), "device_id"],
    reads=REQUEST_COLUMNS,
    others={"incident": Incident},
)
_ALARM_ID = Incident._meta.get_field("alarm_id")


def device_with_own_alarm_open(device_id: str, alarm_id: uuid.UUID) -> tuple[Device, bool] | None:
    """The device of ``device_id`` (protocol.md's id, with the columns of
    :func:`~msa.devices.selectors.device_for_request`) and whether ``alarm_id`` names an open
    incident of its own press; ``None`` when no device has that id. (A repeat press's alarm id
    is for :func:`repeat_press_alarm_is_open`.)"""
    key = _ALARM_ID.get_db_prep_save(alarm_id, connection)
    found = _DEVICE_AND_OWN_ALARM_OPEN.instance_and(key, *OPEN_STATE_VALUES, device_id)
    if found is None:
        return None
    device, (own_open,) = found
    return device, bool(own_open)


def repeat_press_alarm_is_open(device: Device, alarm_id: uuid.UUID) -> bool:
    """Whether ``alarm_id`` is the id of a repeat press of ``device`` that joined an open
    incident (its follow-ups are never rate limited, as its own press's are)."""
    return RepeatPress.objects.filter(
        device=device, alarm_id=alarm_id, incident__status__in=OPEN_STATE_VALUES
    ).exists()
