"""The queue is ordered for triage and says how; each row carries what an operator triages on;
the test lane does not keep a test alarm "unacknowledged" forever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from msa.accounts.models import User
from msa.alarms.models import Incident
from msa.alarms.states import Lane, Trigger
from msa.cases.models import ProtectionCase
from msa.cases.states import CaseState
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch import selectors
from msa.dispatch.services.console import incident_acknowledge
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def rows_in_lane(html: str, lane: str) -> str:
    start = html.index(f'lane-{lane}"')
    return html[start:]


@pytest.mark.django_db
def test_unacknowledged_first_the_longest_waiting_on_top_then_the_others_by_age(
    demo: None, clock: Clock, client: Client
) -> None:
    operator = User.objects.get(username="operator")
    clock.freeze(NOW)
    oldest = press(victim=1, at=NOW, number=1).incident
    clock.freeze(NOW + timedelta(minutes=1))
    middle = press(victim=2, at=NOW + timedelta(minutes=1), number=2).incident
    clock.freeze(NOW + timedelta(minutes=2))
    duress = press(victim=3, at=NOW + timedelta(minutes=2), number=3, trigger=Trigger.DURESS)
    newest = duress.incident
    clock.freeze(NOW + timedelta(minutes=3))
    incident_acknowledge(incident=oldest, actor=Actor.for_user(operator))

    lanes = selectors.queue_for(operator, oldest.centre_id)
    # middle and newest wait (middle longer); the acknowledged oldest comes after them.
    assert [i.reference for i in lanes["live"]] == [
        middle.reference,
        newest.reference,
        oldest.reference,
    ]

    client.force_login(operator)
    html = client.get("/console/").content.decode()
    live = html[html.index("lane-live") : html.index('lane-test"')]
    positions = [live.index(i.reference) for i in (middle, newest, oldest)]
    assert positions == sorted(positions)
    assert str(selectors.QUEUE_RULE) in live  # the rule is shown
    row = live[live.index(f'data-reference="{middle.reference}"') :]
    row = row[: row.index("</a>")]
    case = ProtectionCase.objects.select_related("victim", "police_zone").get(pk=middle.case_id)
    assert case.victim.full_name in row  # the CIC sees the dossier while the alarm is live
    assert case.police_zone.code in row
    assert "data" in row  # the channel badge
    assert "dialling" in row  # the call state, in words
    duress_row = live[live.index(f'data-reference="{newest.reference}"') :]
    assert "DURESS" in duress_row[: duress_row.index("</a>")]


@pytest.mark.django_db
def test_a_test_alarm_of_an_ended_case_asks_no_confirmation_and_none_stays_past_a_day(
    demo: None, clock: Clock, client: Client
) -> None:
    operator = User.objects.get(username="operator")
    clock.freeze(NOW)
    old = press(victim=1, at=NOW, number=1, trigger=Trigger.TEST).incident
    clock.freeze(NOW + timedelta(hours=25))
    ended = press(victim=2, at=NOW + timedelta(hours=25), number=2, trigger=Trigger.TEST).incident
    ProtectionCase.objects.filter(pk=ended.case_id).update(status=CaseState.ENDED)

    lanes = selectors.queue_for(operator, ended.centre_id)
    assert [i.reference for i in lanes["test"]] == [ended.reference]
    assert Incident.objects.filter(pk=old.pk).exists()  # left the lane, kept in the record

    client.force_login(operator)
    html = client.get("/console/").content.decode()
    test_lane = rows_in_lane(html, "test")
    assert "case ended: no confirmation needed" in test_lane
    assert old.reference not in html


@pytest.mark.django_db
def test_alarms_received_in_the_same_instant_keep_the_order_they_were_stored_in(
    demo: None, clock: Clock
) -> None:
    """Rows that sort equal come from the database in any order (PostgreSQL: an updated row
    moves to the end of its table): the queue must not change between two loads."""
    operator = User.objects.get(username="operator")
    clock.freeze(NOW)
    first = press(victim=1, at=NOW, number=1).incident
    second = press(victim=2, at=NOW, number=2).incident
    third = press(victim=3, at=NOW, number=3).incident
    assert first.received_at == second.received_at == third.received_at
    # the first and second rows moved out of the live lane and back (an indexed column changed:
    # no in-place update): on PostgreSQL their new versions lie behind the third, in the table
    # and in its indexes
    for lane in (Lane.TEST, Lane.LIVE):
        Incident.objects.filter(pk__in=[first.pk, second.pk]).update(lane=lane)
    lanes = selectors.queue_for(operator, first.centre_id)
    assert [i.pk for i in lanes["live"]] == [first.pk, second.pk, third.pk]
