"""Writes of the console, the unit and the worker's timers about incidents and dispatches.

Each action is one service: it locks what it changes, checks, writes, records one
history/timeline row, one audit row and one event (to the centre's stream and, while the
incident is offered to a backup centre, to that one's too), all in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from msa.accounts.models import User
from msa.accounts.selectors import user_is_console_staff
from msa.alarms.models import Incident
from msa.alarms.states import (
    INCIDENT_MACHINE,
    OPEN_STATES,
    IncidentState,
    IncidentTransitionName,
    Lane,
    Outcome,
)
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, TransitionNotAllowedError, ValidationError
from msa.core.transitions import history_start, transition_apply
from msa.dispatch.models import (
    CentreBackup,
    Dispatch,
    IncidentNote,
    Unit,
    UnitPosition,
    UnitStatus,
)
from msa.dispatch.routing import Origin, router
from msa.dispatch.states import (
    DISPATCH_MACHINE,
    OPEN_DISPATCH_STATES,
    DispatchState,
    DispatchTransitionName,
)
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue
from msa.realtime import events
from msa.realtime.services import incident_event_append

log = logging.getLogger("msa.dispatch")


MAX_NOTE = 4000
MAX_REASON = 500
MAX_EXTEND = timedelta(hours=4)
BEFORE_SCENE = frozenset(
    {IncidentState.RECEIVED, IncidentState.ACKNOWLEDGED, IncidentState.DISPATCHED}
)
FALSE_ALARMS = frozenset({Outcome.FALSE_MISPRESS, Outcome.FALSE_TEST, Outcome.FALSE_TECHNICAL})


def emit(incident: Incident, event: events.Event) -> None:
    """Append ``event`` to the incident's centre stream, and to its backup centre's."""
    incident_event_append(incident=incident, event=event)


def _state_changed(incident: Incident, transition: IncidentTransitionName, actor: Actor) -> None:
    emit(
        incident,
        events.IncidentStateChanged(
            incident=incident.reference,
            transition=str(transition),
            status=str(incident.status),
            actor=actor.label,
        ),
    )


def _reason(reason: str, *, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise ValidationError("a reason is required", fields={"reason": "required"})
    if len(reason) > MAX_REASON:
        raise ValidationError("the reason is too long", fields={"reason": "too long"})
    return reason


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("centre").get(pk=incident.pk)


# --- the console ---------------------------------------------------------------------------


@transaction.atomic(durable=True)
def incident_acknowledge(*, incident: Incident, actor: Actor) -> Incident:
    """The operator takes the incident. Of two operators at once, exactly one wins (the
    row lock serialises them; the second finds it acknowledged and is refused).

    When the incident was offered to a backup centre and an operator of that centre takes it,
    that centre owns it from now on (and the first centre keeps seeing it as backup).
    """
    changes: dict[str, object] = {}
    if actor.user_id is not None:
        changes["acknowledged_by_id"] = actor.user_id
        locked = _lock(incident)
        user = User.objects.get(pk=actor.user_id)
        if (
            locked.backup_centre_id
            and not user_is_console_staff(user, locked.centre_id)
            and user_is_console_staff(user, locked.backup_centre_id)
        ):
            changes["centre_id"] = locked.backup_centre_id
            changes["backup_centre_id"] = locked.centre_id
    updated = transition_apply(
        INCIDENT_MACHINE,
        incident,
        IncidentTransitionName.ACKNOWLEDGE,
        actor=actor,
        changes=changes,
    )
    _state_changed(updated, IncidentTransitionName.ACKNOWLEDGE, actor)
    return updated


@transaction.atomic(durable=True)
def incident_note_add(*, incident: Incident, actor: Actor, text: str) -> IncidentNote:
    text = text.strip()
    if not text:
        raise ValidationError("a note needs text", fields={"text": "required"})
    if len(text) > MAX_NOTE:
        raise ValidationError("the note is too long", fields={"text": "too long"})
    locked = _lock(incident)
    note = IncidentNote.objects.create(
        incident=locked,
        text=text,
        author_label=actor.label,
        author_id=actor.user_id,
        at=clock.now(),
    )
    audit_record(actor=actor, action="incident.note", subject=locked, new={"note": note.pk})
    emit(
        locked, events.IncidentNoted(incident=locked.reference, note_id=note.pk, actor=actor.label)
    )
    return note


def _last_position(incident: Incident) -> tuple[float, float] | None:
    fix = incident.fixes.order_by("-fix_at").values_list("lat", "lon").first()
    return (fix[0], fix[1]) if fix else None


@transaction.atomic(durable=True)
def dispatch_create(*, incident: Incident, unit_ids: Sequence[int], actor: Actor) -> list[Dispatch]:
    """Send one or more available units. A unit already on a dispatch is refused."""
    if not unit_ids:
        raise ValidationError("choose at least one unit", fields={"units": "required"})
    locked = _lock(incident)
    if locked.status not in OPEN_STATES:
        raise TransitionNotAllowedError(f"incident: cannot dispatch from '{locked.status}'")
    units = list(
        Unit.objects.select_for_update()
        .filter(pk__in=list(unit_ids), police_zone__covered_by_id=locked.centre_id)
        .order_by("pk"),
    )
    if len(units) != len(set(unit_ids)):
        raise ValidationError("no such unit", fields={"units": "unknown"})
    now = clock.now()
    at = _last_position(locked)
    origins = [Origin(u.lat or 0.0, u.lon or 0.0, u.kind) for u in units]
    etas: list[float | None] = (
        list(router().etas(origins, lat=at[0], lon=at[1])) if at else [None] * len(units)
    )
    created: list[Dispatch] = []
    for unit, eta in zip(units, etas, strict=True):
        if unit.status != UnitStatus.AVAILABLE:
            raise ConflictError(f"unit {unit.call_sign} is {unit.status}")
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
            raise ConflictError(f"unit {unit.call_sign} is already dispatched") from None
        unit.status = UnitStatus.BUSY
        unit.save(update_fields=["status"])
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
        _state_changed(locked, IncidentTransitionName.ACKNOWLEDGE, actor)
    if locked.status != IncidentState.ON_SCENE:
        locked = transition_apply(
            INCIDENT_MACHINE, locked, IncidentTransitionName.DISPATCH, actor=actor, at=now
        )
    for dispatch in created:
        emit(
            locked,
            events.UnitDispatched(
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
    incident = _lock(dispatch.incident)
    updated = transition_apply(DISPATCH_MACHINE, dispatch, transition, actor=actor)
    unit = Unit.objects.select_for_update().get(pk=updated.unit_id)
    if transition == DispatchTransitionName.CLEAR and unit.status == UnitStatus.BUSY:
        unit.status = UnitStatus.AVAILABLE
        unit.save(update_fields=["status"])
    if transition == DispatchTransitionName.ARRIVE and incident.status == IncidentState.DISPATCHED:
        incident = transition_apply(
            INCIDENT_MACHINE, incident, IncidentTransitionName.ARRIVE, actor=actor
        )
    emit(
        incident,
        events.DispatchProgressed(
            incident=incident.reference,
            dispatch_id=updated.pk,
            unit=unit.call_sign,
            transition=str(transition),
            dispatch_status=str(updated.status),
            status=str(incident.status),
        ),
    )
    return updated


@transaction.atomic(durable=True)
def incident_outcome_record(
    *,
    incident: Incident,
    actor: Actor,
    outcome: Outcome,
    violence_before_arrival: bool | None = None,
    victim_injured: bool | None = None,
) -> Incident:
    locked = _lock(incident)
    if locked.status not in OPEN_STATES:
        raise TransitionNotAllowedError("incident: the outcome of a closed incident is fixed")
    old = {
        "outcome": locked.outcome,
        "violence_before_arrival": locked.violence_before_arrival,
        "victim_injured": locked.victim_injured,
    }
    locked.outcome = str(outcome)
    locked.violence_before_arrival = violence_before_arrival
    locked.victim_injured = victim_injured
    locked.save(update_fields=["outcome", "violence_before_arrival", "victim_injured"])
    new = {
        "outcome": str(outcome),
        "violence_before_arrival": violence_before_arrival,
        "victim_injured": victim_injured,
    }
    audit_record(actor=actor, action="incident.outcome", subject=locked, old=old, new=new)
    emit(
        locked,
        events.OutcomeRecorded(
            incident=locked.reference,
            outcome=str(outcome),
            violence_before_arrival=violence_before_arrival,
            victim_injured=victim_injured,
        ),
    )
    return locked


@transaction.atomic(durable=True)
def incident_close(*, incident: Incident, actor: Actor, reason: str = "") -> Incident:
    """Close an incident whose outcome is recorded; units still on it are cleared."""
    locked = _lock(incident)
    if not locked.outcome and locked.status in OPEN_STATES:
        raise ValidationError("record the outcome first", fields={"outcome": "required"})
    updated = transition_apply(
        INCIDENT_MACHINE,
        locked,
        IncidentTransitionName.CLOSE,
        actor=actor,
        reason=_reason(reason, required=False),
    )
    for dispatch in Dispatch.objects.filter(
        incident=updated, status__in=[str(s) for s in OPEN_DISPATCH_STATES]
    ):
        transition_apply(
            DISPATCH_MACHINE,
            dispatch,
            DispatchTransitionName.CLEAR,
            actor=actor,
            reason="incident closed",
        )
        Unit.objects.filter(pk=dispatch.unit_id, status=UnitStatus.BUSY).update(
            status=UnitStatus.AVAILABLE
        )
    _state_changed(updated, IncidentTransitionName.CLOSE, actor)
    return updated


@transaction.atomic(durable=True)
def incident_reopen(*, incident: Incident, actor: Actor, reason: str) -> Incident:
    updated = transition_apply(
        INCIDENT_MACHINE,
        incident,
        IncidentTransitionName.REOPEN,
        actor=actor,
        reason=_reason(reason, required=True),
        changes={"closed_at": None},
    )
    _state_changed(updated, IncidentTransitionName.REOPEN, actor)
    return updated


@transaction.atomic(durable=True)
def tracking_stop(*, incident: Incident, actor: Actor, reason: str) -> Incident:
    """End the tracking window now (positions after it are not stored)."""
    reason = _reason(reason, required=True)
    locked = _lock(incident)
    now = clock.now()
    old = locked.track_until
    if old is not None and old <= now:
        raise ConflictError("tracking has already ended")
    locked.track_until = now
    locked.save(update_fields=["track_until"])
    return _tracking_changed(locked, actor, old, "stop", reason)


@transaction.atomic(durable=True)
def tracking_extend(*, incident: Incident, actor: Actor, reason: str, by: timedelta) -> Incident:
    """Keep tracking ``by`` longer than now or the current end, whichever is later."""
    reason = _reason(reason, required=True)
    if by <= timedelta(0) or by > MAX_EXTEND:
        raise ValidationError("extend by 1 minute to 4 hours", fields={"minutes": "range"})
    locked = _lock(incident)
    if locked.status not in OPEN_STATES:
        raise TransitionNotAllowedError("incident: reopen it before extending tracking")
    now = clock.now()
    old = locked.track_until
    locked.track_until = max(now, old or now) + by
    locked.save(update_fields=["track_until"])
    return _tracking_changed(locked, actor, old, "extend", reason)


def _tracking_changed(
    incident: Incident, actor: Actor, old: datetime | None, change: str, reason: str
) -> Incident:
    new = incident.track_until
    audit_record(
        actor=actor,
        action=f"incident.tracking_{change}",
        subject=incident,
        old={"track_until": old.isoformat() if old else None},
        new={"track_until": new.isoformat() if new else None},
        reason=reason,
    )
    emit(
        incident,
        events.TrackingChanged(
            incident=incident.reference,
            track_until=new.isoformat() if new else None,
            change=change,
        ),
    )
    return incident


# --- units ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def unit_position_record(
    *,
    unit: Unit,
    lat: float,
    lon: float,
    fix_at: datetime,
    source: str,
    actor: Actor,
    accuracy_m: float | None = None,
) -> UnitPosition:
    """Store where a unit was; the unit's current position follows the newest fix.

    Positions are frequent and not personal data of a victim: they are not audited one by one.
    """
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        raise ValidationError("not a position", fields={"lat": str(lat), "lon": str(lon)})
    now = clock.now()
    if fix_at > now + timedelta(minutes=5):
        raise ValidationError("the position is in the future", fields={"fix_at": "future"})
    position = UnitPosition.objects.create(
        unit=unit,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
        fix_at=fix_at,
        source=source,
        received_at=now,
    )
    Unit.objects.filter(pk=unit.pk).exclude(position_at__gt=fix_at).update(
        lat=lat, lon=lon, position_at=fix_at
    )
    return position


@transaction.atomic(durable=True)
def unit_status_set(*, unit: Unit, status: UnitStatus, actor: Actor) -> Unit:
    """Available or off duty. Busy comes and goes with dispatches."""
    if status == UnitStatus.BUSY:
        raise ValidationError("busy follows the dispatches", fields={"status": "busy"})
    locked = Unit.objects.select_for_update().get(pk=unit.pk)
    if Dispatch.objects.filter(
        unit=locked, status__in=[str(s) for s in OPEN_DISPATCH_STATES]
    ).exists():
        raise ConflictError("clear the current dispatch first")
    old = locked.status
    locked.status = status
    locked.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="unit.status",
        subject=locked,
        old={"status": old},
        new={"status": status},
    )
    return locked


# --- the worker's timers ------------------------------------------------------------------


def ack_target() -> timedelta:
    return timedelta(seconds=settings.MSA_ACK_TARGET_S)


def backup_after() -> timedelta:
    return timedelta(seconds=settings.MSA_BACKUP_OFFER_S)


def dispatch_target() -> timedelta:
    return timedelta(seconds=settings.MSA_DISPATCH_TARGET_S)


def on_scene_target() -> timedelta:
    return timedelta(seconds=settings.MSA_ON_SCENE_TARGET_S)


def _escalated(incident: Incident, kind: str, at: datetime, backup: str = "") -> None:
    audit_record(
        actor=Actor.system("worker"),
        action=f"incident.escalate_{kind}",
        subject=incident,
        new={"kind": kind, "at": at.isoformat(), "backup": backup},
    )
    emit(
        incident,
        events.IncidentEscalated(
            incident=incident.reference, kind=kind, at=at.isoformat(), backup_centre=backup
        ),
    )
    log.warning("incident_escalated incident=%s kind=%s", incident.reference, kind)


def _alert_supervisor(incident: Incident, text: str, actor: Actor) -> None:
    recipient = settings.MSA_SUPERVISOR_ALERT_TO or f"supervisor@{incident.centre.code}"
    channel = MessageChannel.SMS if recipient.startswith("+") else MessageChannel.EMAIL
    message_enqueue(
        channel=channel,
        recipient=recipient,
        subject=f"MSA {incident.reference}",
        body=text,  # the reference and the fact only: no names
        actor=actor,
        about=incident,
    )


@transaction.atomic(durable=True)
def incident_ack_escalate(*, incident: Incident, actor: Actor) -> bool:
    """Not acknowledged within the target: alert the supervisor. Idempotent."""
    locked = _lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status != IncidentState.RECEIVED
        or locked.ack_escalated_at is not None
        or locked.received_at + ack_target() > now
    ):
        return False
    locked.ack_escalated_at = now
    locked.save(update_fields=["ack_escalated_at"])
    _alert_supervisor(
        locked, f"{locked.reference}: not acknowledged after {settings.MSA_ACK_TARGET_S} s", actor
    )
    _escalated(locked, "ack", now)
    return True


@transaction.atomic(durable=True)
def incident_backup_offer(*, incident: Incident, actor: Actor) -> bool:
    """Still not acknowledged: offer it to the backup centre too. Idempotent."""
    locked = _lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status != IncidentState.RECEIVED
        or locked.backup_offered_at is not None
        or locked.received_at + backup_after() > now
    ):
        return False
    link = CentreBackup.objects.select_related("backup").filter(centre_id=locked.centre_id).first()
    locked.backup_offered_at = now
    fields = ["backup_offered_at"]
    if link is not None:
        locked.backup_centre = link.backup
        fields.append("backup_centre")
    locked.save(update_fields=fields)
    _escalated(locked, "backup", now, link.backup.code if link else "")
    return True


@transaction.atomic(durable=True)
def incident_dispatch_overdue(*, incident: Incident, actor: Actor) -> bool:
    """Acknowledged but no unit sent within the target: alert. Idempotent."""
    locked = _lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status != IncidentState.ACKNOWLEDGED
        or locked.dispatch_overdue_at is not None
        or locked.dispatched_at is not None
        or locked.acknowledged_at is None
        or locked.acknowledged_at + dispatch_target() > now
    ):
        return False
    locked.dispatch_overdue_at = now
    locked.save(update_fields=["dispatch_overdue_at"])
    _alert_supervisor(locked, f"{locked.reference}: acknowledged, no unit dispatched", actor)
    _escalated(locked, "dispatch", now)
    return True


@transaction.atomic(durable=True)
def incident_on_scene_breach(*, incident: Incident, actor: Actor) -> bool:
    """No unit on scene within the target after the alarm: mark the breach. Idempotent."""
    locked = _lock(incident)
    now = clock.now()
    if (
        locked.lane != Lane.LIVE
        or locked.status
        not in {IncidentState.RECEIVED, IncidentState.ACKNOWLEDGED, IncidentState.DISPATCHED}
        or locked.on_scene_breach_at is not None
        or locked.on_scene_at is not None
        or locked.received_at + on_scene_target() > now
    ):
        return False
    locked.on_scene_breach_at = now
    locked.save(update_fields=["on_scene_breach_at"])
    _escalated(locked, "on_scene", now)
    return True


@transaction.atomic(durable=True)
def unit_avl_token_issue(*, unit: Unit, actor: Actor) -> str:
    """Issue the bearer token of a unit's AVL feed (shown once); an older one is revoked."""
    from msa.accounts.models import TokenKind
    from msa.accounts.tokens import token_create

    locked = (
        Unit.objects.select_for_update(of=("self",)).select_related("avl_token").get(pk=unit.pk)
    )
    if locked.avl_token is not None:
        locked.avl_token.revoked_at = clock.now()
        locked.avl_token.save(update_fields=["revoked_at"])
    issued = token_create(
        kind=TokenKind.UNIT,
        name=f"avl {locked.call_sign} {clock.now():%Y%m%d%H%M%S}",
        actor=actor,
        organisation=locked.police_zone,
    )
    locked.avl_token = issued.token
    locked.save(update_fields=["avl_token"])
    audit_record(
        actor=actor, action="unit.avl_token", subject=locked, new={"token": issued.token.prefix}
    )
    return issued.plain
