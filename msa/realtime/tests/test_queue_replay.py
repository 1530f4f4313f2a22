"""Snapshot + events = fresh snapshot: the console's queue rebuilt from the event log.

The console loads its queue (``dispatch.selectors.queue_for``, what ``console/_queue.html``
renders) with the log's last sequence number, then receives the events after it. Here a
reducer over those events, the way a console could apply them, is compared with a fresh load
after every step of a scenario, from every earlier snapshot. A second check covers what the
console does today (it reloads the queue on every event but ``alarm.located``): a step that
changes the queue appends at least one event that makes it reload.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from msa.accounts.models import Organisation, User
from msa.alarms.models import Incident
from msa.alarms.services.victim import alarm_cancel
from msa.alarms.states import OPEN_STATES, IncidentState, Lane, Outcome, Trigger
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.demo_data import demo_device_id
from msa.devices.models import Device
from msa.dispatch import selectors
from msa.dispatch.models import Unit
from msa.dispatch.services.console import (
    incident_acknowledge,
    incident_close,
    incident_outcome_record,
    incident_reopen,
)
from msa.dispatch.services.dispatching import dispatch_create, dispatch_progress
from msa.dispatch.states import OPEN_DISPATCH_STATES, DispatchState, DispatchTransitionName
from msa.realtime.selectors import events_after, last_seq
from msa.worker.timers import sweep_on_scene_breaches
from msa_protocol import CancelPin
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
TEST_LANE_LIMIT = 20
OPEN = {str(s) for s in OPEN_STATES}
OPEN_DISPATCH = {str(s) for s in OPEN_DISPATCH_STATES}


@dataclasses.dataclass
class Row:
    """What a queue row shows of one incident."""

    lane: str
    status: str
    received_at: datetime
    channels: frozenset[str]
    duress: bool = False
    cancelled: bool = False
    breach: bool = False
    units: dict[str, str] = dataclasses.field(default_factory=dict)  # call sign -> status
    outcome: str = ""


Rows = dict[str, Row]
Queue = dict[str, Any]


def row_of(incident: Incident) -> Row:
    return Row(
        lane=incident.lane,
        status=incident.status,
        received_at=incident.received_at,
        channels=frozenset(incident.channels),
        duress=incident.is_duress,
        cancelled=incident.victim_cancelled_at is not None,
        breach=incident.on_scene_breach_at is not None,
        units={d.unit.call_sign: d.status for d in incident.open_dispatches},  # type: ignore[attr-defined]
        outcome=incident.outcome or "",
    )


def snapshot(user: User, centre: Organisation) -> tuple[int, Rows, Queue]:
    """A fresh load: the last sequence number, every row, and the lanes as the page has them."""
    seq = last_seq(centre_id=centre.pk)
    lanes = selectors.queue_for(user, centre.pk)
    rows = {i.reference: row_of(i) for lane in lanes.values() for i in lane}
    queue: Queue = {
        "live": [(i.reference, rows[i.reference]) for i in lanes["live"]],
        "test": [(i.reference, rows[i.reference]) for i in lanes["test"]],
        "closed": {i.reference: rows[i.reference] for i in lanes["closed"]},
    }
    return seq, rows, queue


def apply(rows: Rows, event: dict[str, Any]) -> None:
    """One event of the log applied to the rows, as a console would."""
    data = event["data"]
    ref = data["incident"]
    kind = event["type"]
    if kind == "alarm.raised":
        rows[ref] = Row(
            lane=data["lane"],
            status=data["status"],
            received_at=datetime.fromisoformat(data["received_at"]),
            channels=frozenset({data["channel"]}),
            duress=data["trigger"] == Trigger.DURESS,
        )
        return
    row = rows[ref]
    if "status" in data:
        row.status = data["status"]  # the incident's state travels with every change of it
    if kind == "incident.state_changed" and row.status == IncidentState.CLOSED:
        row.units = {}  # closing clears the units still on it (no dispatch event says so)
    if kind == "alarm.channel_added":
        row.channels = row.channels | {data["channel"]}
    elif kind == "unit.dispatched":
        row.units[data["unit"]] = str(DispatchState.ASSIGNED)
    elif kind == "dispatch.progressed":
        if data["dispatch_status"] in OPEN_DISPATCH:
            row.units[data["unit"]] = data["dispatch_status"]
        else:
            row.units.pop(data["unit"], None)
    elif kind == "incident.outcome":
        row.outcome = data["outcome"]
    elif kind == "incident.escalated" and data["kind"] == "on_scene":
        row.breach = True
    elif kind == "alarm.victim_cancelled":
        row.cancelled = True
    elif kind == "alarm.duress":
        row.duress = True


def _urgency(item: tuple[str, Row]) -> tuple[int, float]:
    """The console's order: unacknowledged first, oldest first; then the others, oldest
    first (duress and breaches are marked, not moved)."""
    row = item[1]
    return (0 if row.status == IncidentState.RECEIVED else 1, row.received_at.timestamp())


def queue_from(rows: Rows) -> Queue:
    live = [(r, row) for r, row in rows.items() if row.lane == Lane.LIVE and row.status in OPEN]
    test = [(r, row) for r, row in rows.items() if row.lane == Lane.TEST]
    test.sort(key=lambda item: -item[1].received_at.timestamp())
    return {
        "live": sorted(live, key=_urgency),
        "test": test[:TEST_LANE_LIMIT],
        "closed": {
            r: row
            for r, row in rows.items()
            if row.lane == Lane.LIVE and row.status == IncidentState.CLOSED
        },
    }


def replay(start: tuple[int, Rows, Queue], centre: Organisation) -> Queue:
    seq, rows, _ = start
    rows = {ref: dataclasses.replace(row, units=dict(row.units)) for ref, row in rows.items()}
    for event in events_after(centre_id=centre.pk, since=seq):
        apply(rows, event)
    return queue_from(rows)


@pytest.mark.django_db
def test_snapshot_plus_events_is_a_fresh_snapshot(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    user = User.objects.get(username="operator")
    operator = Actor.for_user(user)
    patrol = Actor.for_user(User.objects.get(username="patrol"))
    centre = Organisation.objects.get(code="OVL")
    first: dict[str, Incident] = {}

    def raise_first() -> None:
        first["one"] = press(1, at=clock.now()).incident

    def raise_second() -> None:
        clock.advance(timedelta(seconds=5))
        first["two"] = press(2, at=clock.now()).incident

    def acknowledge() -> None:
        incident_acknowledge(incident=first["one"], actor=operator)

    def dispatch() -> None:
        unit = Unit.objects.get(call_sign="G-12")
        (first["dispatch"],) = dispatch_create(  # type: ignore[assignment]
            incident=first["one"], unit_ids=[unit.pk], actor=operator
        )

    def depart_and_arrive() -> None:
        for step in (DispatchTransitionName.DEPART, DispatchTransitionName.ARRIVE):
            dispatch_progress(dispatch=first["dispatch"], transition=step, actor=patrol)  # type: ignore[arg-type]

    def duress_on_the_phone() -> None:
        device = Device.objects.get(device_id=demo_device_id(2))
        alarm_cancel(
            device=device,
            alarm_id=uuid.UUID(int=2 * 1_000_000 + 1),
            pin=CancelPin.DURESS,
            at=clock.now(),
            actor=Actor.device(device.device_id),
        )

    def victim_cancels() -> None:
        device = Device.objects.get(device_id=demo_device_id(3))
        press(3, at=clock.now())
        alarm_cancel(
            device=device,
            alarm_id=uuid.UUID(int=3 * 1_000_000 + 1),
            pin=CancelPin.NORMAL,
            at=clock.now(),
            actor=Actor.device(device.device_id),
        )

    def on_scene_target_missed() -> None:
        clock.advance(timedelta(minutes=11))
        assert sweep_on_scene_breaches() >= 1

    def outcome_and_close() -> None:
        incident = Incident.objects.get(pk=first["one"].pk)
        incident = incident_outcome_record(
            incident=incident, actor=patrol, outcome=Outcome.ARRESTED_ON_SCENE
        )
        first["one"] = incident_close(incident=incident, actor=operator)

    def test_alarm() -> None:
        press(4, at=clock.now(), trigger=Trigger.TEST)

    def reopen() -> None:
        incident_reopen(incident=first["one"], actor=operator, reason="the suspect came back")

    steps = [
        raise_first,
        raise_second,
        acknowledge,
        dispatch,
        depart_and_arrive,
        duress_on_the_phone,
        victim_cancels,
        on_scene_target_missed,
        outcome_and_close,
        test_alarm,
        reopen,
    ]
    loads = [snapshot(user, centre)]
    for step in steps:
        step()
        fresh = snapshot(user, centre)
        for earlier in loads:
            assert replay(earlier, centre) == fresh[2], (step.__name__, earlier[0])
        since_last = events_after(centre_id=centre.pk, since=loads[-1][0])
        if fresh[2] != loads[-1][2]:
            reloads = [e["type"] for e in since_last if e["type"] != "alarm.located"]
            assert reloads, f"{step.__name__} changed the queue without an event that reloads it"
        loads.append(fresh)
    final = loads[-1][2]
    assert final["test"]
    assert final["closed"] == {}
    assert len(final["live"]) == 3
