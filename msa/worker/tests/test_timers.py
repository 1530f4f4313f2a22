"""The incident timers with a controlled clock: each fires once, on time, and not for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from msa.accounts.models import Membership, Organisation, OrgKind, Role, User
from msa.alarms.models import Incident
from msa.alarms.states import IncidentState, Trigger
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch import selectors
from msa.dispatch.models import CentreBackup, Unit
from msa.dispatch.services.console import incident_acknowledge
from msa.dispatch.services.dispatching import dispatch_create, dispatch_progress
from msa.dispatch.states import DispatchTransitionName
from msa.messaging.models import OutboundMessage
from msa.realtime.selectors import events_after
from msa.worker import timers
from msa.worker.runner import run_once
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def escalations(centre_id: int) -> list[str]:
    return [
        e["data"]["kind"]
        for e in events_after(centre_id=centre_id, since=0)
        if e["type"] == "incident.escalated"
    ]


@pytest.mark.django_db
def test_unacknowledged_alarm_alerts_the_supervisor_at_30_s_once(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    clock.advance(timedelta(seconds=29))
    assert timers.sweep_ack_escalations() == 0
    clock.advance(timedelta(seconds=1))
    assert timers.sweep_ack_escalations() == 1
    assert timers.sweep_ack_escalations() == 0  # idempotent
    incident.refresh_from_db()
    assert incident.ack_escalated_at == NOW + timedelta(seconds=30)
    message = OutboundMessage.objects.get()
    assert incident.reference in message.body
    assert "Vandersteene" not in message.body
    assert escalations(incident.centre_id) == ["ack"]


@pytest.mark.django_db
def test_at_60_s_it_is_offered_to_the_backup_centre_and_both_see_it(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    home = Organisation.objects.get(code="OVL")
    backup = Organisation.objects.create(kind=OrgKind.CIC, name="CIC West-Vlaanderen", code="WVL")
    CentreBackup.objects.create(centre=home, backup=backup)
    west = User.objects.create_user(username="west", password="x")
    Membership.objects.create(user=west, organisation=backup, role=Role.OPERATOR)
    incident = press(at=NOW).incident
    assert selectors.queue_for(west, backup.pk)["live"] == []

    clock.advance(timedelta(seconds=60))
    run_once()
    incident.refresh_from_db()
    assert incident.backup_centre == backup
    assert escalations(home.pk) == ["ack", "backup"]
    assert escalations(backup.pk) == ["backup"]
    assert [i.pk for i in selectors.queue_for(west, backup.pk)["live"]] == [incident.pk]
    operator = User.objects.get(username="operator")
    assert [i.pk for i in selectors.queue_for(operator, home.pk)["live"]] == [incident.pk]

    # The first to acknowledge owns it: here the backup centre.
    taken = incident_acknowledge(incident=incident, actor=Actor.for_user(west))
    assert taken.centre == backup
    assert taken.backup_centre == home
    assert taken.acknowledged_by == west
    # Both streams got the acknowledgement; both queues still show it.
    assert events_after(centre_id=home.pk, since=0)[-1]["type"] == "incident.state_changed"
    assert events_after(centre_id=backup.pk, since=0)[-1]["type"] == "incident.state_changed"
    assert selectors.incident_get(operator, incident.reference).pk == incident.pk
    labels = [e.label for e in selectors.incident_timeline(taken) if e.kind == "event"]
    assert labels == ["escalated", "escalated"]  # ack and backup, once each


@pytest.mark.django_db
def test_no_dispatch_2_minutes_after_acknowledgement_alerts(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    clock.advance(timedelta(seconds=10))
    operator = Actor.for_user(User.objects.get(username="operator"))
    incident_acknowledge(incident=incident, actor=operator)
    clock.advance(timedelta(seconds=119))
    assert timers.sweep_dispatch_overdue() == 0
    clock.advance(timedelta(seconds=1))
    assert timers.sweep_dispatch_overdue() == 1
    assert timers.sweep_dispatch_overdue() == 0
    incident.refresh_from_db()
    assert incident.dispatch_overdue_at == NOW + timedelta(seconds=130)


@pytest.mark.django_db
def test_not_on_scene_10_minutes_after_the_alarm_is_a_breach(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    late = press(at=NOW).incident
    in_time = press(victim=2, at=NOW, number=2).incident
    operator = Actor.for_user(User.objects.get(username="operator"))
    (dispatch,) = dispatch_create(
        incident=in_time, unit_ids=[Unit.objects.get(call_sign="G-11").pk], actor=operator
    )
    clock.advance(timedelta(minutes=9, seconds=59))
    dispatch_progress(dispatch=dispatch, transition=DispatchTransitionName.ARRIVE, actor=operator)
    assert timers.sweep_on_scene_breaches() == 0
    clock.advance(timedelta(seconds=1))
    assert timers.sweep_on_scene_breaches() == 1
    assert timers.sweep_on_scene_breaches() == 0
    late.refresh_from_db()
    in_time.refresh_from_db()
    assert late.on_scene_breach_at == NOW + timedelta(minutes=10)
    assert in_time.on_scene_breach_at is None
    assert in_time.status == IncidentState.ON_SCENE


@pytest.mark.django_db
def test_test_alarms_never_escalate(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    press(at=NOW, trigger=Trigger.TEST)
    clock.advance(timedelta(hours=1))
    results = run_once()
    assert results["ack_escalations"] == 0
    assert results["on_scene_breaches"] == 0
    assert Incident.objects.get().ack_escalated_at is None


@pytest.mark.django_db
def test_durations_come_from_settings(demo: None, clock: Clock, settings: object) -> None:
    settings.MSA_ACK_TARGET_S = 5  # type: ignore[attr-defined]
    clock.freeze(NOW)
    press(at=NOW)
    clock.advance(timedelta(seconds=5))
    assert timers.sweep_ack_escalations() == 1
