"""A police unit's OsmAnd identifier: Traccar Client on an officer's phone reports the unit's
position instead of the AVL token feed (docs/interop.md section 2)."""

from __future__ import annotations

from django.db import transaction

from msa.audit.services import audit_record
from msa.core.actors import Actor
from msa.devices.services import new_osmand_identifier, osmand_lookup
from msa.dispatch.models import Unit


@transaction.atomic
def unit_osmand_id_issue(*, unit: Unit, actor: Actor) -> str:
    """A fresh identifier (160 random bits) for ``unit``, returned once; the one it had before
    stops working. Only its keyed hash is stored."""
    identifier = new_osmand_identifier()
    unit.osmand_lookup = osmand_lookup(identifier)
    unit.save(update_fields=["osmand_lookup"])
    audit_record(
        actor=actor, action="unit.osmand_id_issue", subject=unit, new={"unit": unit.call_sign}
    )
    return identifier


def unit_by_osmand_id(identifier: str) -> Unit | None:
    if not identifier:
        return None
    return Unit.objects.filter(osmand_lookup=osmand_lookup(identifier)).first()
