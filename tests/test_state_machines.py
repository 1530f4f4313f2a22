"""Every state machine, walked: each transition from each state, allowed or refused.

The machines are found, not listed: every ``StateMachine`` in a ``msa.<app>.states`` module.
Each needs a factory that makes an instance in a given state (``FACTORIES``); a new machine
without one fails here until it has one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction

from msa.alarms.states import INCIDENT_MACHINE, IncidentTransitionName
from msa.alarms.tests import factories as alarms
from msa.audit.models import AuditEntry
from msa.cases.tests import factories as cases
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.core.errors import TransitionNotAllowedError
from msa.core.transitions import StateMachine, all_pairs, transition_apply
from msa.devices.tests import factories as devices
from msa.dispatch.tests import factories as dispatch
from msa.evaluation.tests import factories as evaluation

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
ACTOR = Actor.system("test")


def discover_machines() -> dict[str, StateMachine[Any, Any]]:
    """Every ``StateMachine`` declared in the ``states`` module of an MSA app, by name."""
    found: dict[str, StateMachine[Any, Any]] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("msa."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.states")
        except ModuleNotFoundError as missing:
            if missing.name == f"{config.name}.states":
                continue
            raise
        for value in vars(module).values():
            if isinstance(value, StateMachine):
                other = found.setdefault(value.name, value)
                assert other is value, f"two machines are named {value.name!r}"
    return found


MACHINES = discover_machines()

# machine name -> a function that makes an instance in the given state
FACTORIES: dict[str, Callable[[str], models.Model]] = {
    "incident": alarms.incident_in,
    "call": alarms.incident_with_call,
    "case": cases.case_in,
    "referral": cases.referral_in,
    "application": cases.application_in,
    "dispatch": dispatch.dispatch_in,
    "unit": dispatch.unit_in,
    "device": devices.device_in,
    "inventory": devices.item_in,
    "incident_review": evaluation.review_in,
}

WALK = [
    (name, transition, state, allowed)
    for name, machine in sorted(MACHINES.items())
    for transition, state, allowed in all_pairs(machine)
]


def test_the_machines_are_found() -> None:
    assert {"incident", "case", "dispatch"} <= set(MACHINES)


def test_every_machine_has_a_factory_and_every_factory_a_machine() -> None:
    assert sorted(set(MACHINES) - set(FACTORIES)) == [], "add a factory to FACTORIES"
    assert sorted(set(FACTORIES) - set(MACHINES)) == [], "a factory for no machine"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "transition", "state", "allowed"),
    WALK,
    ids=[f"{n}-{t}-from-{s}" for n, t, s, _ in WALK],
)
def test_every_transition_from_every_state(
    demo: None, clock: Clock, name: str, transition: Any, state: Any, allowed: bool
) -> None:
    machine = MACHINES[name]
    if name not in FACTORIES:
        pytest.fail(f"the {name} machine has no factory in FACTORIES")
    clock.freeze(NOW)
    instance = FACTORIES[name](state)
    field = machine.state_field
    assert getattr(instance, field) == state
    history = machine.history_model._default_manager.filter(subject=instance)  # type: ignore[misc]  # each concrete history model has a subject
    history_before, audit_before = history.count(), AuditEntry.objects.count()
    milestone = machine.milestones.get(transition)
    milestone_before = getattr(instance, milestone) if milestone else None

    if allowed:
        with transaction.atomic():
            updated = transition_apply(machine, instance, transition, actor=ACTOR)
        to = machine.table[transition][1]
        instance.refresh_from_db()
        assert getattr(updated, field) == getattr(instance, field) == to
        assert history.count() == history_before + 1
        last = history.order_by("-id").first()
        assert last is not None
        assert (last.transition, last.from_state, last.to_state) == (transition, state, to)
        assert (last.actor_label, last.at) == (ACTOR.label, NOW)
        assert AuditEntry.objects.count() == audit_before + 1
        audit = AuditEntry.objects.order_by("-id").first()
        assert audit is not None
        assert audit.action == f"{machine.name}.{transition}"
        if milestone:
            assert getattr(instance, milestone) == (milestone_before or NOW)
    else:
        with pytest.raises(TransitionNotAllowedError), transaction.atomic():
            transition_apply(machine, instance, transition, actor=ACTOR)
        instance.refresh_from_db()
        assert getattr(instance, field) == state
        assert history.count() == history_before
        assert AuditEntry.objects.count() == audit_before
        if milestone:
            assert getattr(instance, milestone) == milestone_before


@pytest.mark.django_db
def test_milestones_are_set_once(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = alarms.incident_in("received")
    dispatch_ = IncidentTransitionName.DISPATCH
    with transaction.atomic():
        incident = transition_apply(INCIDENT_MACHINE, incident, dispatch_, actor=ACTOR)
    first = incident.dispatched_at
    assert first == NOW
    clock.freeze(NOW.replace(minute=20))
    with transaction.atomic():
        incident = transition_apply(INCIDENT_MACHINE, incident, dispatch_, actor=ACTOR)
    assert incident.dispatched_at == first


@pytest.mark.django_db(transaction=True)
def test_transition_outside_a_transaction_is_refused(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = alarms.incident_in("received")
    with pytest.raises(RuntimeError, match="inside a transaction"):
        transition_apply(
            INCIDENT_MACHINE, incident, IncidentTransitionName.ACKNOWLEDGE, actor=ACTOR
        )
