"""The inventory and loans: one open loan per item, in the database; returns revoke."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from msa.accounts.models import Organisation
from msa.alarms.revocation import loan_pair, loan_return
from msa.cases.models import ProtectionCase
from msa.cases.tests import factories as h
from msa.core import clock
from msa.core.errors import ConflictError, ValidationError
from msa.devices.inventory import item_add, item_status_change, loan_create
from msa.devices.models import InventoryItem, Loan
from msa.devices.states import DeviceStatus, ItemStatus, ItemTransitionName

pytestmark = pytest.mark.django_db


def _office() -> Organisation:
    return Organisation.objects.get(code="PKGNT")


def test_the_database_refuses_a_second_open_loan(demo: None) -> None:
    item = InventoryItem.objects.create(
        kind="button", serial="DB-1", district=_office(), added_at=clock.now()
    )
    case = ProtectionCase.objects.first()
    assert case is not None
    Loan.objects.create(item=item, case=case, loaned_at=clock.now(), loaned_by="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.objects.create(item=item, case=case, loaned_at=clock.now(), loaned_by="t")
    # a returned loan does not count
    Loan.objects.filter(item=item).update(returned_at=clock.now())
    Loan.objects.create(item=item, case=case, loaned_at=clock.now(), loaned_by="t")


def test_items_are_checked(demo: None) -> None:
    ref = h.actor("reference")
    with pytest.raises(ValidationError):
        item_add(kind="phone", serial="X", imei="123", district=_office(), actor=ref)
    with pytest.raises(ValidationError):
        item_add(kind="sim", serial="X", iccid="12", district=_office(), actor=ref)
    with pytest.raises(ValidationError):
        item_add(
            kind="button", serial="X", district=Organisation.objects.get(code="GNT"), actor=ref
        )
    item_add(kind="phone", serial="P-1", imei="356938035643809", district=_office(), actor=ref)
    with pytest.raises(ConflictError):
        item_add(kind="phone", serial="P-1", district=_office(), actor=ref)


def test_lending_needs_consent_stock_and_the_same_district(demo: None) -> None:
    ref = h.actor("reference")
    requested = h.new_case()
    item = item_add(kind="button", serial="L-1", district=_office(), actor=ref)
    with pytest.raises(ValidationError):
        loan_create(item=item, case=requested, actor=ref)
    case = h.enrolling(h.new_case(number=2))
    loan_create(item=item, case=case, actor=ref)
    with pytest.raises(ConflictError):
        loan_create(item=item, case=case, actor=ref)
    other = Organisation.objects.create(kind="prosecutor_office", name="Elsewhere", code="PKX")
    far = item_add(kind="button", serial="L-2", district=other, actor=ref)
    with pytest.raises(ValidationError):
        loan_create(item=far, case=case, actor=ref)
    broken = item_add(kind="button", serial="L-3", district=_office(), actor=ref)
    item_status_change(item=broken, transition=ItemTransitionName.REPAIR, actor=ref)
    with pytest.raises(ConflictError):
        loan_create(item=broken, case=case, actor=ref)


def test_pairing_needs_a_phone_and_a_button_and_re_pairing_revokes(demo: None) -> None:
    ref = h.actor("reference")
    case = h.enrolling(h.new_case())
    with pytest.raises(ValidationError):
        loan_pair(case=case, actor=ref)
    case, device = h.equipped(h.new_case(number=2), number=2)
    again = loan_pair(case=case, actor=ref)
    device.refresh_from_db()
    assert device.status == DeviceStatus.REVOKED
    assert again.device.status == DeviceStatus.ACTIVE
    assert len(again.key) == 32


def test_return_frees_the_item_and_revokes_the_phone(demo: None) -> None:
    ref = h.actor("reference")
    case, device = h.equipped(h.new_case())
    phone_loan = Loan.objects.get(case=case, item__kind="phone")
    loan_return(loan=phone_loan, condition="ok", actor=ref)
    phone_loan.refresh_from_db()
    device.refresh_from_db()
    assert phone_loan.returned_at is not None
    assert phone_loan.item.status == ItemStatus.IN_STOCK
    assert device.status == DeviceStatus.REVOKED
    button_loan = Loan.objects.get(case=case, item__kind="button")
    loan_return(loan=button_loan, condition="lost", actor=ref)
    button_loan.item.refresh_from_db()
    assert button_loan.item.status == ItemStatus.LOST


@pytest.mark.django_db(transaction=True)
def test_two_officers_lending_the_same_item_at_once_make_one_loan(demo: None) -> None:
    """A real race on PostgreSQL; SQLite serialises writers, so there the two run in turn."""
    ref = h.actor("reference")
    case = h.enrolling(h.new_case())
    item = item_add(kind="button", serial="RACE-1", district=_office(), actor=ref)
    if os.environ.get("MSA_TEST_DB") != "postgres":
        loan_create(item=item, case=case, actor=ref)
        with pytest.raises(ConflictError):
            loan_create(item=item, case=case, actor=ref)
        assert Loan.objects.filter(item=item, returned_at__isnull=True).count() == 1
        return
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def lend() -> None:
        try:
            barrier.wait(timeout=10)
            loan_create(item=item, case=case, actor=ref)
            outcomes.append("lent")
        except ConflictError:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=lend) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "lent"]
    assert Loan.objects.filter(item=item, returned_at__isnull=True).count() == 1
