"""The incident state machine: every allowed transition works, every other is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from msa.alarms.models import Incident
from msa.alarms.states import INCIDENT_MACHINE, IncidentState
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.core.errors import TransitionNotAllowedError
from msa.core.transitions import all_pairs, transition_apply
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
PAIRS = list(all_pairs(INCIDENT_MACHINE))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("transition", "state", "allowed"),
    PAIRS,
    ids=[f"{t}-from-{s}" for t, s, _ in PAIRS],
)
def test_every_transition_from_every_state(
    demo: None, clock: Clock, transition: str, state: IncidentState, allowed: bool
) -> None:
    from django.db import transaction

    clock.freeze(NOW)
    incident = press(at=NOW).incident
    Incident.objects.filter(pk=incident.pk).update(status=state)
    incident.refresh_from_db()
    audits_before = AuditEntry.objects.count()
    actor = Actor.system("test")
    if allowed:
        with transaction.atomic():
            updated = transition_apply(INCIDENT_MACHINE, incident, transition, actor=actor)  # type: ignore[arg-type]
        assert updated.status == INCIDENT_MACHINE.table[transition][1]  # type: ignore[index]
        history = incident.transitions.order_by("-id").first()
        assert history is not None
        assert (history.transition, history.from_state) == (transition, state)
        assert AuditEntry.objects.count() == audits_before + 1
    else:
        with pytest.raises(TransitionNotAllowedError), transaction.atomic():
            transition_apply(INCIDENT_MACHINE, incident, transition, actor=actor)  # type: ignore[arg-type]
        incident.refresh_from_db()
        assert incident.status == state
        assert AuditEntry.objects.count() == audits_before


@pytest.mark.django_db
def test_milestones_are_set_once(demo: None, clock: Clock) -> None:
    from django.db import transaction

    clock.freeze(NOW)
    incident = press(at=NOW).incident
    with transaction.atomic():
        incident = transition_apply(INCIDENT_MACHINE, incident, "dispatch", actor=Actor.system("t"))  # type: ignore[arg-type]
    first = incident.dispatched_at
    assert first == NOW
    clock.freeze(NOW.replace(minute=20))
    with transaction.atomic():
        incident = transition_apply(INCIDENT_MACHINE, incident, "dispatch", actor=Actor.system("t"))  # type: ignore[arg-type]
    assert incident.dispatched_at == first


@pytest.mark.django_db(transaction=True)
def test_transition_outside_a_transaction_is_refused(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    with pytest.raises(RuntimeError, match="inside a transaction"):
        transition_apply(INCIDENT_MACHINE, incident, "acknowledge", actor=Actor.system("t"))  # type: ignore[arg-type]
