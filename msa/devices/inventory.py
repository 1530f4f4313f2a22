"""The inventory of buttons, phones and SIMs, and their loans to protection cases.

One open loan per item is a database constraint (``loan_one_open_per_item``); a second
officer lending the same item at the same moment gets a ConflictError, never two loans.
Pairing issues the device credentials through ``msa.devices.services.device_enroll``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from msa.accounts.models import Organisation, OrgKind
from msa.audit.services import audit_record
from msa.cases.models import ActivationChecklist, ProtectionCase
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, ValidationError
from msa.devices.models import (
    Device,
    DeviceStatus,
    InventoryItem,
    ItemKind,
    ItemStatus,
    Loan,
)
from msa.devices.services import device_enroll

# Items can be lent while the case is being enrolled, and replaced while it is live.
LENDABLE_STATES = frozenset({CaseState.ENROLLING, CaseState.ACTIVE, CaseState.UNDER_REVIEW})
RETURN_CONDITIONS = {
    "ok": ItemStatus.IN_STOCK,
    "repair": ItemStatus.IN_REPAIR,
    "lost": ItemStatus.LOST,
    "retired": ItemStatus.RETIRED,
}


@dataclass(frozen=True, slots=True)
class Pairing:
    device: Device
    key: bytes


@transaction.atomic(durable=True)
def item_add(
    *,
    kind: str,
    serial: str,
    district: Organisation,
    actor: Actor,
    imei: str = "",
    iccid: str = "",
    model_name: str = "",
    owner: str = "",
    budget: str = "",
) -> InventoryItem:
    if kind not in ItemKind.values:
        raise ValidationError("unknown kind", fields={"kind": kind})
    if district.kind != OrgKind.PROSECUTOR_OFFICE:
        raise ValidationError("stock belongs to a judicial district", fields={"district": "kind"})
    if not serial.strip():
        raise ValidationError("a serial number", fields={"serial": "required"})
    if imei and not (imei.isdigit() and len(imei) in {15, 16}):
        raise ValidationError("an IMEI is 15 or 16 digits", fields={"imei": "invalid"})
    if iccid and not (iccid.isdigit() and 18 <= len(iccid) <= 22):
        raise ValidationError("an ICCID is 18 to 22 digits", fields={"iccid": "invalid"})
    try:
        with transaction.atomic():
            item = InventoryItem.objects.create(
                kind=kind,
                serial=serial.strip(),
                imei=imei,
                iccid=iccid,
                model_name=model_name,
                owner=owner,
                budget=budget,
                district=district,
                added_at=clock.now(),
            )
    except IntegrityError:
        raise ConflictError("an item of this kind with this serial exists") from None
    audit_record(
        actor=actor,
        action="inventory.add",
        subject=item,
        new={"kind": kind, "serial": item.serial, "district": district.code},
    )
    return item


@transaction.atomic(durable=True)
def item_set_status(*, item: InventoryItem, status: str, actor: Actor) -> InventoryItem:
    """Mark an item that is not lent as in stock, in repair, lost or retired."""
    if status not in ItemStatus.values or status == ItemStatus.LOANED:
        raise ValidationError("unknown status", fields={"status": status})
    locked = InventoryItem.objects.select_for_update().get(pk=item.pk)
    if locked.loans.filter(returned_at__isnull=True).exists():
        raise ConflictError("the item is lent: record its return first")
    old = locked.status
    locked.status = status
    locked.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="inventory.status",
        subject=locked,
        old={"status": old},
        new={"status": status},
    )
    return locked


@transaction.atomic(durable=True)
def loan_create(*, item: InventoryItem, case: ProtectionCase, actor: Actor) -> Loan:
    """Lend ``item`` to ``case``: the item must be in stock in the case's district."""
    if case.status not in LENDABLE_STATES:
        raise ValidationError("devices are lent once consent is recorded", fields={"case": "state"})
    locked = InventoryItem.objects.select_for_update().get(pk=item.pk)
    if locked.district_id != case.police_zone.prosecutor_office_id:
        raise ValidationError("the item belongs to another district", fields={"item": "district"})
    if locked.status != ItemStatus.IN_STOCK:
        raise ConflictError("the item is not in stock")
    now = clock.now()
    try:
        with transaction.atomic():
            loan = Loan.objects.create(item=locked, case=case, loaned_at=now, loaned_by=actor.label)
    except IntegrityError:
        raise ConflictError("the item is already lent") from None
    locked.status = ItemStatus.LOANED
    locked.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="loan.create",
        subject=loan,
        new={"item": str(locked), "case": case.reference},
        at=now,
    )
    return loan


@transaction.atomic(durable=True)
def loan_pair(*, case: ProtectionCase, actor: Actor, device_id: str | None = None) -> Pairing:
    """Issue the device credentials for the case's lent phone (shown once, as a QR code).

    Pairing again issues new credentials and revokes the earlier ones of that loan.
    """
    loan = (
        Loan.objects.select_for_update()
        .filter(case=case, returned_at__isnull=True, item__kind=ItemKind.PHONE)
        .order_by("loaned_at")
        .first()
    )
    if loan is None:
        raise ValidationError("lend a phone to this case first", fields={"loan": "no phone"})
    if not case.loans.filter(returned_at__isnull=True, item__kind=ItemKind.BUTTON).exists():
        raise ValidationError("lend a button to this case first", fields={"loan": "no button"})
    if loan.device is not None and loan.device.status == DeviceStatus.ACTIVE:
        _revoke(loan.device, actor)
    device = device_enroll(case=case, actor=actor, device_id=device_id)
    key = device.secret()
    loan.device = device
    loan.save(update_fields=["device"])
    checklist, _ = ActivationChecklist.objects.get_or_create(case=case)
    if checklist.test_confirmed_at is not None:
        # A test made with the earlier credentials no longer counts.
        checklist.test_confirmed_at = None
        checklist.test_incident_reference = ""
        checklist.save(update_fields=["test_confirmed_at", "test_incident_reference"])
    audit_record(
        actor=actor,
        action="loan.pair",
        subject=loan,
        new={"device_id": device.device_id, "case": case.reference},
    )
    return Pairing(device=device, key=key)


def _revoke(device: Device, actor: Actor) -> None:
    """Revoke the credentials of a phone that is returned or re-paired, in the caller's
    transaction (``device_services.device_revoke`` is a durable entry point of its own, for
    the one-click revocation of a phone the suspect holds)."""
    Device.objects.filter(pk=device.pk).update(status=DeviceStatus.REVOKED, revoked_at=clock.now())
    audit_record(
        actor=actor, action="device.revoke", subject=device, reason="returned or re-paired"
    )


def loans_recall(*, case: ProtectionCase, actor: Actor, at: datetime) -> int:
    """Ask for every open loan of ``case`` back (in the caller's transaction)."""
    open_loans = list(
        Loan.objects.select_for_update().filter(
            case=case, returned_at__isnull=True, recall_requested_at__isnull=True
        )
    )
    for loan in open_loans:
        loan.recall_requested_at = at
        loan.save(update_fields=["recall_requested_at"])
        audit_record(actor=actor, action="loan.recall", subject=loan, new={"case": case.reference})
    return len(open_loans)


@transaction.atomic(durable=True)
def loan_return(*, loan: Loan, condition: str, actor: Actor) -> Loan:
    """The item is back (or declared lost); its credentials are revoked."""
    if condition not in RETURN_CONDITIONS:
        raise ValidationError("unknown condition", fields={"condition": condition})
    locked = (
        Loan.objects.select_for_update(of=("self",))
        .select_related("item", "device")
        .get(pk=loan.pk)
    )
    if locked.returned_at is not None:
        return locked
    now = clock.now()
    locked.returned_at = now
    locked.returned_condition = condition
    locked.save(update_fields=["returned_at", "returned_condition"])
    item = InventoryItem.objects.select_for_update().get(pk=locked.item_id)
    item.status = RETURN_CONDITIONS[condition]
    item.save(update_fields=["status"])
    if locked.device is not None and locked.device.status == DeviceStatus.ACTIVE:
        _revoke(locked.device, actor)
    audit_record(
        actor=actor,
        action="loan.return",
        subject=locked,
        new={"condition": condition, "item": str(item)},
        at=now,
    )
    return locked
