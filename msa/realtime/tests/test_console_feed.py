"""The console's WebSocket: replay after ``since``, then live, in order, for centre staff."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing.websocket import WebsocketCommunicator
from django.db import transaction
from django.db.models import F

from msa.accounts.models import Organisation, User
from msa.alarms.models import Incident
from msa.core import publish
from msa.realtime import consumers, events
from msa.realtime.models import EventStream, IncidentEvent
from msa.realtime.routing import websocket_urlpatterns
from msa.realtime.services import centre_group, event_append
from tests.support.auth import otp_verified_user
from tests.support.console import connect, receive_events
from tests.support.events import Subscriber, synthetic
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)
pytestmark = pytest.mark.django_db(transaction=True)


async def test_replays_after_since_then_streams_live(demo: None) -> None:
    for victim in (1, 2, 3):  # three devices: presses of one device join its open incident
        await database_sync_to_async(press)(victim, at=NOW)
    communicator = await connect("operator", since=1)
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello == {"type": "hello", "last_seq": 3, "since": 1}
    replayed = await receive_events(communicator, 2)
    assert [e["seq"] for e in replayed] == [2, 3]
    assert replayed[0]["type"] == "alarm.raised"

    result = await database_sync_to_async(press)(victim=4, at=NOW)
    live = await receive_events(communicator, 1)
    assert live[0]["seq"] == 4
    assert live[0]["data"]["incident"] == result.incident.reference
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_a_lost_push_is_filled_from_the_log_in_order(demo: None) -> None:
    await database_sync_to_async(press)(at=NOW, number=1)
    communicator = await connect("operator", since=0)
    await communicator.connect()
    assert [e["seq"] for e in await receive_events(communicator, 1)] == [1]

    def commit_without_push() -> None:
        """Event 2 is committed, but its push is lost (a node died after the commit)."""
        with synthetic(), transaction.atomic():
            incident = Incident.objects.get()
            EventStream.objects.filter(centre=incident.centre).update(last_seq=F("last_seq") + 1)
            IncidentEvent.objects.create(
                centre=incident.centre,
                seq=2,
                type=events.AlarmChannelAdded.type,
                incident=incident,
                payload={"incident": incident.reference, "channel": "sms"},
                at=NOW,
            )

    await database_sync_to_async(commit_without_push)()
    await database_sync_to_async(press)(victim=2, at=NOW, number=2)  # event 3, pushed
    got = await receive_events(communicator, 2)
    assert [(e["seq"], e["type"]) for e in got] == [(2, "alarm.channel_added"), (3, "alarm.raised")]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


def append_channel_added() -> None:
    with synthetic(), transaction.atomic():
        incident = Incident.objects.get()
        event_append(
            centre=incident.centre,
            incident_id=incident.pk,
            event=events.AlarmChannelAdded(incident=incident.reference, channel="sms"),
        )


async def test_a_console_that_falls_behind_still_gets_every_event_in_order(
    demo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumers, "INBOX_MAX", 2)
    await database_sync_to_async(press)(at=NOW, number=1)
    communicator = await connect("operator", since=0)
    await communicator.connect()
    assert [e["seq"] for e in await receive_events(communicator, 1)] == [1]
    # Five commits while the event loop cannot send (they run on it): the console's inbox
    # takes two pushes, the other three are dropped.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    for _ in range(5):
        append_channel_added()
    assert [e["seq"] for e in await receive_events(communicator, 2)] == [2, 3]
    assert await communicator.receive_nothing(timeout=0.2)
    # The next push shows the gap: it is filled from the log, in order, nothing twice.
    await database_sync_to_async(append_channel_added)()
    assert [e["seq"] for e in await receive_events(communicator, 4)] == [4, 5, 6, 7]
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()
    centre = await database_sync_to_async(Organisation.objects.get)(code="OVL")
    assert centre_group(centre.pk) not in publish._subscribers  # the socket unsubscribed


@pytest.mark.parametrize("username", ["patrol", "reference", "magistrate", "analyst"])
async def test_only_console_staff_of_the_centre_may_subscribe(demo: None, username: str) -> None:
    communicator = await connect(username)
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4403


async def test_another_centre_is_refused_like_a_missing_one(demo: None) -> None:
    zone = await database_sync_to_async(Organisation.objects.get)(code="GNT")
    for centre in (zone.pk, 999_999):
        communicator = await connect("operator", centre=centre)
        connected, code = await communicator.connect()
        assert (connected, code) == (False, 4403)


async def test_a_bad_since_is_refused(demo: None) -> None:
    user = await database_sync_to_async(User.objects.get)(username="operator")
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/console/1/?since=x")
    communicator.scope["user"] = await database_sync_to_async(otp_verified_user)(user)
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4400)


async def test_nothing_is_pushed_for_a_rolled_back_change(demo: None) -> None:
    await database_sync_to_async(press)(at=NOW, number=1)
    centre = await database_sync_to_async(Organisation.objects.get)(code="OVL")
    pushed = Subscriber(centre_group(centre.pk))

    class Boom(Exception):
        pass

    def append_then_fail() -> None:
        incident = Incident.objects.get()
        with pytest.raises(Boom), transaction.atomic():
            event_append(
                centre=incident.centre,
                incident_id=incident.pk,
                event=events.AlarmChannelAdded(incident=incident.reference, channel="sms"),
            )
            raise Boom

    await database_sync_to_async(append_then_fail)()
    assert await database_sync_to_async(IncidentEvent.objects.count)() == 1

    def append_and_commit() -> None:
        incident = Incident.objects.get()
        with transaction.atomic():
            event_append(
                centre=incident.centre,
                incident_id=incident.pk,
                event=events.AlarmChannelAdded(incident=incident.reference, channel="sms"),
            )

    await database_sync_to_async(append_and_commit)()
    payload = json.loads(await pushed.next())
    # The rolled-back event took no number: the next one is 2.
    assert (payload["seq"], payload["type"]) == (2, "alarm.channel_added")
    pushed.leave()
