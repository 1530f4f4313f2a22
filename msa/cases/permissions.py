"""What a user must be to open the case pages (the rows they see come from the selectors)."""

from __future__ import annotations

from typing import Any

from msa.accounts.models import Membership, OrgKind
from msa.cases.selectors import ZONE_ROLES, user_applies, user_sees_cases
from msa.core.permissions import Permission


def _zone_officer(user: Any) -> bool:
    return Membership.objects.filter(
        user=user, organisation__kind=OrgKind.POLICE_ZONE, role__in=ZONE_ROLES
    ).exists()


CASES = Permission("cases.view", user_sees_cases)
CASE_OPEN = Permission("cases.open", _zone_officer)
INVENTORY = Permission("cases.inventory", _zone_officer)


def _applications(user: Any) -> bool:
    return user_applies(user) or _zone_officer(user)


# A member of a support service applies for an alarm (issue 17); she and the zone's officers
# see the applications (the rows come from ``applications_visible_to``).
APPLY = Permission("cases.apply", user_applies)
APPLICATIONS = Permission("cases.applications", _applications)
