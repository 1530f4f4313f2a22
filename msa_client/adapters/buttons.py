"""Buttons: a terminal, a script, and a BLE panic button with a 2 s hold rule."""

from __future__ import annotations

import asyncio
import importlib
import queue
import sys
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from msa_client.interfaces import ButtonPress, Clock
from msa_protocol import Trigger

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BleButton", "HoldDetector", "ScriptedButton", "StdinButton"]

BLE_HOLD_S = 2.0


class HoldDetector:
    """The hold rule of a BLE button, without any I/O: a press counts after a 2 s hold.

    Feed it the button's edges with monotonic timestamps in seconds: :meth:`down`,
    :meth:`up`, and :meth:`tick` while the button is held (so that the alarm goes off at 2 s,
    not when the victim lets go). Each hold counts at most once. A repeated ``down`` while held
    (contact bounce, a repeated notification) does not restart the hold; an ``up`` without a
    ``down`` and timestamps that go back in time are ignored.
    """

    def __init__(self, hold_s: float = BLE_HOLD_S) -> None:
        if hold_s <= 0:
            raise ValueError("hold_s must be positive")
        self.hold_s = hold_s
        self._down_at: float | None = None
        self._fired = False
        self._last: float | None = None

    @property
    def held(self) -> bool:
        return self._down_at is not None

    def _in_order(self, at: float) -> bool:
        if self._last is not None and at < self._last:
            return False
        self._last = at
        return True

    def down(self, at: float) -> bool:
        """The button went down; ``True`` only if this completes a hold (never, normally)."""
        if not self._in_order(at):
            return False
        if self._down_at is None:
            self._down_at = at
            self._fired = False
        return self.tick(at)

    def tick(self, at: float) -> bool:
        """Time passes while held; ``True`` exactly once, when the hold reaches ``hold_s``."""
        if self._down_at is None or self._fired or not self._in_order(at):
            return False
        if at - self._down_at >= self.hold_s:
            self._fired = True
            return True
        return False

    def up(self, at: float) -> bool:
        """The button went up; ``True`` if the hold reached ``hold_s`` and did not fire yet."""
        if self._down_at is None or not self._in_order(at):
            return False
        fired = self.tick(at)
        self._down_at = None
        self._fired = False
        return fired


_STDIN_KEYS = {"": Trigger.BUTTON, "b": Trigger.BUTTON, "a": Trigger.APP}
_STDIN_KEYS |= {"d": Trigger.DURESS, "t": Trigger.TEST}


class StdinButton:
    """Lines on a terminal: Enter or ``b`` = button, ``a`` = app, ``d`` = duress,
    ``t`` = test. Other lines are ignored; end of input (Ctrl-D) ends the button."""

    def __init__(self, clock: Clock, stream: TextIO | None = None) -> None:
        self.clock = clock
        self.stream = stream if stream is not None else sys.stdin

    def wait_for_press(self) -> ButtonPress | None:
        for line in self.stream:
            trigger = _STDIN_KEYS.get(line.strip().lower())
            if trigger is not None:
                return ButtonPress(trigger=trigger, at=self.clock())
        return None


class ScriptedButton:
    """Returns the given presses in order, then ``None``."""

    def __init__(self, presses: Iterable[ButtonPress]) -> None:
        self._presses = list(presses)

    def wait_for_press(self) -> ButtonPress | None:
        return self._presses.pop(0) if self._presses else None


class BleButton:
    """A BLE panic button that notifies its state on a GATT characteristic (byte 1 = down,
    0 = up), read through ``bleak``; a press counts after a 2 s hold (:class:`HoldDetector`).

    ``bleak`` is imported when :meth:`start` runs, in a background thread with its own
    asyncio loop; presses are queued for :meth:`wait_for_press`.
    """

    def __init__(
        self,
        address: str,
        characteristic: str,
        clock: Clock,
        *,
        monotonic: Callable[[], float] | None = None,
        hold_s: float = BLE_HOLD_S,
    ) -> None:
        self.address = address
        self.characteristic = characteristic
        self.clock = clock
        self._monotonic = monotonic if monotonic is not None else time.monotonic
        self.detector = HoldDetector(hold_s)
        self._presses: queue.Queue[ButtonPress | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_seen_at: datetime | None = None
        self.connected = False

    def on_state(self, pressed: bool) -> None:
        """Feed one notification (also used by tests); queues a press when a hold completes."""
        now = self._monotonic()
        self.last_seen_at = self.clock()
        fired = self.detector.down(now) if pressed else self.detector.up(now)
        if fired:
            self._presses.put(ButtonPress(trigger=Trigger.BUTTON, at=self.clock()))

    def on_tick(self) -> None:
        if self.detector.tick(self._monotonic()):
            self._presses.put(ButtonPress(trigger=Trigger.BUTTON, at=self.clock()))

    def start(self) -> None:
        """Connect in a background thread (requires ``bleak``)."""
        try:
            importlib.import_module("bleak")  # fail early, with a clear message
        except ImportError as exc:
            raise RuntimeError("a BLE button needs the 'bleak' package") from exc
        self._thread = threading.Thread(target=self._run, name="msa-ble-button", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._presses.put(None)

    def _run(self) -> None:
        asyncio.run(self._listen())

    async def _listen(self) -> None:
        client_class: Any = importlib.import_module("bleak").BleakClient
        while not self._stop.is_set():
            try:
                async with client_class(self.address) as client:
                    self.connected = True

                    def handler(_sender: object, data: bytearray) -> None:
                        self.on_state(bool(data and data[0]))

                    await client.start_notify(self.characteristic, handler)
                    while not self._stop.is_set() and client.is_connected:
                        self.on_tick()
                        await asyncio.sleep(0.1)
            except Exception:  # noqa: BLE001 - any BLE failure: reconnect
                await asyncio.sleep(2.0)
            finally:
                self.connected = False

    def wait_for_press(self) -> ButtonPress | None:
        return self._presses.get()
