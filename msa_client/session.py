"""What happens after a press, and while nothing happens: the loops of the app.

- :class:`PositionBuffer` keeps fixes while the centre cannot be reached and sends the backlog
  oldest first, at most 100 per request, each fix once.
- :class:`AlarmSession` is the press loop: raise the alarm (with its SMS fallback), then send a
  position every ``report_interval_s`` while the centre answers ``continue: true``, report the
  call states, and send the fallback SMS with reason ``G`` when the call ended unanswered.
- :class:`HeartbeatLoop` says "alive" every ``next_heartbeat_s``.

All loops take their time from an injectable clock and wait with an injectable ``sleep``, so a
test drives hours of simulated time in milliseconds.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from msa_client.client import DeviceClient
from msa_client.interfaces import CallMonitor, PositionSource, Sleep
from msa_client.models import (
    AlarmAnswer,
    ApiError,
    Battery,
    DeviceStatus,
    Location,
    LocationsAnswer,
    MsaClientError,
)
from msa_protocol import (
    DEFAULT_HEARTBEAT_S,
    DEFAULT_REPORT_INTERVAL_S,
    MAX_FIXES_PER_REQUEST,
    CallEvent,
    SmsReason,
    Trigger,
)

__all__ = ["AlarmSession", "HeartbeatLoop", "PositionBuffer", "SessionResult"]

logger = logging.getLogger("msa_client")


class PositionBuffer:
    """Fixes not yet acknowledged by the centre, oldest first.

    A fix is added only if it is newer than every fix added before (a repeated or older
    ``fix_at`` is dropped, and so is the meaningless fix at 0, 0), so nothing is sent twice
    even though the centre would drop a repeated ``fix_at``. A fix leaves the buffer only when
    the request carrying it was answered 2xx. When more than ``max_pending`` fixes wait (a day
    offline at one fix per 10 s), the oldest are dropped: the freshest position matters most.
    """

    def __init__(self, max_pending: int = 8640) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._pending: deque[Location] = deque()
        self._newest: datetime | None = None
        self.max_pending = max_pending
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, fix: Location | None) -> bool:
        """Queue a fix; ``False`` when it was not queued (none, 0/0, not newer)."""
        if fix is None or not fix.is_fix:
            return False
        if self._newest is not None and fix.fix_at <= self._newest:
            return False
        self._newest = fix.fix_at
        self._pending.append(fix)
        if len(self._pending) > self.max_pending:
            self._pending.popleft()
            self.dropped += 1
        return True

    def mark_sent(self, fix: Location | None) -> None:
        """Record a fix sent another way (the location of the alarm itself): fixes not newer
        than it are not queued afterwards."""
        if fix is not None and (self._newest is None or fix.fix_at > self._newest):
            self._newest = fix.fix_at

    def next_batch(self, limit: int = MAX_FIXES_PER_REQUEST) -> list[Location]:
        """The oldest ``limit`` (at most 100) pending fixes, without removing them."""
        limit = max(1, min(limit, MAX_FIXES_PER_REQUEST))
        return [self._pending[i] for i in range(min(limit, len(self._pending)))]

    def acknowledge(self, count: int) -> None:
        """Remove the ``count`` oldest fixes: the centre answered the request carrying them."""
        for _ in range(min(count, len(self._pending))):
            self._pending.popleft()

    def flush(
        self, send: Callable[[Sequence[Location]], LocationsAnswer]
    ) -> LocationsAnswer | None:
        """Send the backlog in order, batch by batch, until it is empty or the centre says
        ``continue: false``. Errors propagate; the unsent fixes stay queued."""
        answer: LocationsAnswer | None = None
        while self._pending:
            batch = self.next_batch()
            answer = send(batch)
            self.acknowledge(len(batch))
            if not answer.continue_tracking:
                self._pending.clear()  # after the window the centre stores nothing more
                break
        return answer


@dataclass(slots=True)
class SessionResult:
    """How a press loop ended."""

    alarm_id: uuid.UUID
    answer: AlarmAnswer | None = None
    error: MsaClientError | None = None
    sms_texts: list[str] = field(default_factory=list)
    fixes_sent: int = 0
    stopped_because: str = ""

    @property
    def sms_reasons(self) -> list[str]:
        """The reason letters of the fallback SMS sent for this press, in order."""
        return [text.split(" ")[7][1] for text in self.sms_texts]

    @property
    def delivered(self) -> bool:
        """Whether the centre knows of the press through the data path or an SMS."""
        return self.answer is not None or bool(self.sms_texts)


class AlarmSession:
    """The press loop of one press.

    1. Take the freshest fix and raise the alarm (:meth:`DeviceClient.raise_alarm`: retries and
       the SMS fallback within 5 s); while it retries, fixes and call events are still taken.
    2. Every ``report_interval_s`` take a fix and flush the :class:`PositionBuffer`, until the
       centre answers ``continue: false``, the alarm id is unknown (404), or ``max_duration_s``
       passed (a safety net if the centre stays unreachable).
    3. Report every call state from the :class:`CallMonitor`, in order; an ``ended`` without a
       prior ``answered`` sends the fallback SMS with reason ``G`` as well (once).
    """

    def __init__(
        self,
        client: DeviceClient,
        positions: PositionSource,
        *,
        trigger: Trigger | str = Trigger.BUTTON,
        call: CallMonitor | None = None,
        battery: Battery | None = None,
        call_state: str | None = None,
        alarm_id: uuid.UUID | None = None,
        sleep: Sleep | None = None,
        max_duration_s: float = 6 * 3600.0,
        buffer: PositionBuffer | None = None,
    ) -> None:
        self.client = client
        self.positions = positions
        self.trigger = Trigger(trigger)
        self.call = call
        self.battery = battery
        self.call_state = call_state
        self.alarm_id = alarm_id if alarm_id is not None else uuid.uuid4()
        self._sleep: Sleep = sleep if sleep is not None else client.sleep
        self.max_duration_s = max_duration_s
        self.buffer = buffer if buffer is not None else PositionBuffer()
        self.interval_s: float = DEFAULT_REPORT_INTERVAL_S
        self._pressed_at: datetime | None = None
        self._next_sample: datetime | None = None
        self._latest_fix: Location | None = None
        self._call_events: deque[tuple[CallEvent, datetime]] = deque()
        self._answered = False
        self._ghost_sent = False
        self._alarm_known = False
        self.result = SessionResult(alarm_id=self.alarm_id)

    # -- helpers -----------------------------------------------------------------------------

    def _sample(self, *, force: bool = False) -> None:
        now = self.client.device_time()
        if not force and self._next_sample is not None and now < self._next_sample:
            return
        self._next_sample = now + timedelta(seconds=self.interval_s)
        fix = self.positions.current()
        if fix is not None and fix.is_fix:
            self._latest_fix = fix
            self.buffer.add(fix)

    def _poll_call(self) -> None:
        if self.call is None:
            return
        for event, at in self.call.poll():
            self._call_events.append((event, at))
            if event is CallEvent.ANSWERED:
                self._answered = True
            elif event is CallEvent.ENDED and not self._answered:
                self._send_ghost_sms()

    def _send_ghost_sms(self) -> None:
        if self._ghost_sent or self._pressed_at is None:
            return
        self._ghost_sent = True
        logger.warning("ghost_call")
        sent = self.client.try_fallback_sms(
            alarm_id=self.alarm_id,
            pressed_at=self._pressed_at,
            location=self._latest_fix,
            trigger=self.trigger,
            reason=SmsReason.GHOST_CALL,
        )
        if not sent:
            self._ghost_sent = False  # try again at the next tick

    def _send_call_events(self) -> None:
        while self._call_events and self._alarm_known:
            event, at = self._call_events[0]
            try:
                self.client.call_event(self.alarm_id, event, at)
            except ApiError as exc:
                if exc.retryable:
                    return
                logger.error("call_event_refused code=%s", exc.code)  # noqa: TRY400
            except MsaClientError:
                return  # no network: keep it for the next tick
            self._call_events.popleft()

    def _tick(self) -> None:
        self._sample()
        self._poll_call()
        self._send_call_events()

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> SessionResult:
        """Run the press loop to its end and return what happened."""
        client = self.client
        self._pressed_at = client.device_time()
        ends_at = self._pressed_at + timedelta(seconds=self.max_duration_s)
        self._next_sample = self._pressed_at + timedelta(seconds=self.interval_s)
        first = self.positions.current()
        if first is not None and first.is_fix:
            self._latest_fix = first
            self.buffer.mark_sent(first)  # it travels in the alarm itself
        try:
            answer = client.raise_alarm(
                self.trigger,
                self._latest_fix,
                self.battery,
                self.call_state,
                self.alarm_id,
                pressed_at=self._pressed_at,
                between_attempts=self._tick,
            )
        except MsaClientError as exc:
            self.result.error = exc
            self.result.stopped_because = "alarm_not_delivered"
            self._poll_call()  # a ghost call still gets its SMS
            return self._finish()
        self.result.answer = answer
        self._alarm_known = True
        self.interval_s = max(1, answer.report_interval_s)
        next_report = client.device_time() + timedelta(seconds=self.interval_s)
        while True:
            self._poll_call()
            self._send_call_events()
            now = client.device_time()
            if now >= ends_at:
                self.result.stopped_because = "max_duration"
                break
            if now >= next_report:
                self._sample(force=True)
                stop = self._report()
                if stop:
                    break
                next_report = client.device_time() + timedelta(seconds=self.interval_s)
            left = (next_report - client.device_time()).total_seconds()
            if left > 0:
                self._sleep(min(left, 1.0))
        self._send_call_events()
        return self._finish()

    def _finish(self) -> SessionResult:
        ref = self.alarm_id.hex[:8]
        self.result.sms_texts = [
            text for _, text in self.client.sms_record if text.split(" ")[2] == ref
        ]
        return self.result

    def _report(self) -> bool:
        """Flush the buffer; ``True`` when the session must stop."""
        sent_before = len(self.buffer)
        try:
            answer = self.buffer.flush(
                lambda fixes: self.client.send_locations(self.alarm_id, fixes)
            )
        except ApiError as exc:
            if exc.status == 404:
                self.result.stopped_because = "not_found"
                return True
            if not exc.retryable:
                logger.error("locations_refused code=%s", exc.code)  # noqa: TRY400
            return False
        except MsaClientError:
            return False  # offline: the fixes stay buffered
        self.result.fixes_sent += sent_before - len(self.buffer)
        if answer is None:
            return False
        self.interval_s = max(1, answer.report_interval_s)
        if not answer.continue_tracking:
            self.result.stopped_because = "centre_stopped_tracking"
            return True
        return False


class HeartbeatLoop:
    """Send a heartbeat every ``next_heartbeat_s`` (300 s until the centre says otherwise);
    after a failure, try again after ``retry_s`` (or the interval, whichever is shorter)."""

    def __init__(
        self,
        client: DeviceClient,
        status: Callable[[], DeviceStatus],
        *,
        sleep: Sleep | None = None,
        retry_s: float = 60.0,
    ) -> None:
        self.client = client
        self.status = status
        self._sleep: Sleep = sleep if sleep is not None else client.sleep
        self.retry_s = retry_s
        self.interval_s: float = DEFAULT_HEARTBEAT_S
        self.beats = 0
        self.failures = 0

    def beat(self) -> float:
        """Send one heartbeat; return the seconds to wait before the next one."""
        try:
            answer = self.client.heartbeat(self.status())
        except MsaClientError as exc:
            self.failures += 1
            logger.warning("heartbeat_failed error=%s", type(exc).__name__)
            return min(self.retry_s, self.interval_s)
        self.beats += 1
        self.interval_s = max(1, answer.next_heartbeat_s)
        return self.interval_s

    def run(
        self, should_stop: Callable[[], bool] = lambda: False, max_beats: int | None = None
    ) -> None:
        """Beat until ``should_stop()`` or after ``max_beats`` attempts."""
        done = 0
        while not should_stop() and (max_beats is None or done < max_beats):
            wait = self.beat()
            done += 1
            if should_stop() or (max_beats is not None and done >= max_beats):
                return
            self._sleep(wait)
