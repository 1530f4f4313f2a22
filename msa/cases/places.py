"""Reading the places of a case for a map (writes: ``msa.cases.services.places``).

A place's coordinates and label are personal data: they are given only to a reader who may
read the full dossier now (``case_access``: the case's owners; a dispatch centre while an
incident of the case is open, or with a stated reason). Anybody else gets no place; a case
outside the reader's scope is ``NotFoundError``."""

from __future__ import annotations

from typing import Any

from msa.accounts.models import User
from msa.cases.models import PlaceKind, ProtectionCase
from msa.cases.selectors import ACCESS_FULL, case_access


def places_on_map(
    user: User, case: ProtectionCase, *, open_incident: bool, stated_reason: bool = False
) -> list[dict[str, Any]]:
    """``[{"kind", "label", "lat", "lon"}]`` for the case's map, or ``[]`` when ``user`` may
    not read the dossier in full now. ``open_incident`` and ``stated_reason`` as for
    ``case_access`` (the caller reads them)."""
    access = case_access(user, case, open_incident=open_incident, stated_reason=stated_reason)
    if access.level != ACCESS_FULL:
        return []
    kinds = dict(PlaceKind.choices)
    return [
        {
            "kind": p.kind,
            "label": p.label or str(kinds.get(p.kind, p.kind)),
            "lat": p.lat,
            "lon": p.lon,
        }
        for p in case.places.all()
    ]
