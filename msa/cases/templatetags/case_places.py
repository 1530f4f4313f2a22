"""The places of a case for a map (home, work, usual places, the suspect's addresses), read
through ``msa.cases.places.places_on_map``: only while the reader may read the dossier."""

from __future__ import annotations

from typing import Any

from django import template

from msa.accounts.models import User
from msa.alarms.selectors import case_has_open_incident
from msa.cases.models import ProtectionCase
from msa.cases.places import places_on_map
from msa.core.errors import NotFoundError

register = template.Library()


@register.simple_tag(takes_context=True)
def case_places(context: template.Context, case: ProtectionCase) -> list[dict[str, Any]]:
    """``{% case_places case as places %}``: the places the signed-in reader may see now
    (the dossier's rule: the case's owners, or a centre while an incident is open)."""
    user = context["request"].user
    if not isinstance(user, User):
        return []
    try:
        return places_on_map(user, case, open_incident=case_has_open_incident(case))
    except NotFoundError:
        # the case is outside the reader's case scope (a backup centre working an incident of
        # another centre's area): no places, as for any reader who may not read it in full
        return []
