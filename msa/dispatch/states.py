"""A dispatch's lifecycle, as data: one unit sent to one incident."""

from __future__ import annotations

from enum import StrEnum

from msa.audit.services import audit_record
from msa.core.transitions import StateMachine, sources


class DispatchState(StrEnum):
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEARED = "cleared"


class DispatchTransitionName(StrEnum):
    ASSIGN = "assign"
    DEPART = "depart"
    ARRIVE = "arrive"
    CLEAR = "clear"


D = DispatchState
DT = DispatchTransitionName

DISPATCH_TABLE: dict[DispatchTransitionName, tuple[frozenset[DispatchState], DispatchState]] = {
    DT.DEPART: (sources(D.ASSIGNED), D.EN_ROUTE),
    DT.ARRIVE: (sources(D.ASSIGNED, D.EN_ROUTE), D.ON_SCENE),
    DT.CLEAR: (sources(D.ASSIGNED, D.EN_ROUTE, D.ON_SCENE), D.CLEARED),
}

DISPATCH_MILESTONES = {
    DT.DEPART: "en_route_at",
    DT.ARRIVE: "on_scene_at",
    DT.CLEAR: "cleared_at",
}

OPEN_DISPATCH_STATES = frozenset({D.ASSIGNED, D.EN_ROUTE, D.ON_SCENE})

# What the unit's buttons and the console's progress menu call, by the state they lead to.
PROGRESS_BY_TARGET: dict[str, DispatchTransitionName] = {
    D.EN_ROUTE: DT.DEPART,
    D.ON_SCENE: DT.ARRIVE,
    D.CLEARED: DT.CLEAR,
}

DISPATCH_MACHINE: StateMachine[DispatchState, DispatchTransitionName] = StateMachine(
    name="dispatch",
    states=DispatchState,
    table=DISPATCH_TABLE,
    history_label="dispatch.DispatchTransition",
    audit=audit_record,
    milestones=DISPATCH_MILESTONES,
)
