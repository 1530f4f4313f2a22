"""Deterministic factories for alarms, on top of the demo region (no random data)."""

from __future__ import annotations

from msa.alarms.models import Incident
from msa.core import clock
from tests.support.factories import press


def incident_in(status: str, *, victim: int = 1, number: int = 1) -> Incident:
    """A demo victim's incident, raised now and put straight into ``status``."""
    incident = press(victim, at=clock.now(), number=number).incident
    Incident.objects.filter(pk=incident.pk).update(status=status)
    incident.refresh_from_db()
    return incident


def incident_with_call(call_state: str, *, victim: int = 1, number: int = 1) -> Incident:
    """A demo victim's incident whose emergency call is in ``call_state``."""
    incident = press(victim, at=clock.now(), number=number).incident
    Incident.objects.filter(pk=incident.pk).update(call_state=call_state)
    incident.refresh_from_db()
    return incident
