"""Live events as a contract: each payload in the log validates against its dataclass.

``conftest.py`` installs ``record_events`` for the whole session: every event appended to the
event log by any test is checked here as it is written (an event that does not match its
dataclass fails the test that wrote it), and its type is counted. At the end of a run of the
whole suite, a type of the registry that no test emitted fails the run (``missing_types``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import TypeAdapter, ValidationError

from msa.core.publish import local_subscribe
from msa.realtime import services as realtime_services
from msa.realtime.events import EVENT_TYPES, Event
from msa.realtime.models import IncidentEvent

EMITTED: Counter[str] = Counter()
_SYNTHETIC = [False]


@contextlib.contextmanager
def synthetic() -> Iterator[None]:
    """Events a test writes by hand (checked, but not counted as emitted by the code)."""
    _SYNTHETIC[0] = True
    try:
        yield
    finally:
        _SYNTHETIC[0] = False


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[Event]) -> TypeAdapter[Any]:
    if cls.type not in _ADAPTERS:
        _ADAPTERS[cls.type] = TypeAdapter(cls)
    return _ADAPTERS[cls.type]


def event_decode(event_type: str, payload: Any) -> Event:
    """The event a console receives as ``payload`` (JSON), rebuilt as its dataclass.

    Raises ``AssertionError`` for an unknown type, a missing, extra or mistyped field, or a
    payload that does not come back the same from the rebuilt event."""
    cls = EVENT_TYPES.get(event_type)
    assert cls is not None, f"{event_type!r} is not in msa.realtime.events.EVENT_TYPES"
    text = json.dumps(payload)
    wire = json.loads(text)
    try:
        event: Event = _adapter(cls).validate_json(text, strict=True)
    except ValidationError as error:
        raise AssertionError(
            f"{event_type} payload does not match {cls.__name__}: {error}"
        ) from error
    back = json.loads(json.dumps(dataclasses.asdict(event)))
    assert back == wire, f"{event_type} payload does not round-trip: {wire} != {back}"
    return event


def _check(event_type: str, payload: dict[str, Any]) -> None:
    event_decode(event_type, payload)
    if not _SYNTHETIC[0]:
        EMITTED[event_type] += 1


def record_events() -> Callable[[], None]:
    """Check and count every event written to the log; returns the function that undoes it.

    The code appends through ``msa.realtime.services._append`` (a prepared INSERT, not
    ``save``); a row a test saves by hand goes through ``IncidentEvent.save``. Both are
    watched."""
    original_save = IncidentEvent.save
    original_append = realtime_services._append

    def save(self: IncidentEvent, *args: Any, **kwargs: Any) -> None:
        _check(self.type, self.payload)
        original_save(self, *args, **kwargs)

    def append(centre_id: int, incident_id: int, event: Event) -> None:
        original_append(centre_id, incident_id, event)
        _check(event.type, event.data())  # what the row's payload holds

    IncidentEvent.save = save  # type: ignore[method-assign,assignment]
    realtime_services._append = append

    def undo() -> None:
        IncidentEvent.save = original_save  # type: ignore[method-assign]
        realtime_services._append = original_append

    return undo


def missing_types() -> list[str]:
    """The registry's event types that no test of this session appended to the log."""
    return sorted(set(EVENT_TYPES) - set(EMITTED))


class Subscriber:
    """What a console socket of this process gets pushed for a group, without the socket
    (msa.core.publish)."""

    def __init__(self, group: str) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.unsubscribe = local_subscribe(group, self.queue.put_nowait)

    async def next(self) -> str:
        """The next payload pushed to the group (its JSON text), within 5 s."""
        async with asyncio.timeout(5):
            return await self.queue.get()

    def leave(self) -> None:
        self.unsubscribe()
