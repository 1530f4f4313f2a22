"""PostgreSQL: a position of one fix stored with its event in one statement that is its own
transaction (``msa.alarms.services.tracking._one_fix_at_once``), guarded by the incident's row
lock: whatever changed the incident since it was read, nothing is written by that statement
and the locked way answers as before."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from msa.accounts.models import Organisation, OrgKind
from msa.alarms.models import Incident, LocationFix
from msa.alarms.selectors import TRACKED_INCIDENT
from msa.alarms.services import tracking
from msa.alarms.services.tracking import FixInput, LocationsResult
from msa.alarms.states import IncidentState
from msa.core.clock import Clock
from msa.realtime.events import AlarmLocated
from msa.realtime.models import EventStream, IncidentEvent
from msa.realtime.services import incident_event_append_at_once
from tests.support.factories import positions_add, press

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def _fix(seconds: int) -> FixInput:
    return FixInput(
        lat=51.0543,
        lon=3.7174,
        accuracy_m=8.5,
        fix_at=NOW + timedelta(seconds=seconds),
        source="gps",
        speed_mps=1.25,
        heading_deg=270.0,
    )


def _located(incident: Incident) -> list[int]:
    rows = IncidentEvent.objects.filter(incident_id=incident.pk, type=AlarmLocated.type)
    return list(rows.order_by("seq").values_list("seq", flat=True))


@pytest.fixture
def at_once_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each position's one statement did (True: stored), in order."""
    calls: list[bool] = []
    real = incident_event_append_at_once

    def spy(*args: object, **kwargs: object) -> bool:
        stored = real(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(stored)
        return stored

    monkeypatch.setattr(tracking, "incident_event_append_at_once", spy)
    return calls


def test_a_position_is_one_statement_that_commits_its_fix_and_event(
    demo: None, clock: Clock, at_once_calls: list[bool]
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    before = EventStream.objects.get(centre_id=incident.centre_id).last_seq
    with CaptureQueriesContext(connection) as queries:
        result = positions_add(incident, _fix(10))
    assert result == LocationsResult(accepted=1, tracking=True, track_until=None)
    assert at_once_calls == [True]
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert len(sql) == 2, sql  # (the device is the caller's) the incident, then the write
    assert not any(s.startswith(("BEGIN", "COMMIT", "SAVEPOINT")) for s in sql)
    assert _located(incident) == [before + 1]
    assert LocationFix.objects.filter(incident=incident).count() == 2  # the press's own, this


def test_a_fix_delivered_twice_is_stored_once_and_answered_the_same(
    demo: None, clock: Clock, at_once_calls: list[bool]
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    first = positions_add(incident, _fix(10))
    again = positions_add(incident, _fix(10))
    assert first == again == LocationsResult(accepted=1, tracking=True, track_until=None)
    assert at_once_calls == [True, False]  # the second went the locked way, and stored nothing
    assert LocationFix.objects.filter(incident=incident, fix_at=_fix(10).fix_at).count() == 1
    assert len(_located(incident)) == 1


def test_an_incident_changed_since_it_was_read_gets_nothing_from_the_statement(
    demo: None, clock: Clock, monkeypatch: pytest.MonkeyPatch, at_once_calls: list[bool]
) -> None:
    """Read as open, closed before the statement ran: the statement's guard sees it."""
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    stale = TRACKED_INCIDENT.instance(incident.device_id, incident.alarm_id)
    Incident.objects.filter(pk=incident.pk).update(status=IncidentState.CLOSED)
    monkeypatch.setattr(TRACKED_INCIDENT, "instance", lambda *_: stale)
    result = positions_add(incident, _fix(10))
    assert at_once_calls == [False]
    assert result.tracking is False
    assert result.accepted == 0
    assert not LocationFix.objects.filter(incident=incident, fix_at=_fix(10).fix_at).exists()
    assert _located(incident) == []


def test_a_position_waits_for_a_close_holding_the_incident_and_then_stores_nothing(
    demo: None, clock: Clock, at_once_calls: list[bool]
) -> None:
    """The close commits while the position's statement waits on the incident's row lock: the
    statement sees the incident closed, writes nothing, and the locked way says tracking ended
    (the lock, not the read, decides)."""
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    answers: list[LocationsResult] = []
    failures: list[BaseException] = []

    def position() -> None:
        try:
            answers.append(positions_add(incident, _fix(10)))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            connections.close_all()

    with transaction.atomic():
        Incident.objects.select_for_update().filter(pk=incident.pk).update(
            status=IncidentState.CLOSED
        )
        thread = threading.Thread(target=position)
        thread.start()
        with connection.cursor() as cursor:  # until the position waits for the row lock
            for _ in range(1000):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                )
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.01)
            else:
                raise AssertionError("the position never waited for the incident's lock")
    thread.join(timeout=30)
    assert not failures, failures
    assert at_once_calls == [False]
    assert answers[0].tracking is False
    assert not LocationFix.objects.filter(incident=incident, fix_at=_fix(10).fix_at).exists()
    assert _located(incident) == []


def test_the_centre_s_first_event_goes_the_locked_way(
    demo: None, clock: Clock, at_once_calls: list[bool]
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    centre = Organisation.objects.create(kind=OrgKind.CIC, name="CIC Limburg", code="LIM")
    Incident.objects.filter(pk=incident.pk).update(centre=centre)  # a centre with no stream
    result = positions_add(incident, _fix(10))
    assert at_once_calls == [False]
    assert result.accepted == 1
    assert LocationFix.objects.filter(incident=incident, fix_at=_fix(10).fix_at).count() == 1
    assert list(
        IncidentEvent.objects.filter(centre=centre, type=AlarmLocated.type).values_list(
            "seq", flat=True
        )
    ) == [1]
    assert EventStream.objects.get(centre=centre).last_seq == 1


def test_inside_a_transaction_the_locked_way_refuses_as_before(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    with pytest.raises(RuntimeError), transaction.atomic():
        positions_add(incident, _fix(10))


def test_an_incident_seen_by_the_caller_saves_the_read_and_decides_nothing(
    demo: None, clock: Clock, at_once_calls: list[bool]
) -> None:
    """``seen`` (the device API's read with the device): used in place of the read; seen open
    while it is closed, the statement's guard still says no; another alarm's is not used."""
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    other = press(2, at=NOW).incident
    assert incident.device is not None
    assert incident.alarm_id is not None
    read = TRACKED_INCIDENT.instance(incident.device_id, incident.alarm_id)
    elsewhere = TRACKED_INCIDENT.instance(other.device_id, other.alarm_id)

    def add(seconds: int, seen: Incident | None) -> LocationsResult:
        return positions_add(incident, _fix(seconds), seen=seen)

    with CaptureQueriesContext(connection) as queries:
        assert add(10, read).accepted == 1
    assert len(queries.captured_queries) == 1  # the write alone
    assert add(20, elsewhere).accepted == 1  # another alarm's: read again, stored here
    assert LocationFix.objects.filter(incident=other).count() == 1  # only its press's own
    Incident.objects.filter(pk=incident.pk).update(status=IncidentState.CLOSED)
    assert add(30, read).tracking is False  # seen open: the guard, then the lock, say closed
    assert at_once_calls == [True, True, False]
    assert not LocationFix.objects.filter(incident=incident, fix_at=_fix(30).fix_at).exists()
