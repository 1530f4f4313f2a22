"""The device and inventory item machines: every allowed transition works, every other is
refused, and each writes one history row and one audit row."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest
from django.db import models, transaction

from msa.accounts.models import Organisation, OrgKind
from msa.audit.models import AuditEntry
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import TransitionNotAllowedError
from msa.core.transitions import StateMachine, all_pairs, transition_apply
from msa.devices.models import Device, InventoryItem
from msa.devices.states import DEVICE_MACHINE, ITEM_MACHINE

pytestmark = pytest.mark.django_db


def _device(state: StrEnum) -> models.Model:
    return Device.objects.create(
        device_id="dev-walk", key="x", status=state, enrolled_at=clock.now()
    )


def _item(state: StrEnum) -> models.Model:
    office = Organisation.objects.create(kind=OrgKind.PROSECUTOR_OFFICE, name="PK", code="PKW")
    return InventoryItem.objects.create(
        kind="button", serial="W-1", district=office, status=state, added_at=clock.now()
    )


CASES: list[tuple[StateMachine[Any, Any], Any]] = [(DEVICE_MACHINE, _device), (ITEM_MACHINE, _item)]
PAIRS = [(m, make, t, s, ok) for m, make in CASES for t, s, ok in all_pairs(m)]


@pytest.mark.parametrize(
    ("machine", "make", "transition", "state", "allowed"),
    PAIRS,
    ids=[f"{m.name}-{t}-from-{s}" for m, _, t, s, _ in PAIRS],
)
def test_every_transition_from_every_state(
    machine: StateMachine[Any, Any], make: Any, transition: StrEnum, state: StrEnum, allowed: bool
) -> None:
    row = make(state)
    actor = Actor.system("test")
    audits = AuditEntry.objects.count()
    history = machine.history_model._default_manager
    if allowed:
        with transaction.atomic():
            updated = transition_apply(machine, row, transition, actor=actor)
        assert updated.status == machine.table[transition][1]
        last = history.order_by("-id").first()
        assert last is not None
        assert (last.transition, last.from_state) == (transition, state)
        assert AuditEntry.objects.count() == audits + 1
    else:
        with pytest.raises(TransitionNotAllowedError), transaction.atomic():
            transition_apply(machine, row, transition, actor=actor)
        row.refresh_from_db()
        assert row.status == state
        assert AuditEntry.objects.count() == audits
        assert not history.exists()
