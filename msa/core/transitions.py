"""The transition machinery shared by every state machine (incident, case, loan ...).

A state machine is data: a ``StrEnum`` of states, a ``StrEnum`` of transition names and
a table ``{transition: (allowed_from, to)}``. ``transition_apply`` is the one function
that changes a state: it locks the row, checks the table, writes the new state, the
milestone timestamp if the transition has one, an append-only history row and the audit
row, all in the caller's transaction.

Each machine is declared in its app's ``states.py``. ``core`` knows no other app: the machine
names its history model by label (``"alarms.IncidentTransition"``, resolved when first used, so
that ``states.py`` need not import the ``models.py`` that imports it) and brings its audit
writer (``msa.audit.services.audit_record``) with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

from django.apps import apps
from django.db import models, transaction
from django.utils.translation import gettext_noop

from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import TransitionNotAllowedError
from msa.core.models import TransitionHistory
from msa.core.sql import insert_row

S = TypeVar("S", bound=StrEnum)
T = TypeVar("T", bound=StrEnum)
M = TypeVar("M", bound=models.Model)


class AuditWriter(Protocol):
    """What ``transition_apply`` calls to write the audit row (``audit_record``)."""

    def __call__(
        self,
        *,
        actor: Actor,
        action: str,
        subject: models.Model,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        reason: str,
        at: datetime,
    ) -> object: ...


@dataclass(frozen=True)
class StateMachine(Generic[S, T]):
    """The allowed changes of one aggregate's ``state_field``."""

    name: str
    states: type[S]
    table: Mapping[T, tuple[frozenset[S], S]]
    # "app_label.ModelName" of the concrete TransitionHistory
    history_label: str
    audit: AuditWriter
    state_field: str = "status"
    # transition -> name of the timestamp field it sets the first time (milestones)
    milestones: Mapping[T, str] = field(default_factory=dict)

    @cached_property
    def history_model(self) -> type[TransitionHistory]:
        model = apps.get_model(self.history_label)
        if not issubclass(model, TransitionHistory):
            raise TypeError(f"{self.history_label} is not a TransitionHistory")
        return model

    def allowed(self, current: S | str) -> list[T]:
        return [t for t, (sources, _to) in self.table.items() if current in sources]

    def target(self, transition: T, current: S | str) -> S:
        sources, to = self.table[transition]
        if current not in sources:
            raise TransitionNotAllowedError(
                gettext_noop("%(machine)s: '%(transition)s' is not allowed from '%(state)s'"),
                params={"machine": self.name, "transition": str(transition), "state": str(current)},
            )
        return to


def sources(*states: S) -> frozenset[S]:
    return frozenset(states)


def transition_apply(
    machine: StateMachine[Any, Any],
    instance: M,
    transition: StrEnum,
    *,
    actor: Actor,
    reason: str = "",
    at: datetime | None = None,
    changes: Mapping[str, Any] | None = None,
) -> M:
    """Lock ``instance``, check and apply ``transition``; return the locked, updated row.

    ``changes`` are further fields written with the new state (e.g. an outcome).
    Raises ``TransitionNotAllowedError`` when the table does not allow it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition_apply must run inside a transaction")
    when = at or clock.now()
    locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    current = getattr(locked, machine.state_field)
    to = machine.target(transition, current)

    update_fields = [machine.state_field]
    setattr(locked, machine.state_field, to)
    milestone = machine.milestones.get(transition)
    if milestone and getattr(locked, milestone) is None:
        setattr(locked, milestone, when)
        update_fields.append(milestone)
    for name, value in (changes or {}).items():
        setattr(locked, name, value)
        update_fields.append(name)
    locked.save(update_fields=update_fields)

    machine.history_model._default_manager.create(
        subject=locked,  # type: ignore[misc]  # each concrete history model has a subject
        transition=str(transition),
        from_state=str(current),
        to_state=str(to),
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        reason=reason,
        at=when,
    )
    machine.audit(
        actor=actor,
        action=f"{machine.name}.{transition}",
        subject=locked,
        old={machine.state_field: str(current)},
        new={machine.state_field: str(to), **{k: _plain(v) for k, v in (changes or {}).items()}},
        reason=reason,
        at=when,
    )
    return locked


def history_first(
    machine: StateMachine[Any, Any],
    instance: models.Model,
    *,
    transition: StrEnum,
    actor: Actor,
    at: datetime,
    reason: str = "",
) -> models.Model:
    """The first history row of a new aggregate (from no state to its initial state), not
    stored: for :func:`msa.core.sql.insert_rows` with the aggregate's own row."""
    return machine.history_model(
        subject=instance,  # type: ignore[misc]  # each concrete history model has a subject
        transition=str(transition),
        from_state="",
        to_state=str(getattr(instance, machine.state_field)),
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        reason=reason,
        at=at,
    )


def history_start(
    machine: StateMachine[Any, Any],
    instance: models.Model,
    *,
    transition: StrEnum,
    actor: Actor,
    at: datetime,
    reason: str = "",
) -> None:
    """The first history row of a new aggregate, stored (the aggregate is stored already)."""
    insert_row(
        history_first(machine, instance, transition=transition, actor=actor, at=at, reason=reason)
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def all_pairs(machine: StateMachine[S, T]) -> Iterable[tuple[T, S, bool]]:
    """Every (transition, from-state, allowed?) — what the transition tests walk."""
    for transition, (allowed_from, _to) in machine.table.items():
        for state in machine.states:
            yield transition, state, state in allowed_from
