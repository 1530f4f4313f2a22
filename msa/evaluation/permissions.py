"""Who may open the evaluation pages (the rows they see come from the selectors).

- the technical working group's pages (reviews): the supervisors and analysts of a dispatch
  centre, for its incidents; only supervisors record findings and actions; nobody sees a name
  there (the victim is a pseudonym);
- the survey: the reference officer (or supervisor) of the case's police zone;
- the evidence bundle: the case's owners, its zone's officers and the magistrates of its
  prosecutor's office.
"""

from __future__ import annotations

from typing import Any

from msa.accounts.models import Membership, OrgKind, Role
from msa.cases.selectors import ZONE_ROLES
from msa.core.permissions import Permission
from msa.evaluation.selectors import group_centres


def _zone_officer(user: Any) -> bool:
    return Membership.objects.filter(
        user=user, organisation__kind=OrgKind.POLICE_ZONE, role__in=ZONE_ROLES
    ).exists()


def _case_owner(user: Any) -> bool:
    return (
        _zone_officer(user)
        or Membership.objects.filter(
            user=user, organisation__kind=OrgKind.PROSECUTOR_OFFICE, role=Role.MAGISTRATE
        ).exists()
    )


REVIEWS = Permission("evaluation.reviews", lambda user: bool(group_centres(user)))
REVIEW_EDIT = Permission(
    "evaluation.review_edit", lambda user: bool(group_centres(user, {Role.SUPERVISOR}))
)
SURVEYS = Permission("evaluation.surveys", _zone_officer)
EVIDENCE = Permission("evaluation.evidence", _case_owner)
