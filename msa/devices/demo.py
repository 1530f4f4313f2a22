"""The demo's devices: each seeded active case borrows a button, a phone (paired with the
case's enrolled device) and a SIM; the first case's district gets a few spare items in stock,
so that a new case can be equipped in the demo.

The cases half of the demo dossier is ``msa.cases.demo.demo_case_dossier``; ``msa.demo.seed``
calls both."""

from __future__ import annotations

from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.core.transitions import history_start
from msa.devices.models import Device, InventoryItem, ItemKind, Loan
from msa.devices.states import ITEM_MACHINE, ItemStatus, ItemTransitionName

SEED_ACTOR = Actor.system("demo-seed")


def demo_case_equipment(*, case: ProtectionCase, device: Device, number: int) -> None:
    now = clock.now()
    office = case.police_zone.prosecutor_office
    assert office is not None
    for kind, serial in (
        (ItemKind.BUTTON, f"BTN-DEMO-{number:03d}"),
        (ItemKind.PHONE, f"PHN-DEMO-{number:03d}"),
        (ItemKind.SIM, f"SIM-DEMO-{number:03d}"),
    ):
        stock = InventoryItem.objects.create(
            kind=kind,
            serial=serial,
            imei=f"35000000000{number:04d}" if kind == ItemKind.PHONE else "",
            iccid=f"89320000000000{number:05d}" if kind == ItemKind.SIM else "",
            owner="FOD Justitie",
            budget="MSA pilot",
            district=office,
            status=ItemStatus.LOANED,
            added_at=now,
        )
        history_start(
            ITEM_MACHINE, stock, transition=ItemTransitionName.ADD, actor=SEED_ACTOR, at=now
        )
        Loan.objects.create(
            item=stock,
            case=case,
            device=device if kind == ItemKind.PHONE else None,
            loaned_at=now,
            loaned_by="reference",
        )
    if number == 1:
        for i in range(1, 4):
            for kind, prefix in (
                (ItemKind.BUTTON, "BTN"),
                (ItemKind.PHONE, "PHN"),
                (ItemKind.SIM, "SIM"),
            ):
                spare = InventoryItem.objects.create(
                    kind=kind,
                    serial=f"{prefix}-STOCK-{i:03d}",
                    owner="FOD Justitie",
                    budget="MSA pilot",
                    district=office,
                    added_at=now,
                )
                history_start(
                    ITEM_MACHINE, spare, transition=ItemTransitionName.ADD, actor=SEED_ACTOR, at=now
                )
