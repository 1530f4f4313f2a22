"""One revocation path: every workflow that revokes a device flags its open incidents."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import transaction

from msa.alarms.models import Incident
from msa.alarms.revocation import device_revoke, loan_pair, loan_return
from msa.audit.models import AuditEntry
from msa.cases.models import ProtectionCase
from msa.cases.tests import factories as h
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.demo_data import demo_device_id
from msa.devices.inventory import loan_pair_step, loan_return_step
from msa.devices.models import Device, DeviceTransition, ItemTransition, Loan
from msa.devices.services import device_revoke_step
from msa.devices.states import DeviceStatus, ItemStatus
from msa.realtime.models import IncidentEvent
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
STEPS = frozenset({"device_revoke_step", "loan_return_step", "loan_pair_step"})

pytestmark = pytest.mark.django_db


def _open_incident(clock: Clock) -> tuple[Incident, Device]:
    clock.freeze(NOW)
    incident = press(1, at=NOW).incident
    assert incident.device_revoked_at is None
    return incident, Device.objects.get(device_id=demo_device_id(1))


def _assert_flagged(incident: Incident) -> None:
    incident.refresh_from_db()
    assert incident.device_revoked_at == NOW
    assert IncidentEvent.objects.filter(incident=incident, type="alarm.device_revoked").exists()
    assert AuditEntry.objects.filter(action="incident.device_revoked").count() == 1


def test_returning_the_phone_flags_the_open_incidents_of_its_device(
    demo: None, clock: Clock
) -> None:
    incident, device = _open_incident(clock)
    phone = Loan.objects.get(device=device, returned_at__isnull=True)
    loan_return(loan=phone, condition="ok", actor=h.actor("reference"))
    device.refresh_from_db()
    assert (device.status, device.revoked_at) == (DeviceStatus.REVOKED, NOW)
    _assert_flagged(incident)
    # returning it twice flags nothing more
    loan_return(loan=phone, condition="ok", actor=h.actor("reference"))
    assert AuditEntry.objects.filter(action="incident.device_revoked").count() == 1


def test_returning_another_item_revokes_and_flags_nothing(demo: None, clock: Clock) -> None:
    incident, device = _open_incident(clock)
    button = Loan.objects.get(case=device.case, item__kind="button", returned_at__isnull=True)
    loan_return(loan=button, condition="repair", actor=h.actor("reference"))
    button.item.refresh_from_db()
    assert button.item.status == ItemStatus.IN_REPAIR
    device.refresh_from_db()
    incident.refresh_from_db()
    assert device.status == DeviceStatus.ACTIVE
    assert incident.device_revoked_at is None


def test_re_pairing_flags_the_open_incidents_of_the_earlier_device(
    demo: None, clock: Clock
) -> None:
    incident, device = _open_incident(clock)
    assert device.case is not None
    pairing = loan_pair(case=device.case, actor=h.actor("reference"))
    assert pairing.revoked is not None
    assert pairing.revoked.pk == device.pk
    device.refresh_from_db()
    assert device.status == DeviceStatus.REVOKED
    assert pairing.device.status == DeviceStatus.ACTIVE
    _assert_flagged(incident)


def test_the_one_click_revocation_writes_the_history(demo: None, clock: Clock) -> None:
    incident, device = _open_incident(clock)
    assert device_revoke(device=device, actor=Actor.system("t"), reason="phone taken") == 1
    _assert_flagged(incident)
    rows = list(DeviceTransition.objects.filter(subject=device).order_by("id"))
    assert [(r.transition, r.from_state, r.to_state) for r in rows] == [
        ("enroll", "", "active"),
        ("revoke", "active", "revoked"),
    ]
    assert rows[1].reason == "phone taken"
    assert AuditEntry.objects.filter(action="device.revoke").count() == 1


def test_lending_and_returning_write_the_item_history(demo: None) -> None:
    case, _device = h.equipped(h.new_case())
    phone = Loan.objects.get(case=case, item__kind="phone")
    loan_return(loan=phone, condition="lost", actor=h.actor("reference"))
    rows = ItemTransition.objects.filter(subject=phone.item).order_by("id")
    assert [(r.transition, r.from_state, r.to_state) for r in rows] == [
        ("add", "", "in_stock"),
        ("lend", "in_stock", "loaned"),
        ("lose", "loaned", "lost"),
    ]


@pytest.mark.django_db(transaction=True)
def test_the_steps_run_only_inside_a_transaction() -> None:
    device = Device.objects.create(device_id="dev-step", key="x", enrolled_at=NOW)
    actor = Actor.system("t")
    with pytest.raises(RuntimeError):
        device_revoke_step(device=device, actor=actor, at=NOW)
    with pytest.raises(RuntimeError):
        loan_return_step(loan=Loan(), condition="ok", actor=actor, at=NOW)
    with pytest.raises(RuntimeError):
        loan_pair_step(case=ProtectionCase(), actor=actor, at=NOW)
    device.refresh_from_db()
    assert device.status == DeviceStatus.ACTIVE
    with transaction.atomic():
        assert device_revoke_step(device=device, actor=actor, at=NOW) is not None
        assert device_revoke_step(device=device, actor=actor, at=NOW) is None  # already


def test_only_the_revocation_workflows_call_the_steps() -> None:
    """A step called from anywhere else would revoke without flagging the open incidents."""
    root = Path(__file__).resolve().parents[2]
    allowed = {
        root / "alarms" / "revocation.py",
        root / "devices" / "inventory.py",
        root / "devices" / "services.py",
    }
    callers = []
    for path in root.rglob("*.py"):
        if path in allowed or (root / "devices" / "tests") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.Attribute):
                names = {node.attr}
            else:
                continue
            if names & STEPS:
                callers.append(f"{path.relative_to(root)}:{node.lineno}")
    assert callers == []
