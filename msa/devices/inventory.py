"""The inventory of buttons, phones and SIMs, and their loans to protection cases.

One open loan per item is a database constraint (``loan_one_open_per_item``); a second
officer lending the same item at the same moment gets a ConflictError, never two loans.
An item's status changes only through ``ITEM_MACHINE`` (``msa.devices.states``).

Returning a lent phone and pairing a phone again revoke the credentials issued for it, and a
revocation must flag the device's open incidents, which belong to ``alarms``, above this part.
So the return and the pairing are steps here (``loan_return_step``, ``loan_pair_step``), in the
caller's transaction, each answering the device it revoked; their durable entry points
(``loan_return``, ``loan_pair``) are in ``msa.alarms.revocation``, which flags that device's
incidents in the same transaction. Lending, recalling and the stock itself stay here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from msa.accounts.models import Organisation, OrgKind
from msa.audit.services import audit_record
from msa.cases.models import ActivationChecklist, ProtectionCase
from msa.cases.states import CaseState
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, ValidationError
from msa.core.transitions import history_start, transition_apply
from msa.devices.models import Device, InventoryItem, ItemKind, Loan
from msa.devices.services import device_enroll, device_revoke_step
from msa.devices.states import (
    ITEM_MACHINE,
    STOCK_TRANSITIONS,
    ItemStatus,
    ItemTransitionName,
)

# Items can be lent while the case is being enrolled, and replaced while it is live.
LENDABLE_STATES = frozenset({CaseState.ENROLLING, CaseState.ACTIVE, CaseState.UNDER_REVIEW})
# The condition an item comes back in, and the transition of the item that records it.
RETURN_CONDITIONS = {
    "ok": ItemTransitionName.RETURN,
    "repair": ItemTransitionName.REPAIR,
    "lost": ItemTransitionName.LOSE,
    "retired": ItemTransitionName.RETIRE,
}
REVOKE_REASON = "returned or re-paired"


@dataclass(frozen=True, slots=True)
class Pairing:
    device: Device
    key: bytes
    # The loan's earlier device, revoked by this pairing (None on the first pairing).
    revoked: Device | None = None


@dataclass(frozen=True, slots=True)
class LoanReturn:
    loan: Loan
    # The lent phone's device, revoked by this return (None for other items).
    revoked: Device | None = None


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
        raise ValidationError(gettext_noop("unknown kind"), fields={"kind": kind})
    if district.kind != OrgKind.PROSECUTOR_OFFICE:
        raise ValidationError(
            gettext_noop("stock belongs to a judicial district"), fields={"district": "kind"}
        )
    if not serial.strip():
        raise ValidationError(gettext_noop("a serial number"), fields={"serial": "required"})
    if imei and not (imei.isdigit() and len(imei) in {15, 16}):
        raise ValidationError(
            gettext_noop("an IMEI is 15 or 16 digits"), fields={"imei": "invalid"}
        )
    if iccid and not (iccid.isdigit() and 18 <= len(iccid) <= 22):
        raise ValidationError(
            gettext_noop("an ICCID is 18 to 22 digits"), fields={"iccid": "invalid"}
        )
    now = clock.now()
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
                status=ItemStatus.IN_STOCK,
                added_at=now,
            )
    except IntegrityError:
        raise ConflictError(gettext_noop("an item of this kind with this serial exists")) from None
    history_start(ITEM_MACHINE, item, transition=ItemTransitionName.ADD, actor=actor, at=now)
    audit_record(
        actor=actor,
        action="inventory.add",
        subject=item,
        new={"kind": kind, "serial": item.serial, "district": district.code},
        at=now,
    )
    return item


@transaction.atomic(durable=True)
def item_status_change(
    *, item: InventoryItem, transition: str, actor: Actor, reason: str = ""
) -> InventoryItem:
    """Mark an item that is not lent as in repair, lost or retired, or back in stock."""
    if transition not in STOCK_TRANSITIONS:
        raise ValidationError(
            gettext_noop("unknown change (lending and returning go through the loan)"),
            fields={"transition": transition},
        )
    locked = InventoryItem.objects.select_for_update().get(pk=item.pk)
    if locked.loans.filter(returned_at__isnull=True).exists():
        raise ConflictError(gettext_noop("the item is lent: record its return first"))
    return transition_apply(
        ITEM_MACHINE, locked, ItemTransitionName(transition), actor=actor, reason=reason
    )


@transaction.atomic(durable=True)
def loan_create(*, item: InventoryItem, case: ProtectionCase, actor: Actor) -> Loan:
    """Lend ``item`` to ``case``: the item must be in stock in the case's district."""
    if case.status not in LENDABLE_STATES:
        raise ValidationError(
            gettext_noop("devices are lent once consent is recorded"), fields={"case": "state"}
        )
    locked = InventoryItem.objects.select_for_update().get(pk=item.pk)
    if locked.district_id != case.police_zone.prosecutor_office_id:
        raise ValidationError(
            gettext_noop("the item belongs to another district"), fields={"item": "district"}
        )
    if locked.status != ItemStatus.IN_STOCK:
        raise ConflictError(gettext_noop("the item is not in stock"))
    now = clock.now()
    try:
        with transaction.atomic():
            loan = Loan.objects.create(item=locked, case=case, loaned_at=now, loaned_by=actor.label)
    except IntegrityError:
        raise ConflictError(gettext_noop("the item is already lent")) from None
    loan.item = transition_apply(ITEM_MACHINE, locked, ItemTransitionName.LEND, actor=actor, at=now)
    audit_record(
        actor=actor,
        action="loan.create",
        subject=loan,
        new={"item": str(loan.item), "case": case.reference},
        at=now,
    )
    return loan


def loan_pair_step(
    *, case: ProtectionCase, actor: Actor, at: datetime, device_id: str | None = None
) -> Pairing:
    """Issue the device credentials for the case's lent phone (shown once, as a QR code), in
    the caller's transaction: the step of ``msa.alarms.revocation.loan_pair``, call that.

    Pairing again issues new credentials and revokes the earlier ones of that loan; the
    answer names the revoked device, whose open incidents the caller flags.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("loan_pair_step runs in the pairing's transaction")
    loan = (
        Loan.objects.select_for_update()
        .filter(case=case, returned_at__isnull=True, item__kind=ItemKind.PHONE)
        .order_by("loaned_at")
        .first()
    )
    if loan is None:
        raise ValidationError(
            gettext_noop("lend a phone to this case first"), fields={"loan": "no phone"}
        )
    if not case.loans.filter(returned_at__isnull=True, item__kind=ItemKind.BUTTON).exists():
        raise ValidationError(
            gettext_noop("lend a button to this case first"), fields={"loan": "no button"}
        )
    revoked = _revoke_lent(loan, actor=actor, at=at)
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
        at=at,
    )
    return Pairing(device=device, key=key, revoked=revoked)


def _revoke_lent(loan: Loan, *, actor: Actor, at: datetime) -> Device | None:
    """Revoke the credentials of the loan's phone if they are active; the device if so."""
    if loan.device is None:
        return None
    return device_revoke_step(device=loan.device, actor=actor, at=at, reason=REVOKE_REASON)


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


def loan_return_step(*, loan: Loan, condition: str, actor: Actor, at: datetime) -> LoanReturn:
    """The item is back (or declared lost); a phone's credentials are revoked. In the caller's
    transaction: the step of ``msa.alarms.revocation.loan_return``, call that.

    The answer names the device revoked, whose open incidents the caller flags. Recording a
    return twice changes nothing more.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("loan_return_step runs in the return's transaction")
    if condition not in RETURN_CONDITIONS:
        raise ValidationError(gettext_noop("unknown condition"), fields={"condition": condition})
    locked = (
        Loan.objects.select_for_update(of=("self",))
        .select_related("item", "device")
        .get(pk=loan.pk)
    )
    if locked.returned_at is not None:
        return LoanReturn(loan=locked)
    locked.returned_at = at
    locked.returned_condition = condition
    locked.save(update_fields=["returned_at", "returned_condition"])
    item = transition_apply(
        ITEM_MACHINE, locked.item, RETURN_CONDITIONS[condition], actor=actor, at=at
    )
    locked.item = item
    revoked = _revoke_lent(locked, actor=actor, at=at)
    audit_record(
        actor=actor,
        action="loan.return",
        subject=locked,
        new={"condition": condition, "item": str(item)},
        at=at,
    )
    return LoanReturn(loan=locked, revoked=revoked)
