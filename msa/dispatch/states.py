"""The lifecycles of the dispatch part, as data: a dispatch (one unit sent to one incident)
and a unit's availability."""

from __future__ import annotations

from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

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

# The button of each progress transition (the console's and the unit's page).
DISPATCH_LABELS: dict[DispatchTransitionName, Promise] = {
    DT.DEPART: _("en route"),
    DT.ARRIVE: _("on scene"),
    DT.CLEAR: _("cleared"),
}

DISPATCH_MACHINE: StateMachine[DispatchState, DispatchTransitionName] = StateMachine(
    name="dispatch",
    states=DispatchState,
    table=DISPATCH_TABLE,
    history_label="dispatch.DispatchTransition",
    audit=audit_record,
    milestones=DISPATCH_MILESTONES,
)


class UnitStatus(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFF_DUTY = "off_duty"


class UnitTransitionName(StrEnum):
    ENGAGE = "engage"  # dispatched
    RELEASE = "release"  # its dispatch cleared
    SIGN_ON = "sign_on"
    SIGN_OFF = "sign_off"


U = UnitStatus
UT = UnitTransitionName

UNIT_TABLE: dict[UnitTransitionName, tuple[frozenset[UnitStatus], UnitStatus]] = {
    UT.ENGAGE: (sources(U.AVAILABLE), U.BUSY),
    UT.RELEASE: (sources(U.BUSY), U.AVAILABLE),
    UT.SIGN_ON: (sources(U.OFF_DUTY), U.AVAILABLE),
    # from busy too: a unit left busy without an open dispatch can still go off duty
    UT.SIGN_OFF: (sources(U.AVAILABLE, U.BUSY), U.OFF_DUTY),
}

# What the crew's own buttons may do; busy comes and goes with the dispatches.
UNIT_CREW_LABELS: dict[UnitTransitionName, Promise] = {
    UT.SIGN_ON: _("available"),
    UT.SIGN_OFF: _("off duty"),
}

UNIT_MACHINE: StateMachine[UnitStatus, UnitTransitionName] = StateMachine(
    name="unit",
    states=UnitStatus,
    table=UNIT_TABLE,
    history_label="dispatch.UnitTransition",
    audit=audit_record,
)
