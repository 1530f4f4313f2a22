"""What the dispatch services share: the incident lock, the reason check, the state event."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from msa.alarms.models import Incident
from msa.alarms.states import IncidentTransitionName
from msa.core.actors import Actor
from msa.core.errors import ValidationError
from msa.realtime import events
from msa.realtime.services import incident_event_append

MAX_REASON = 500


def incident_state_changed(
    incident: Incident, transition: IncidentTransitionName, actor: Actor
) -> None:
    """Tell the consoles (the centre's and a backup's) the incident's new state."""
    incident_event_append(
        incident=incident,
        event=events.IncidentStateChanged(
            incident=incident.reference,
            transition=str(transition),
            status=str(incident.status),
            actor=actor.label,
        ),
    )


def reason_clean(reason: str, *, required: bool) -> str:
    reason = reason.strip()
    if required and not reason:
        raise ValidationError(gettext_noop("a reason is required"), fields={"reason": "required"})
    if len(reason) > MAX_REASON:
        raise ValidationError(gettext_noop("the reason is too long"), fields={"reason": "too long"})
    return reason


def incident_lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().select_related("centre").get(pk=incident.pk)
