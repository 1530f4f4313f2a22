"""Races, on PostgreSQL (SQLite serialises writers): two operators, one alarm."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from msa.accounts.models import Membership, Organisation, Role, User
from msa.alarms.models import Incident
from msa.core.actors import Actor
from msa.core.errors import ConflictError, MsaError
from msa.dispatch.models import Dispatch, Unit
from msa.dispatch.services.console import incident_acknowledge
from msa.dispatch.services.dispatching import dispatch_create
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)

# SQLite serialises writers, so a race cannot happen there: these run in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_only


def _race(*calls: object) -> list[object]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int, call: object) -> None:
        try:
            barrier.wait()
            results[i] = call()  # type: ignore[operator]
        except MsaError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_operators_acknowledge_at_once_exactly_one_wins(demo: None) -> None:
    incident = press(at=NOW).incident
    second = User.objects.create_user(username="operator2", password="x")
    Membership.objects.create(
        user=second, organisation=Organisation.objects.get(code="OVL"), role=Role.OPERATOR
    )
    first = User.objects.get(username="operator")
    results = _race(
        lambda: incident_acknowledge(incident=incident, actor=Actor.for_user(first)),
        lambda: incident_acknowledge(incident=incident, actor=Actor.for_user(second)),
    )
    winners = [r for r in results if isinstance(r, Incident)]
    assert len(winners) == 1
    assert len([r for r in results if isinstance(r, MsaError)]) == 1
    incident.refresh_from_db()
    assert incident.transitions.filter(transition="acknowledge").count() == 1
    assert incident.acknowledged_by == winners[0].acknowledged_by


@pytest.mark.django_db(transaction=True)
def test_one_unit_sent_to_two_incidents_at_once_goes_to_one(demo: None) -> None:
    a = press(at=NOW).incident
    b = press(victim=2, at=NOW, number=2).incident
    unit = Unit.objects.get(call_sign="G-11")
    actor = Actor.for_user(User.objects.get(username="operator"))
    results = _race(
        lambda: dispatch_create(incident=a, unit_ids=[unit.pk], actor=actor),
        lambda: dispatch_create(incident=b, unit_ids=[unit.pk], actor=actor),
    )
    assert len([r for r in results if isinstance(r, ConflictError)]) == 1
    assert Dispatch.objects.filter(unit=unit).count() == 1
