"""Two workers sweeping the reviews at once, on PostgreSQL (SQLite serialises writers): one
review per incident, one alert per overdue review."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from msa.core.clock import Clock
from msa.evaluation.models import IncidentReview
from msa.evaluation.sweeps import sweep_incident_reviews
from msa.evaluation.tests.factories import closed_incident
from msa.messaging.models import OutboundMessage

NOW = datetime(2026, 5, 5, 8, 0, tzinfo=UTC)

pytestmark = pytest.mark.postgres_only


def _two_at_once() -> list[int]:
    barrier = threading.Barrier(2)
    results: list[int] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(sweep_incident_reviews())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(results)


@pytest.mark.django_db(transaction=True)
def test_two_workers_open_one_review_and_escalate_it_once(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = closed_incident(victim=1)
    assert _two_at_once() == [0, 1]
    assert IncidentReview.objects.filter(incident=incident).count() == 1
    clock.advance(timedelta(days=15))
    assert _two_at_once() == [0, 1]
    ref = incident.reference
    assert OutboundMessage.objects.filter(subject=f"Overdue incident review — {ref}").count() == 1
