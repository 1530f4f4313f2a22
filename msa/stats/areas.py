"""Who may read the statistics, of which police zones, and the areas they are asked for.

An area is a set of police zones, named by a code:

- a police zone's code (``GNT``): that zone;
- a prosecutor's office's code (``PKGNT``): the zones of its judicial district;
- a dispatch centre's code (``OVL``): the zones it covers. MSA has no province of its own: in
  Belgium a provincial CIC covers the province's zones, so a centre's area *is* the province
  (docs/indicators.md);
- a two-letter country code (``BE``), when no organisation has that code: the country's zones.

Readers: analysts, supervisors and administrators (the steering committee signs in as an
analyst or an administrator). Each reads the zones of the organisations they belong to with
one of those roles (a centre: the zones it covers; a prosecutor's office: its district; a
zone: itself); an administrator reads every zone of the deployment. Everybody else reads none.
Statistics carry no names: analysts see pseudonyms only, and so does every other reader here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msa.accounts.models import Membership, Organisation, OrgKind, Role
from msa.core.errors import NotFoundError
from msa.core.permissions import Permission

READER_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMIN})
# The pseudonymised research export: analysts (the evaluators' contact) and administrators.
RESEARCH_ROLES = frozenset({Role.ANALYST, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Area:
    kind: str  # country | cic | prosecutor_office | police_zone
    code: str
    name: str
    zone_ids: frozenset[int]


def _zones_of(org: Organisation) -> set[int]:
    zones = Organisation.objects.filter(kind=OrgKind.POLICE_ZONE)
    if org.kind == OrgKind.POLICE_ZONE:
        return {org.pk}
    if org.kind == OrgKind.CIC:
        return set(zones.filter(covered_by=org).values_list("pk", flat=True))
    if org.kind == OrgKind.PROSECUTOR_OFFICE:
        return set(zones.filter(prosecutor_office=org).values_list("pk", flat=True))
    return set()


def readable_zone_ids(user: Any, roles: frozenset[str] = READER_ROLES) -> frozenset[int]:
    """The police zones whose statistics ``user`` may read (empty: none)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    zones: set[int] = set()
    for m in Membership.objects.filter(user=user, role__in=roles).select_related("organisation"):
        if m.role == Role.ADMIN:
            return frozenset(
                Organisation.objects.filter(kind=OrgKind.POLICE_ZONE).values_list("pk", flat=True)
            )
        zones |= _zones_of(m.organisation)
    return frozenset(zones)


def all_zone_ids() -> frozenset[int]:
    """Every police zone (the command line, run by the operator of the deployment)."""
    return frozenset(
        Organisation.objects.filter(kind=OrgKind.POLICE_ZONE).values_list("pk", flat=True)
    )


def _may_read_stats(user: Any) -> bool:
    return bool(readable_zone_ids(user))


def _may_export_research(user: Any) -> bool:
    return bool(readable_zone_ids(user, RESEARCH_ROLES))


STATS_VIEW = Permission("stats.view", _may_read_stats)
STATS_RESEARCH_EXPORT = Permission("stats.research_export", _may_export_research)


def area_resolve(code: str, *, within: frozenset[int]) -> Area:
    """The area named ``code``, cut to the zones in ``within``; an empty code is every zone in
    ``within`` ("all"). An unknown code, or one with no zone in ``within``, is NotFoundError
    (not yours and missing answer alike)."""
    code = code.strip()
    if not code:
        return Area("all", "", "", within)
    org = Organisation.objects.filter(code__iexact=code).first()
    if org is not None:
        zones = _zones_of(org) & within
        kind, name = str(org.kind), org.name
        code = org.code
    elif len(code) == 2 and code.isalpha():
        code = code.upper()
        zones = (
            set(
                Organisation.objects.filter(kind=OrgKind.POLICE_ZONE, country=code).values_list(
                    "pk", flat=True
                )
            )
            & within
        )
        kind, name = "country", code
    else:
        raise NotFoundError("area")
    if not zones:
        raise NotFoundError("area")
    return Area(kind, code, name, frozenset(zones))


def areas_readable(within: frozenset[int]) -> list[Area]:
    """The areas a reader of ``within`` may pick: countries, centres, districts and zones that
    hold at least one of their zones (each cut to those zones)."""
    zones_rows = list(Organisation.objects.filter(pk__in=within))
    parents = Organisation.objects.in_bulk(
        {z.covered_by_id for z in zones_rows if z.covered_by_id}
        | {z.prosecutor_office_id for z in zones_rows if z.prosecutor_office_id}
    )
    areas: list[Area] = []
    for country in sorted({z.country for z in zones_rows}):
        members = frozenset(z.pk for z in zones_rows if z.country == country)
        areas.append(Area("country", country, country, members))
    for kind, attr in (
        (OrgKind.CIC, "covered_by_id"),
        (OrgKind.PROSECUTOR_OFFICE, "prosecutor_office_id"),
    ):
        parent_ids: set[int] = {getattr(z, attr) for z in zones_rows if getattr(z, attr)}
        for pk in sorted(parent_ids):
            org = parents[pk]
            members = frozenset(z.pk for z in zones_rows if getattr(z, attr) == pk)
            areas.append(Area(str(kind), org.code, org.name, members))
    areas.extend(
        Area(str(OrgKind.POLICE_ZONE), z.code, z.name, frozenset({z.pk}))
        for z in sorted(zones_rows, key=lambda z: z.code)
    )
    return areas
