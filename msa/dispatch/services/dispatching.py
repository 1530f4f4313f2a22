"""Sending units to an incident, and their progress (en route, on scene, cleared)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from msa.alarms.models import Incident
from msa.alarms.states import INCIDENT_MACHINE, OPEN_STATES, IncidentState, IncidentTransitionName
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, TransitionNotAllowedError, ValidationError
from msa.core.transitions import history_start, transition_apply
from msa.dispatch.models import Dispatch, Unit
from msa.dispatch.routing import Origin, router
from msa.dispatch.services.common import incident_lock, incident_state_changed
from msa.dispatch.services.units import unit_engage, unit_release
from msa.dispatch.states import (
    DISPATCH_MACHINE,
    DispatchState,
    DispatchTransitionName,
    UnitStatus,
)
from msa.realtime import events
from msa.realtime.services import incident_event_append

log = logging.getLogger("msa.dispatch")


def _last_position(incident: Incident) -> tuple[float, float] | None:
    fix = incident.fixes.order_by("-fix_at").values_list("lat", "lon").first()
    return (fix[0], fix[1]) if fix else None


@transaction.atomic(durable=True)
def dispatch_create(*, incident: Incident, unit_ids: Sequence[int], actor: Actor) -> list[Dispatch]:
    """Send one or more available units. A unit already on a dispatch is refused."""
    if not unit_ids:
        raise ValidationError(
            gettext_noop("choose at least one unit"), fields={"units": "required"}
        )
    locked = incident_lock(incident)
    if locked.status not in OPEN_STATES:
        raise TransitionNotAllowedError(
            gettext_noop("incident: cannot dispatch from '%(state)s'"),
            params={"state": str(locked.status)},
        )
    units = list(
        Unit.objects.select_for_update()
        .filter(pk__in=list(unit_ids), police_zone__covered_by_id=locked.centre_id)
        .order_by("pk"),
    )
    if len(units) != len(set(unit_ids)):
        raise ValidationError(gettext_noop("no such unit"), fields={"units": "unknown"})
    now = clock.now()
    at = _last_position(locked)
    origins = [Origin(u.lat or 0.0, u.lon or 0.0, u.kind) for u in units]
    etas: list[float | None] = (
        list(router().etas(origins, lat=at[0], lon=at[1])) if at else [None] * len(units)
    )
    created: list[Dispatch] = []
    for unit, eta in zip(units, etas, strict=True):
        if unit.status != UnitStatus.AVAILABLE:
            raise ConflictError(
                gettext_noop("unit %(unit)s is %(status)s"),
                params={"unit": unit.call_sign, "status": str(unit.status)},
            )
        try:
            with transaction.atomic():
                dispatch = Dispatch.objects.create(
                    incident=locked,
                    unit=unit,
                    status=DispatchState.ASSIGNED,
                    eta_s=None if eta is None or unit.lat is None else round(eta),
                    assigned_at=now,
                    assigned_by_id=actor.user_id,
                )
        except IntegrityError:
            raise ConflictError(
                gettext_noop("unit %(unit)s is already dispatched"), params={"unit": unit.call_sign}
            ) from None
        unit_engage(unit=unit, actor=actor, at=now, reason=locked.reference)
        history_start(
            DISPATCH_MACHINE,
            dispatch,
            transition=DispatchTransitionName.ASSIGN,
            actor=actor,
            at=now,
        )
        audit_record(
            actor=actor,
            action="dispatch.assign",
            subject=dispatch,
            new={"incident": locked.reference, "unit": unit.call_sign, "eta_s": dispatch.eta_s},
        )
        created.append(dispatch)
    if locked.status == IncidentState.RECEIVED:
        # Dispatching straight from the queue takes the incident too: its acknowledgement
        # milestone and owner are recorded, so the KPIs and the ack timer stay right.
        changes = {"acknowledged_by_id": actor.user_id} if actor.user_id else {}
        locked = transition_apply(
            INCIDENT_MACHINE,
            locked,
            IncidentTransitionName.ACKNOWLEDGE,
            actor=actor,
            at=now,
            changes=changes,
        )
        incident_state_changed(locked, IncidentTransitionName.ACKNOWLEDGE, actor)
    if locked.status != IncidentState.ON_SCENE:
        locked = transition_apply(
            INCIDENT_MACHINE, locked, IncidentTransitionName.DISPATCH, actor=actor, at=now
        )
    for dispatch in created:
        incident_event_append(
            incident=locked,
            event=events.UnitDispatched(
                incident=locked.reference,
                dispatch_id=dispatch.pk,
                unit=dispatch.unit.call_sign,
                eta_s=dispatch.eta_s,
                status=str(locked.status),
            ),
        )
    log.info("units_dispatched incident=%s units=%d", locked.reference, len(created))
    return created


@transaction.atomic(durable=True)
def dispatch_progress(
    *, dispatch: Dispatch, transition: DispatchTransitionName, actor: Actor
) -> Dispatch:
    """The unit's progress: en route, on scene, cleared. The first unit on scene puts the
    incident on scene; a cleared unit is available again."""
    incident = incident_lock(dispatch.incident)
    updated = transition_apply(DISPATCH_MACHINE, dispatch, transition, actor=actor)
    if transition == DispatchTransitionName.CLEAR:
        unit = unit_release(unit_id=updated.unit_id, actor=actor, reason="dispatch cleared")
    else:
        unit = Unit.objects.select_for_update().get(pk=updated.unit_id)
    if transition == DispatchTransitionName.ARRIVE and incident.status == IncidentState.DISPATCHED:
        incident = transition_apply(
            INCIDENT_MACHINE, incident, IncidentTransitionName.ARRIVE, actor=actor
        )
    incident_event_append(
        incident=incident,
        event=events.DispatchProgressed(
            incident=incident.reference,
            dispatch_id=updated.pk,
            unit=unit.call_sign,
            transition=str(transition),
            dispatch_status=str(updated.status),
            status=str(incident.status),
        ),
    )
    return updated
