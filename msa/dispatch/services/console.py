"""The operator's actions on an incident: take it, note, outcome, close, reopen, tracking."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.accounts.models import User
from msa.accounts.selectors import user_is_console_staff
from msa.alarms.models import Incident
from msa.alarms.states import INCIDENT_MACHINE, OPEN_STATES, IncidentTransitionName, Outcome
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, TransitionNotAllowedError, ValidationError
from msa.core.transitions import transition_apply
from msa.dispatch.models import Dispatch, IncidentNote
from msa.dispatch.services.common import incident_lock, incident_state_changed, reason_clean
from msa.dispatch.services.units import unit_release
from msa.dispatch.states import DISPATCH_MACHINE, OPEN_DISPATCH_STATES, DispatchTransitionName
from msa.realtime import events
from msa.realtime.services import incident_event_append

MAX_NOTE = 4000
MAX_EXTEND = timedelta(hours=4)


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
        changes["owner_id"] = actor.user_id
        locked = incident_lock(incident)
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
    incident_state_changed(updated, IncidentTransitionName.ACKNOWLEDGE, actor)
    return updated


@transaction.atomic(durable=True)
def incident_note_add(*, incident: Incident, actor: Actor, text: str) -> IncidentNote:
    text = text.strip()
    if not text:
        raise ValidationError(gettext_noop("a note needs text"), fields={"text": "required"})
    if len(text) > MAX_NOTE:
        raise ValidationError(gettext_noop("the note is too long"), fields={"text": "too long"})
    locked = incident_lock(incident)
    note = IncidentNote.objects.create(
        incident=locked,
        text=text,
        author_label=actor.label,
        author_id=actor.user_id,
        at=clock.now(),
    )
    audit_record(actor=actor, action="incident.note", subject=locked, new={"note": note.pk})
    incident_event_append(
        incident=locked,
        event=events.IncidentNoted(incident=locked.reference, note_id=note.pk, actor=actor.label),
    )
    return note


@transaction.atomic(durable=True)
def incident_outcome_record(
    *,
    incident: Incident,
    actor: Actor,
    outcome: Outcome,
    violence_before_arrival: bool | None = None,
    victim_injured: bool | None = None,
) -> Incident:
    locked = incident_lock(incident)
    if locked.status not in OPEN_STATES:
        raise TransitionNotAllowedError(
            gettext_noop("incident: the outcome of a closed incident is fixed")
        )
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
    incident_event_append(
        incident=locked,
        event=events.OutcomeRecorded(
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
    locked = incident_lock(incident)
    if not locked.outcome and locked.status in OPEN_STATES:
        raise ValidationError(
            gettext_noop("record the outcome first"), fields={"outcome": "required"}
        )
    updated = transition_apply(
        INCIDENT_MACHINE,
        locked,
        IncidentTransitionName.CLOSE,
        actor=actor,
        reason=reason_clean(reason, required=False),
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
        unit_release(unit_id=dispatch.unit_id, actor=actor, reason="incident closed")
    incident_state_changed(updated, IncidentTransitionName.CLOSE, actor)
    return updated


@transaction.atomic(durable=True)
def incident_reopen(*, incident: Incident, actor: Actor, reason: str) -> Incident:
    updated = transition_apply(
        INCIDENT_MACHINE,
        incident,
        IncidentTransitionName.REOPEN,
        actor=actor,
        reason=reason_clean(reason, required=True),
        changes={"closed_at": None},
    )
    incident_state_changed(updated, IncidentTransitionName.REOPEN, actor)
    return updated


@transaction.atomic(durable=True)
def tracking_stop(*, incident: Incident, actor: Actor, reason: str) -> Incident:
    """End the tracking window now (positions after it are not stored)."""
    reason = reason_clean(reason, required=True)
    locked = incident_lock(incident)
    now = clock.now()
    old = locked.track_until
    if old is not None and old <= now:
        raise ConflictError(gettext_noop("tracking has already ended"))
    locked.track_until = now
    locked.save(update_fields=["track_until"])
    return _tracking_changed(locked, actor, old, "stop", reason)


@transaction.atomic(durable=True)
def tracking_extend(*, incident: Incident, actor: Actor, reason: str, by: timedelta) -> Incident:
    """Keep tracking ``by`` longer than now or the current end, whichever is later."""
    reason = reason_clean(reason, required=True)
    if by <= timedelta(0) or by > MAX_EXTEND:
        raise ValidationError(
            gettext_noop("extend by 1 minute to 4 hours"), fields={"minutes": "range"}
        )
    locked = incident_lock(incident)
    if locked.status not in OPEN_STATES:
        raise TransitionNotAllowedError(
            gettext_noop("incident: reopen it before extending tracking")
        )
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
    incident_event_append(
        incident=incident,
        event=events.TrackingChanged(
            incident=incident.reference,
            track_until=new.isoformat() if new else None,
            change=change,
        ),
    )
    return incident
