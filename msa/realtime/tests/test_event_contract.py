"""Every event type of the registry: registered, decodable from its wire form, labelled.

That every type is also emitted by some test, and that every emitted payload matches its
dataclass, is checked over the whole session (tests/support/events.py, conftest.py).
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from types import NoneType, UnionType
from typing import Any

import pytest
from django.db import transaction

from msa.dispatch.selectors import EVENT_LABELS, TIMELINE_EVENTS, incident_timeline
from msa.realtime import events
from msa.realtime.events import EVENT_TYPES, Event
from msa.realtime.services import incident_event_append
from tests.support.events import event_decode, synthetic
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def _event_classes() -> set[type[Event]]:
    """Every event dataclass that msa.realtime.events defines."""
    return {
        value
        for value in vars(events).values()
        if isinstance(value, type) and issubclass(value, Event) and value is not Event
    }


def _sample(hint: Any) -> Any:
    """A deterministic value of a field's type (the first member of a union)."""
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        return _sample(next(a for a in typing.get_args(hint) if a is not NoneType))
    if typing.get_origin(hint) is list:
        return [_sample(typing.get_args(hint)[0])]
    if dataclasses.is_dataclass(hint):
        return _instance(hint)  # type: ignore[arg-type]
    return {str: "x", int: 7, float: 51.05, bool: True}[hint]


def _instance(cls: type[Any]) -> Any:
    hints = typing.get_type_hints(cls, vars(events))
    fields = dataclasses.fields(cls)
    return cls(**{f.name: _sample(hints[f.name]) for f in fields})


def test_every_event_class_is_registered_under_its_own_type() -> None:
    assert set(EVENT_TYPES.values()) == _event_classes()
    assert all(cls.type == name for name, cls in EVENT_TYPES.items())


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_wire_form_decodes_to_the_same_event(event_type: str) -> None:
    event = _instance(EVENT_TYPES[event_type])
    assert event_decode(event_type, event.data()) == event


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("alarm.channel_added", {"incident": "GNT-1"}),  # a field missing
        ("alarm.channel_added", {"incident": "GNT-1", "channel": "sms", "extra": 1}),
        ("alarm.channel_added", {"incident": 42, "channel": "sms"}),  # a wrong type
        ("alarm.located", {"incident": "GNT-1", "positions": [{"lat": 51.0}]}),
        ("alarm.unknown", {"incident": "GNT-1"}),
    ],
)
def test_a_payload_that_is_not_its_dataclass_is_refused(event_type: str, payload: Any) -> None:
    with pytest.raises(AssertionError):
        event_decode(event_type, payload)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_has_a_timeline_label(event_type: str) -> None:
    assert str(EVENT_LABELS.get(event_type, "")).strip(), f"no timeline label for {event_type}"


def test_no_label_for_a_type_that_is_not_registered() -> None:
    assert set(EVENT_LABELS) <= set(EVENT_TYPES)
    assert set(TIMELINE_EVENTS) <= set(EVENT_TYPES)


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", sorted(TIMELINE_EVENTS))
def test_an_event_the_timeline_reads_shows_with_its_label(
    demo: None, clock: Any, event_type: str
) -> None:
    clock.freeze(NOW)
    incident = press(at=NOW).incident
    event = dataclasses.replace(_instance(EVENT_TYPES[event_type]), incident=incident.reference)
    with synthetic(), transaction.atomic():
        incident_event_append(incident=incident, event=event)
    labels = [e.label for e in incident_timeline(incident) if e.kind == "event"]
    assert str(EVENT_LABELS[event_type]) in labels
