"""The supervisor's one write: take an incident over, or hand it to another operator.

The reads of the supervisor's view (workload, timers, backup offers, breaches, the shift's
figures) are in ``msa.dispatch.supervision``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.accounts.models import User
from msa.accounts.selectors import user_is_console_staff
from msa.alarms.models import Incident
from msa.alarms.states import OPEN_STATES
from msa.audit.services import audit_record
from msa.core.actors import Actor
from msa.core.errors import ConflictError, NotFoundError, TransitionNotAllowedError
from msa.dispatch.services.common import incident_lock, reason_clean
from msa.dispatch.supervision import supervised_centres
from msa.realtime import events
from msa.realtime.services import incident_event_append


@transaction.atomic(durable=True)
def incident_reassign(
    *, incident: Incident, actor: Actor, to_user_id: int, reason: str = ""
) -> Incident:
    """Make ``to_user_id`` the operator who works ``incident`` (the supervisor themself for a
    take-over): one audit row with the old and new owner, one timeline event.

    Only a supervisor of the centre that owns the incident may do it, only to console staff
    of that centre, and only while the incident is open.
    """
    locked = incident_lock(incident)
    supervisor = User.objects.filter(pk=actor.user_id).first() if actor.user_id else None
    if (
        supervisor is None
        or not supervised_centres(supervisor).filter(pk=locked.centre_id).exists()
    ):
        raise NotFoundError(gettext_noop("no such incident"))
    target = User.objects.filter(pk=to_user_id, is_active=True).first()
    if target is None or not user_is_console_staff(target, locked.centre_id):
        raise NotFoundError(gettext_noop("no such operator at this centre"))
    if locked.status not in OPEN_STATES:
        raise TransitionNotAllowedError(
            gettext_noop("incident: a closed incident is not reassigned")
        )
    if locked.owner_id == target.pk:
        raise ConflictError(
            gettext_noop("%(operator)s already works this incident"),
            params={"operator": target.get_username()},
        )
    previous = User.objects.filter(pk=locked.owner_id).first() if locked.owner_id else None
    reason = reason_clean(reason, required=False)
    locked.owner = target
    locked.save(update_fields=["owner"])
    audit_record(
        actor=actor,
        action="incident.reassign",
        subject=locked,
        old={"owner": previous.pk if previous else None},
        new={"owner": target.pk},
        reason=reason,
    )
    incident_event_append(
        incident=locked,
        event=events.IncidentReassigned(
            incident=locked.reference,
            owner=target.get_username(),
            previous=previous.get_username() if previous else "",
            actor=actor.label,
        ),
    )
    return locked
