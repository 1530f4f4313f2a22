"""Scoped reads of what the ingest adapters kept."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from msa.accounts.models import User
from msa.accounts.selectors import console_centres_for
from msa.alarms.models import Incident, RepeatPress
from msa.alarms.states import OPEN_STATE_VALUES
from msa.core.sql import Statement, placeholders
from msa.devices.models import Device
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


# Asked for every follow-up of an alarm (the rate limit's exemption): prepared once
# (msa.core.sql); a repeat press's id, rarer, goes through the ORM.
_OPEN_ALARM = Statement(
    Incident,
    "SELECT 1 FROM {table} WHERE {device} = %s AND {alarm_id} = %s AND {status} IN "  # noqa: S608 - placeholders only
    f"({placeholders(len(OPEN_STATE_VALUES))})",
    writes=["device", "alarm_id", *["status"] * len(OPEN_STATE_VALUES)],
)


def device_alarm_is_open(device: Device, alarm_id: uuid.UUID) -> bool:
    """Whether ``alarm_id`` names an open incident of ``device`` (its own press, or a repeat
    press that joined it): its follow-ups are never rate limited."""
    if _OPEN_ALARM.exists(device.pk, alarm_id, *OPEN_STATE_VALUES):
        return True
    return RepeatPress.objects.filter(
        device=device, alarm_id=alarm_id, incident__status__in=OPEN_STATE_VALUES
    ).exists()
