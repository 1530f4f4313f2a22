"""Scoped reads of what the ingest adapters kept."""

from __future__ import annotations

from django.db.models import QuerySet

from msa.accounts.models import User
from msa.accounts.selectors import console_centres_for
from msa.alarms.models import Incident
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
