"""Test doubles for code that uses :mod:`msa_client` (the centre's end-to-end tests too).

Nothing here touches the network or sleeps for real.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from msa_client.interfaces import SmsError
from msa_protocol import CallEvent

__all__ = ["FakeClock", "RecordingSmsTransport", "ScriptedCall"]


class FakeClock:
    """A controllable clock; pass the instance as ``clock`` and its :meth:`sleep` as ``sleep``.

    ``sleep(s)`` advances the time by ``s`` instantly; :attr:`sleeps` records every call.
    Thread-safe, because the alarm request may run in a watchdog thread.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start if start is not None else datetime(2026, 3, 14, 8, 15, 2, tzinfo=UTC)
        self.start = self._now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go back")
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))

    def elapsed(self) -> float:
        """Seconds since the clock was made."""
        return (self() - self.start).total_seconds()


class RecordingSmsTransport:
    """Keeps every SMS with the (fake) time it was sent; ``fail`` makes the next sends fail."""

    def __init__(self, clock: FakeClock | None = None, *, fail: int = 0) -> None:
        self.clock = clock
        self.fail = fail
        self.sent: list[tuple[datetime | None, str, str]] = []

    def send(self, to: str, text: str) -> None:
        if self.fail > 0:
            self.fail -= 1
            raise SmsError("scripted SMS failure")
        self.sent.append((None if self.clock is None else self.clock(), to, text))

    @property
    def texts(self) -> list[str]:
        return [text for _, _, text in self.sent]


class ScriptedCall:
    """A :class:`~msa_client.interfaces.CallMonitor` replaying call events at given times.

    ``script`` holds (seconds after ``clock.start``, event); an event is returned by the first
    poll at or after its time, stamped with its scripted time.
    """

    def __init__(self, clock: FakeClock, script: Iterable[tuple[float, CallEvent | str]]) -> None:
        self.clock = clock
        self._script = deque(sorted(((t, CallEvent(e)) for t, e in script), key=lambda x: x[0]))

    def poll(self) -> list[tuple[CallEvent, datetime]]:
        out: list[tuple[CallEvent, datetime]] = []
        while self._script and self.clock.elapsed() >= self._script[0][0]:
            offset, event = self._script.popleft()
            out.append((event, self.clock.start + timedelta(seconds=offset)))
        return out
