"""A position's fix and its event, stored as one statement on PostgreSQL and one by one on
SQLite (``msa.realtime.services.incident_event_append_after``): the same rows either way, the
event once, its number the stream's next; a fix delivered twice adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction

from msa.accounts.models import Organisation, OrgKind
from msa.alarms.models import Incident, LocationFix
from msa.alarms.services.tracking import (
    _FIX_THEN_EVENT,
    FixInput,
    LocationsResult,
)
from msa.alarms.states import Channel
from msa.core.clock import Clock
from msa.realtime.events import AlarmLocated
from msa.realtime.models import EventStream, IncidentEvent
from msa.realtime.services import incident_event_append_after
from tests.support.factories import positions_add, press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
FIX = FixInput(
    lat=51.0543,
    lon=3.7174,
    accuracy_m=8.5,
    fix_at=NOW + timedelta(seconds=10),
    source="gps",
    speed_mps=1.25,
    heading_deg=270.0,
    altitude_m=None,
)


def _located(centre_id: int) -> list[tuple[int, dict[str, Any]]]:
    rows = IncidentEvent.objects.filter(centre_id=centre_id, type=AlarmLocated.type)
    return [(row.seq, row.payload) for row in rows.order_by("seq")]


def _last_seq(centre_id: int) -> int:
    return EventStream.objects.get(centre_id=centre_id).last_seq


@pytest.mark.django_db
def test_one_fix_is_stored_with_its_event_and_a_second_delivery_adds_nothing(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    before = _last_seq(incident.centre_id)

    result = positions_add(incident, FIX)

    assert result == LocationsResult(accepted=1, tracking=True, track_until=incident.track_until)
    fix = LocationFix.objects.get(incident=incident, fix_at=FIX.fix_at)
    stored = {name: getattr(fix, name) for name in ("lat", "lon", "accuracy_m", "source")}
    assert stored == {"lat": 51.0543, "lon": 3.7174, "accuracy_m": 8.5, "source": "gps"}
    assert (fix.speed_mps, fix.heading_deg, fix.altitude_m) == (1.25, 270.0, None)
    assert (fix.channel, fix.received_at) == (Channel.DATA, NOW)
    located = _located(incident.centre_id)
    assert [seq for seq, _ in located] == [before + 1]
    (_, payload), *_ = located
    assert payload["incident"] == incident.reference
    assert [(p["lat"], p["lon"], p["fix_at"]) for p in payload["positions"]] == [
        (51.0543, 3.7174, FIX.fix_at.isoformat())
    ]
    assert _last_seq(incident.centre_id) == before + 1

    # The phone retries: the same answer; no second fix, no event, no number taken.
    assert positions_add(incident, FIX) == result
    assert LocationFix.objects.filter(incident=incident, fix_at=FIX.fix_at).count() == 1
    assert len(_located(incident.centre_id)) == 1
    assert _last_seq(incident.centre_id) == before + 1


@pytest.mark.django_db
def test_an_incident_offered_to_a_backup_centre_has_its_position_in_both_streams(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    backup = Organisation.objects.create(kind=OrgKind.CIC, name="CIC West-Vlaanderen", code="WVL")
    incident = press(at=NOW).incident
    EventStream.objects.create(centre=backup, last_seq=40)
    Incident.objects.filter(pk=incident.pk).update(backup_centre=backup)

    assert positions_add(incident, FIX).accepted == 1

    assert [seq for seq, _ in _located(backup.pk)] == [41]
    assert len(_located(incident.centre_id)) == 1
    assert LocationFix.objects.filter(incident=incident, fix_at=FIX.fix_at).count() == 1


@pytest.mark.django_db
def test_a_centre_with_no_stream_yet_gets_one_and_the_fix_is_stored_once(
    demo: None, clock: Clock
) -> None:
    """The one statement appends nothing when the centre has no stream (its first event):
    the fix it stored is kept and the event is appended on a stream made for it."""
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    centre = Organisation.objects.create(kind=OrgKind.CIC, name="CIC Limburg", code="LIM")

    @dataclass
    class Elsewhere:  # the incident as seen by a centre with no stream
        pk: int
        centre_id: int
        backup_centre_id: int | None = None

    event = AlarmLocated(incident=incident.reference, positions=[])
    values = [getattr(FIX, name) for name in ("lat", "lon", "accuracy_m", "fix_at", "source")]
    row = [incident.pk, *values, FIX.speed_mps, FIX.heading_deg, FIX.altitude_m]
    elsewhere = Elsewhere(incident.pk, centre.pk)

    def deliver() -> bool | None:
        return incident_event_append_after(
            _FIX_THEN_EVENT, *row, str(Channel.DATA), NOW, incident=elsewhere, event=event
        )

    with transaction.atomic():
        stored, again = deliver(), deliver()
    if connection.vendor != "postgresql":
        assert (stored, again) == (None, None)  # SQLite: the caller stores them one by one
        return
    assert (stored, again) == (True, False)
    assert LocationFix.objects.filter(incident=incident, fix_at=FIX.fix_at).count() == 1
    assert [seq for seq, _ in _located(centre.pk)] == [1]
    assert _last_seq(centre.pk) == 1
