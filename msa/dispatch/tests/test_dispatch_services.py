"""The dispatch actions: one service call, one timeline entry, one event, one audit row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Outcome
from msa.audit.models import AuditEntry
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.core.errors import (
    ConflictError,
    ValidationError,
)
from msa.dispatch import selectors
from msa.dispatch.models import Dispatch, Unit
from msa.dispatch.routing import Origin, StraightLineRouter, haversine_m
from msa.dispatch.services.console import (
    incident_acknowledge,
    incident_close,
    incident_note_add,
    incident_outcome_record,
    incident_reopen,
    tracking_extend,
    tracking_stop,
)
from msa.dispatch.services.dispatching import dispatch_create, dispatch_progress
from msa.dispatch.services.units import unit_status_change
from msa.dispatch.states import (
    DispatchState,
    DispatchTransitionName,
    UnitStatus,
    UnitTransitionName,
)
from msa.realtime.models import IncidentEvent
from msa.realtime.selectors import events_after
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def operator() -> Actor:
    return Actor.for_user(User.objects.get(username="operator"))


def counts(incident: Incident) -> tuple[int, int]:
    return (
        IncidentEvent.objects.filter(incident=incident).count(),
        AuditEntry.objects.filter(
            subject_id=str(incident.pk), subject_type="alarms.incident"
        ).count(),
    )


@pytest.mark.django_db
def test_the_whole_chain_from_alarm_to_close(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW, lat=51.0430, lon=3.7270).incident  # next to G-12
    before = counts(incident)

    incident = incident_acknowledge(incident=incident, actor=operator())
    assert incident.status == IncidentState.ACKNOWLEDGED
    assert incident.acknowledged_by == User.objects.get(username="operator")
    assert counts(incident)[0] == before[0] + 1

    incident_note_add(incident=incident, actor=operator(), text="she whispers: garage")
    note_event = IncidentEvent.objects.filter(incident=incident, type="incident.noted").get()
    assert "garage" not in str(note_event.payload)  # notes never travel in events

    recommended = selectors.units_recommend(incident, at=(51.0430, 3.7270))
    assert recommended[0].unit.call_sign == "G-12"
    assert [r.eta_s for r in recommended] == sorted(r.eta_s for r in recommended)

    clock.advance(timedelta(seconds=40))
    (dispatch,) = dispatch_create(
        incident=incident, unit_ids=[recommended[0].unit.pk], actor=operator()
    )
    incident.refresh_from_db()
    assert incident.status == IncidentState.DISPATCHED
    assert dispatch.eta_s == recommended[0].eta_s
    assert Unit.objects.get(call_sign="G-12").status == UnitStatus.BUSY
    with pytest.raises(ConflictError):
        dispatch_create(incident=incident, unit_ids=[dispatch.unit_id], actor=operator())

    patrol = Actor.for_user(User.objects.get(username="patrol"))
    dispatch_progress(dispatch=dispatch, transition=DispatchTransitionName.DEPART, actor=patrol)
    clock.advance(timedelta(minutes=4))
    dispatch_progress(dispatch=dispatch, transition=DispatchTransitionName.ARRIVE, actor=patrol)
    incident.refresh_from_db()
    assert incident.status == IncidentState.ON_SCENE
    assert incident.on_scene_at == NOW + timedelta(seconds=40, minutes=4)

    with pytest.raises(ValidationError):
        incident_close(incident=incident, actor=operator())
    incident_outcome_record(
        incident=incident,
        actor=patrol,
        outcome=Outcome.ARRESTED_ON_SCENE,
        violence_before_arrival=False,
        victim_injured=False,
    )
    closed = incident_close(incident=incident, actor=operator())
    assert closed.status == IncidentState.CLOSED
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchState.CLEARED  # units are freed with the close
    assert Unit.objects.get(call_sign="G-12").status == UnitStatus.AVAILABLE

    with pytest.raises(ValidationError):
        incident_reopen(incident=closed, actor=operator(), reason=" ")
    reopened = incident_reopen(incident=closed, actor=operator(), reason="he came back")
    assert reopened.status == IncidentState.ACKNOWLEDGED
    assert reopened.closed_at is None

    types = [e["type"] for e in events_after(centre_id=incident.centre_id, since=0)]
    assert types == [
        "alarm.raised",
        "incident.state_changed",
        "incident.noted",
        "unit.dispatched",
        "dispatch.progressed",
        "dispatch.progressed",
        "incident.outcome",
        "incident.state_changed",
        "incident.state_changed",
    ]
    timeline = [e.label for e in selectors.incident_timeline(incident)]
    # In words (msa.dispatch.words), never the machine's names.
    assert timeline[:3] == ["alarm received", "acknowledged", "note"]
    assert set(timeline[3:5]) == {"unit sent", "G-12 assigned"}
    assert "G-12 on scene" in timeline
    assert "reopened" in timeline
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"incident.note", "dispatch.assign", "dispatch.arrive", "incident.outcome"} <= actions


@pytest.mark.django_db
def test_two_units_at_once_and_a_refused_busy_unit(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    ids = list(Unit.objects.filter(call_sign__in=["G-11", "G-16"]).values_list("pk", flat=True))
    sent = dispatch_create(incident=incident, unit_ids=ids, actor=operator())
    assert len(sent) == 2
    other = press(victim=2, at=NOW, number=2).incident
    with pytest.raises(ConflictError):
        dispatch_create(incident=other, unit_ids=ids[:1], actor=operator())
    # Nothing of the refused call was written.
    assert not Dispatch.objects.filter(incident=other).exists()


@pytest.mark.django_db
def test_the_database_allows_one_open_dispatch_per_unit(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    unit = Unit.objects.get(call_sign="G-11")
    Dispatch.objects.create(incident=incident, unit=unit, assigned_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Dispatch.objects.create(incident=incident, unit=unit, assigned_at=NOW)
    Dispatch.objects.filter(unit=unit).update(status=DispatchState.CLEARED)
    Dispatch.objects.create(incident=incident, unit=unit, assigned_at=NOW)  # a new one is fine


@pytest.mark.django_db
def test_tracking_stop_and_extend_need_a_reason(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    with pytest.raises(ValidationError):
        tracking_extend(incident=incident, actor=operator(), reason="", by=timedelta(minutes=5))
    extended = tracking_extend(
        incident=incident, actor=operator(), reason="still in danger", by=timedelta(minutes=30)
    )
    assert extended.track_until == NOW + timedelta(minutes=30)
    stopped = tracking_stop(incident=incident, actor=operator(), reason="safe at home")
    assert stopped.track_until == NOW
    with pytest.raises(ConflictError):
        tracking_stop(incident=incident, actor=operator(), reason="again")
    audit = AuditEntry.objects.filter(action="incident.tracking_stop").get()
    assert audit.reason == "safe at home"


def test_the_router_is_haversine_times_detour_over_speed() -> None:
    router = StraightLineRouter(detour_factor=1.5)
    distance = haversine_m(51.0, 3.7, 51.01, 3.7)
    assert 1110 < distance < 1113
    car, foot = router.etas(
        [Origin(51.0, 3.7, "car"), Origin(51.0, 3.7, "foot")], lat=51.01, lon=3.7
    )
    assert car == pytest.approx(distance * 1.5 / (50 / 3.6))
    assert foot > car


@pytest.mark.django_db
def test_units_off_duty_or_busy_are_not_recommended(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW, lat=51.0430, lon=3.7270).incident
    g12 = Unit.objects.get(call_sign="G-12")
    unit_status_change(unit=g12, transition=UnitTransitionName.SIGN_OFF, actor=operator())
    recommended = selectors.units_recommend(incident, at=(51.0430, 3.7270))
    assert "G-12" not in [r.unit.call_sign for r in recommended]
    assert len(recommended) == 5


@pytest.mark.django_db
@pytest.mark.parametrize("where", [(51.0439, 3.7253), (51.10, 4.10), (50.50, 3.00)])
def test_the_box_search_recommends_what_ranking_every_unit_would(
    demo: None, clock: Clock, where: tuple[float, float]
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    every = list(
        Unit.objects.filter(status=UnitStatus.AVAILABLE, police_zone__covered_by=incident.centre)
    )
    expected = selectors.rank_units(every, lat=where[0], lon=where[1], limit=5)
    got = selectors.units_recommend(incident, at=where)
    assert [r.unit.call_sign for r in got] == [r.unit.call_sign for r in expected]


@pytest.mark.django_db
def test_dispatching_from_the_queue_also_acknowledges(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    clock.advance(timedelta(seconds=12))
    dispatch_create(
        incident=incident, unit_ids=[Unit.objects.get(call_sign="G-11").pk], actor=operator()
    )
    incident.refresh_from_db()
    assert incident.status == IncidentState.DISPATCHED
    assert incident.acknowledged_at == incident.dispatched_at == NOW + timedelta(seconds=12)
    assert incident.acknowledged_by == User.objects.get(username="operator")
    assert list(incident.transitions.values_list("transition", flat=True)) == [
        "raise",
        "acknowledge",
        "dispatch",
    ]
