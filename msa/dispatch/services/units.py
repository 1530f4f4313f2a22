"""Police units: where they are, whether they are available, and their AVL feed's token.

A unit's status changes only through ``UNIT_MACHINE``: the crew signs on and off, and busy
comes and goes with its dispatches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.accounts.models import TokenKind
from msa.accounts.tokens import token_create
from msa.audit.services import audit_record
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, ValidationError
from msa.core.transitions import transition_apply
from msa.dispatch.models import Dispatch, Unit, UnitPosition
from msa.dispatch.states import (
    OPEN_DISPATCH_STATES,
    UNIT_CREW_LABELS,
    UNIT_MACHINE,
    UnitTransitionName,
)


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
        raise ValidationError(
            gettext_noop("not a position"), fields={"lat": str(lat), "lon": str(lon)}
        )
    now = clock.now()
    if fix_at > now + timedelta(minutes=5):
        raise ValidationError(
            gettext_noop("the position is in the future"), fields={"fix_at": "future"}
        )
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


def unit_engage(*, unit: Unit, actor: Actor, at: datetime, reason: str = "") -> Unit:
    """The unit is dispatched: available becomes busy (in the dispatch's transaction)."""
    return transition_apply(
        UNIT_MACHINE, unit, UnitTransitionName.ENGAGE, actor=actor, at=at, reason=reason
    )


def unit_release(*, unit_id: int, actor: Actor, reason: str = "") -> Unit:
    """Its dispatch is cleared: a busy unit is available again (in the caller's transaction)."""
    unit = Unit.objects.select_for_update().get(pk=unit_id)
    if UnitTransitionName.RELEASE not in UNIT_MACHINE.allowed(unit.status):
        return unit
    return transition_apply(
        UNIT_MACHINE, unit, UnitTransitionName.RELEASE, actor=actor, reason=reason
    )


@transaction.atomic(durable=True)
def unit_status_change(*, unit: Unit, transition: UnitTransitionName, actor: Actor) -> Unit:
    """The crew signs on (available) or off (off duty). Busy comes and goes with dispatches."""
    if transition not in UNIT_CREW_LABELS:
        raise ValidationError(
            gettext_noop("busy follows the dispatches"), fields={"transition": str(transition)}
        )
    locked = Unit.objects.select_for_update().get(pk=unit.pk)
    if Dispatch.objects.filter(
        unit=locked, status__in=[str(s) for s in OPEN_DISPATCH_STATES]
    ).exists():
        raise ConflictError(gettext_noop("clear the current dispatch first"))
    return transition_apply(UNIT_MACHINE, locked, transition, actor=actor)


@transaction.atomic(durable=True)
def unit_avl_token_issue(*, unit: Unit, actor: Actor) -> str:
    """Issue the bearer token of a unit's AVL feed (shown once); an older one is revoked."""
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
