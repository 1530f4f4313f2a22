"""The incident's lifecycle at the dispatch centre, as data."""

from __future__ import annotations

from enum import StrEnum

import msa_protocol
from msa.audit.services import audit_record
from msa.core.transitions import StateMachine, sources

# What raised an alarm: the protocol's own list (docs/protocol.md), never a second copy.
Trigger = msa_protocol.Trigger


class IncidentState(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"


class IncidentTransitionName(StrEnum):
    RAISE = "raise"
    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    ARRIVE = "arrive"
    CLOSE = "close"
    REOPEN = "reopen"


S = IncidentState
T = IncidentTransitionName

INCIDENT_TABLE: dict[IncidentTransitionName, tuple[frozenset[IncidentState], IncidentState]] = {
    T.ACKNOWLEDGE: (sources(S.RECEIVED), S.ACKNOWLEDGED),
    T.DISPATCH: (sources(S.RECEIVED, S.ACKNOWLEDGED, S.DISPATCHED), S.DISPATCHED),
    T.ARRIVE: (sources(S.DISPATCHED), S.ON_SCENE),
    T.CLOSE: (sources(S.RECEIVED, S.ACKNOWLEDGED, S.DISPATCHED, S.ON_SCENE), S.CLOSED),
    T.REOPEN: (sources(S.CLOSED), S.ACKNOWLEDGED),
}

INCIDENT_MILESTONES = {
    T.ACKNOWLEDGE: "acknowledged_at",
    T.DISPATCH: "dispatched_at",
    T.ARRIVE: "on_scene_at",
    T.CLOSE: "closed_at",
}

OPEN_STATES = frozenset({S.RECEIVED, S.ACKNOWLEDGED, S.DISPATCHED, S.ON_SCENE})
OPEN_STATE_VALUES = tuple(sorted(str(s) for s in OPEN_STATES))  # as stored, in a fixed order


class Outcome(StrEnum):
    ARRESTED_ON_SCENE = "arrested_on_scene"
    ARRESTED_LATER = "arrested_later"
    NOT_FOUND = "not_found"
    NO_OFFENCE = "no_offence"
    FALSE_MISPRESS = "false_mispress"
    FALSE_TEST = "false_test"
    FALSE_TECHNICAL = "false_technical"


class Channel(StrEnum):
    DATA = "data"
    SMS = "sms"
    UNVERIFIED_SMS = "unverified_sms"
    AML = "aml"
    # The OsmAnd protocol (Traccar Client): unsigned, its identifier is its only secret.
    OSMAND = "osmand"


class Lane(StrEnum):
    LIVE = "live"
    TEST = "test"
    # Path monitoring (issue 12, EN 50136): the synthetic alarm of a probe device the centre
    # owns. It runs the whole chain and the event log, but never the dispatch queue, the
    # console's test lane, a timer, an escalation or a statistic: every one of them asks for
    # LIVE or TEST by name, so a new lane is left out unless asked for.
    PROBE = "probe"


class CallState(StrEnum):
    NONE = "none"
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"
    GHOST = "ghost"  # ended before anybody answered


class CallTransitionName(StrEnum):
    RAISE = "raise"  # the first history row: the call state the alarm came with
    DIAL = "dial"
    RING = "ring"
    ANSWER = "answer"
    END = "end"
    END_UNANSWERED = "end_unanswered"  # a ghost call


C = CallState
CT = CallTransitionName

CALL_TABLE: dict[CallTransitionName, tuple[frozenset[CallState], CallState]] = {
    CT.DIAL: (sources(C.NONE), C.DIALING),
    CT.RING: (sources(C.NONE, C.DIALING), C.RINGING),
    CT.ANSWER: (sources(C.NONE, C.DIALING, C.RINGING), C.ANSWERED),
    CT.END: (sources(C.ANSWERED), C.ENDED),
    CT.END_UNANSWERED: (sources(C.NONE, C.DIALING, C.RINGING), C.GHOST),
}

# What each call event of the protocol may do, in order: the first transition the table
# allows from the current call state applies; none allowed (a late or repeated report that
# would move the call backwards) changes nothing. ``ended`` without ``answered`` is a ghost.
CALL_EVENTS: dict[CallState, tuple[CallTransitionName, ...]] = {
    C.DIALING: (CT.DIAL,),
    C.RINGING: (CT.RING,),
    C.ANSWERED: (CT.ANSWER,),
    C.ENDED: (CT.END, CT.END_UNANSWERED),
    C.GHOST: (CT.END_UNANSWERED,),
}

# The call states during which the victim's position is tracked without an end time.
CALL_ONGOING = frozenset({C.DIALING, C.RINGING, C.ANSWERED})


INCIDENT_MACHINE: StateMachine[IncidentState, IncidentTransitionName] = StateMachine(
    name="incident",
    states=IncidentState,
    table=INCIDENT_TABLE,
    history_label="alarms.IncidentTransition",
    audit=audit_record,
    milestones=INCIDENT_MILESTONES,
)


CALL_MACHINE: StateMachine[CallState, CallTransitionName] = StateMachine(
    name="call",
    states=CallState,
    table=CALL_TABLE,
    history_label="alarms.CallTransition",
    audit=audit_record,
    state_field="call_state",
)


def call_transition_for(event: CallState, current: CallState | str) -> CallTransitionName | None:
    """The transition a call event makes from ``current``, or None when it changes nothing."""
    allowed = CALL_MACHINE.allowed(current)
    return next((t for t in CALL_EVENTS.get(event, ()) if t in allowed), None)
