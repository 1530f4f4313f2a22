"""A prepared statement reads and writes exactly what the ORM would, on either backend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from msa.alarms.models import Incident, IncidentTransition, LocationFix
from msa.cases.models import ProtectionCase
from msa.core.sql import JoinedRead, Statement, concrete, insert_row, insert_rows, inserting
from msa.devices.models import Device
from tests.support.factories import press

AT = datetime(2026, 11, 30, 22, 15, 7, 123456, tzinfo=UTC)
LATER = AT + timedelta(seconds=10)  # the press's own first fix is at AT

_BY_ID = Statement(
    Device,
    "SELECT {all} FROM {table} WHERE {device_id} = %s",
    writes=["device_id"],
    reads=concrete(Device),
)
_WRITE = Statement(
    Device,
    "UPDATE {table} SET {last_heartbeat_at} = %s, {permissions} = %s, {button_connected} = %s, "
    "{button_battery_pct} = %s WHERE {pk} = %s",
    writes=["last_heartbeat_at", "permissions", "button_connected", "button_battery_pct", None],
)


def _fields(device: Device) -> dict[str, object]:
    return {f.attname: getattr(device, f.attname) for f in Device._meta.concrete_fields}


@pytest.mark.django_db
def test_an_instance_read_is_the_orm_s_instance(demo: None) -> None:
    device = Device.objects.order_by("pk").first()
    assert device is not None
    read = _BY_ID.instance(device.device_id)
    assert read is not None
    assert _fields(read) == _fields(Device.objects.get(pk=device.pk))
    assert read.secret() == device.secret()  # the encrypted key came through its field
    assert read._state.adding is False  # as loaded by the ORM: saving it updates the row
    assert _BY_ID.instance("no-such-device") is None


@pytest.mark.django_db
def test_an_instance_of_some_columns_in_any_order_defers_the_others(demo: None) -> None:
    device = Device.objects.filter(status="active").first()
    assert device is not None
    # read in another order than the model's (its case comes after its status there)
    some = Statement(
        Device,
        "SELECT {status}, {last_heartbeat_at}, {pk}, {case} FROM {table} WHERE {device_id} = %s",
        writes=["device_id"],
        reads=["status", "last_heartbeat_at", "id", "case"],
    )
    read = some.instance(device.device_id)
    assert read is not None
    assert (read.pk, read.case_id, read.status, read.last_heartbeat_at) == (
        device.pk,
        device.case_id,
        device.status,
        device.last_heartbeat_at,
    )
    assert read.get_deferred_fields() == {f.attname for f in Device._meta.concrete_fields} - {
        "id",
        "case_id",
        "status",
        "last_heartbeat_at",
    }


@pytest.mark.django_db
def test_values_are_stored_as_their_fields_store_them(demo: None) -> None:
    device = Device.objects.order_by("pk").first()
    assert device is not None
    permissions = {"location": "always", "sms": True, "nested": [1, "ü"]}
    assert _WRITE.rowcount(AT, permissions, False, None, device.pk) == 1
    device.refresh_from_db()
    assert (device.last_heartbeat_at, device.permissions) == (AT, permissions)
    assert (device.button_connected, device.button_battery_pct) == (False, None)
    # and the ORM finds the row by what was written
    assert Device.objects.filter(pk=device.pk, last_heartbeat_at=AT).exists()
    assert _WRITE.rowcount(AT, {}, True, 5, -1) == 0


def test_a_wrong_count_of_values_is_refused() -> None:
    with pytest.raises(TypeError, match="5 values expected, 2 given"):
        _WRITE.rowcount(AT, {})


def test_a_field_the_model_does_not_have_fails_when_the_statement_is_built() -> None:
    with pytest.raises(FieldDoesNotExist):
        Statement(Device, "SELECT {no_such_field} FROM {table}")


_OF_CASE = Statement(
    Device,
    "SELECT {all} FROM {table} WHERE {case} IN "
    "(SELECT {cases.id} FROM {cases} WHERE {cases.reference} = %s) ORDER BY {pk}",
    writes=[None],
    reads=concrete(Device),
    others={"cases": ProtectionCase},
)


@pytest.mark.django_db
def test_a_subquery_on_another_model_reads_what_the_orm_reads(demo: None) -> None:
    case = ProtectionCase.objects.filter(devices__isnull=False).order_by("pk").first()
    assert case is not None
    read = _OF_CASE.instances(case.reference)
    expected = list(Device.objects.filter(case__reference=case.reference).order_by("pk"))
    assert [_fields(d) for d in read] == [_fields(d) for d in expected]
    assert read
    assert _OF_CASE.instances("NO-SUCH-CASE") == []


def test_another_model_s_columns_are_checked_when_the_statement_is_built() -> None:
    with pytest.raises(TypeError, match="not one of the statement's other models"):
        Statement(Device, "SELECT 1 FROM {table} WHERE {case} = {cases.id}")
    with pytest.raises(FieldDoesNotExist):
        Statement(Device, "SELECT {cases.no_such} FROM {cases}", others={"cases": ProtectionCase})


_INSERT_FIX = inserting(
    LocationFix,
    ("incident", "lat", "lon", "accuracy_m", "fix_at", "source", "channel", "received_at"),
    on_conflict="({incident}, {fix_at}) DO NOTHING",
)


def _fix(incident_id: int) -> LocationFix:
    return LocationFix(
        incident_id=incident_id,
        lat=51.05,
        lon=3.72,
        accuracy_m=5.0,
        fix_at=LATER,
        source="gps",
        channel="data",
        received_at=AT,
    )


@pytest.mark.django_db
def test_an_insert_saves_the_instance_and_a_conflict_stores_nothing(demo: None) -> None:
    incident = press(at=AT).incident
    first = _fix(incident.pk)
    assert _INSERT_FIX.insert(first) is True
    assert first.pk is not None
    assert first._state.adding is False
    assert LocationFix.objects.get(pk=first.pk).fix_at == LATER
    again = _fix(incident.pk)
    assert _INSERT_FIX.insert(again) is False  # the same (incident, fix_at): DO NOTHING
    assert again.pk is None
    assert LocationFix.objects.filter(incident=incident, fix_at=LATER).count() == 1


_SET_DEVICE_ID = Statement(
    Device, "UPDATE {table} SET {device_id} = %s WHERE {pk} = %s", writes=["device_id", None]
)


@pytest.mark.django_db
def test_errors_and_a_broken_transaction_are_django_s_on_the_driver_s_cursor(demo: None) -> None:
    """A statement runs on the driver's own cursor (Django's wrapper cost more than the
    statement), with what that wrapper gives: the driver's errors as Django's, and no statement
    in a transaction an error broke."""
    first, second = Device.objects.order_by("pk")[:2]
    assert not connection.queries_logged  # the path under test: not the debug cursor
    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
            # django.db's IntegrityError, not sqlite3's or psycopg's: device_id is unique
            _SET_DEVICE_ID.rowcount(first.device_id, second.pk)
        with pytest.raises(TransactionManagementError):
            _BY_ID.instance(first.device_id)
    assert _BY_ID.instance(second.device_id) is not None  # the row is as it was


@pytest.mark.django_db
def test_a_counted_statement_goes_through_django_s_cursor(demo: None) -> None:
    device = Device.objects.order_by("pk").first()
    assert device is not None
    with CaptureQueriesContext(connection) as queries:
        assert _BY_ID.instance(device.device_id) is not None
    assert len(queries) == 1
    assert "WHERE" in queries[0]["sql"]


def _row(model: type[Any], pk: int, *skip: str) -> dict[str, object]:
    """The stored row of ``model`` #``pk``, field by field, but its id and ``skip``."""
    stored = model.objects.get(pk=pk)
    return {
        f.attname: getattr(stored, f.attname)
        for f in model._meta.concrete_fields
        if f.attname not in {"id", *skip}
    }


@pytest.mark.django_db
def test_a_row_inserted_is_the_row_save_would_have_stored(demo: None) -> None:
    incident = press(at=AT).incident
    ours = insert_row(_fix(incident.pk))
    theirs = _fix(incident.pk)
    theirs.fix_at = LATER + timedelta(seconds=1)
    theirs.save()
    assert ours.pk is not None
    assert ours._state.adding is False
    assert _row(LocationFix, ours.pk, "fix_at") == _row(LocationFix, theirs.pk, "fix_at")
    with pytest.raises(ValueError, match="stored already"):
        insert_row(ours)  # a stored row is never inserted again


_DEVICE_CASE: JoinedRead[Device] = JoinedRead(
    {"d": Device, "c": ProtectionCase},
    "SELECT {d.all}, {c.all} FROM {d} LEFT JOIN {c} ON {c.id} = {d.case} "
    "WHERE {d.device_id} = %s{for_update}",
    values=1,
)


@pytest.mark.django_db
def test_a_joined_read_gives_each_row_as_the_orm_loads_it(demo: None) -> None:
    device = Device.objects.filter(case__isnull=False).order_by("pk").first()
    assert device is not None
    with transaction.atomic():  # FOR UPDATE OF the device, where the backend locks rows
        rows = _DEVICE_CASE.read(device.device_id)
    assert rows is not None
    read_device, read_case = rows["d"], rows["c"]
    assert isinstance(read_device, Device)
    assert isinstance(read_case, ProtectionCase)
    assert _fields(read_device) == _fields(Device.objects.get(pk=device.pk))
    assert device.case_id is not None
    case = ProtectionCase.objects.get(pk=device.case_id)
    assert {
        f.attname: getattr(read_case, f.attname) for f in ProtectionCase._meta.concrete_fields
    } == {f.attname: getattr(case, f.attname) for f in ProtectionCase._meta.concrete_fields}
    Device.objects.filter(pk=device.pk).update(case=None)
    rows = _DEVICE_CASE.read(device.device_id)
    assert rows is not None
    assert rows["c"] is None  # the outer join's missing side
    assert _DEVICE_CASE.read("no-such-device") is None


def test_a_joined_read_checks_its_tables_and_columns_when_built() -> None:
    with pytest.raises(TypeError, match="not one of the statement's tables"):
        JoinedRead({"d": Device}, "SELECT {x.all} FROM {d}", values=0)
    with pytest.raises(FieldDoesNotExist):
        JoinedRead({"d": Device}, "SELECT {d.no_such_field} FROM {d}", values=0)


def _copy(incident: Incident, reference: str) -> Incident:
    """A new incident with ``incident``'s values (another reference and alarm id)."""
    values = {
        f.attname: getattr(incident, f.attname)
        for f in Incident._meta.concrete_fields
        if f is not Incident._meta.pk
    }
    return Incident(**{**values, "reference": reference, "alarm_id": uuid.uuid4()})


def _family(incident: Incident) -> tuple[LocationFix, IncidentTransition]:
    fix = _fix(0)
    fix.incident = incident
    return fix, IncidentTransition(
        subject=incident,
        transition="raise",
        from_state="",
        to_state="received",
        actor_label="press-1",
        at=AT,
    )


@pytest.mark.django_db
def test_rows_inserted_with_their_parent_are_the_rows_save_would_have_stored(demo: None) -> None:
    model = press(at=AT).incident
    ours = _copy(model, "GNT-2026-90001")
    fix, transition = _family(ours)
    with CaptureQueriesContext(connection) as queries:
        insert_rows(ours, (fix, "incident"), (transition, "subject"))
    # one round trip on PostgreSQL (a data-modifying WITH), one INSERT each elsewhere
    assert len(queries) == (1 if connection.vendor == "postgresql" else 3)
    theirs = _copy(model, "GNT-2026-90002")
    theirs.save()
    their_fix, their_transition = _family(theirs)
    their_fix.save()
    their_transition.save()
    for row in (ours, fix, transition):
        assert row.pk is not None
        assert row._state.adding is False
    assert fix.incident_id == ours.pk
    assert transition.subject_id == ours.pk
    skip = ("reference", "alarm_id", "alarm_ref")
    assert _row(Incident, ours.pk, *skip) == _row(Incident, theirs.pk, *skip)
    assert _row(LocationFix, fix.pk, "incident_id") == _row(
        LocationFix, their_fix.pk, "incident_id"
    )
    assert _row(IncidentTransition, transition.pk, "subject_id") == _row(
        IncidentTransition, their_transition.pk, "subject_id"
    )
    with pytest.raises(ValueError, match="stored already"):
        insert_rows(ours)


@pytest.mark.django_db
def test_a_row_that_fails_stores_none_of_its_family(demo: None) -> None:
    model = press(at=AT).incident
    before = (Incident.objects.count(), LocationFix.objects.count())
    ours = _copy(model, "GNT-2026-90003")
    fix, transition = _family(ours)
    fix.fix_at = None  # type: ignore[assignment]  # NOT NULL: the database refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(ours, (transition, "subject"), (fix, "incident"))
    assert (Incident.objects.count(), LocationFix.objects.count()) == before
    assert not IncidentTransition.objects.filter(actor_label="press-1", at=AT).exists()
