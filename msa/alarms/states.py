"""The incident's lifecycle at the dispatch centre, as data."""

from __future__ import annotations

from enum import StrEnum

from msa.audit.services import audit_record
from msa.core.transitions import StateMachine, sources


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


class Outcome(StrEnum):
    ARRESTED_ON_SCENE = "arrested_on_scene"
    ARRESTED_LATER = "arrested_later"
    NOT_FOUND = "not_found"
    NO_OFFENCE = "no_offence"
    FALSE_MISPRESS = "false_mispress"
    FALSE_TEST = "false_test"
    FALSE_TECHNICAL = "false_technical"


class Trigger(StrEnum):
    BUTTON = "button"
    APP = "app"
    DURESS = "duress"
    TEST = "test"


class Channel(StrEnum):
    DATA = "data"
    SMS = "sms"
    UNVERIFIED_SMS = "unverified_sms"
    AML = "aml"


class Lane(StrEnum):
    LIVE = "live"
    TEST = "test"


class CallState(StrEnum):
    NONE = "none"
    DIALING = "dialing"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"
    GHOST = "ghost"  # ended before anybody answered


INCIDENT_MACHINE: StateMachine[IncidentState, IncidentTransitionName] = StateMachine(
    name="incident",
    states=IncidentState,
    table=INCIDENT_TABLE,
    history_label="alarms.IncidentTransition",
    audit=audit_record,
    milestones=INCIDENT_MILESTONES,
)
