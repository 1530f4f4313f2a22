"""Deterministic factories for the evaluation part, on top of the demo region."""

from __future__ import annotations

from datetime import timedelta

from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Outcome
from msa.alarms.tests.factories import incident_in
from msa.core import clock
from msa.evaluation.models import IncidentReview


def closed_incident(
    *, victim: int = 1, number: int = 1, outcome: Outcome = Outcome.ARRESTED_ON_SCENE
) -> Incident:
    """A demo victim's live incident, closed now with ``outcome``."""
    incident = incident_in(IncidentState.CLOSED, victim=victim, number=number)
    now = clock.now()
    Incident.objects.filter(pk=incident.pk).update(
        outcome=str(outcome),
        acknowledged_at=incident.received_at + timedelta(seconds=12),
        dispatched_at=incident.received_at + timedelta(seconds=70),
        on_scene_at=incident.received_at + timedelta(minutes=8),
        closed_at=now,
    )
    incident.refresh_from_db()
    return incident


def review_in(status: str, *, victim: int = 1, number: int = 1) -> IncidentReview:
    """The review of a closed demo incident, put straight into ``status``."""
    incident = closed_incident(victim=victim, number=number)
    now = clock.now()
    return IncidentReview.objects.create(
        incident=incident, status=status, created_at=now, due_at=now + timedelta(days=14)
    )
