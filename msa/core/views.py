"""The landing page: after sign-in, each member of staff goes where their work is."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from msa.accounts.models import Membership, Role
from msa.accounts.permissions import STAFF
from msa.core.permissions import requires

# In order of precedence: a supervisor who is also a reference officer lands on the console.
LANDING_BY_ROLE: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({Role.OPERATOR, Role.SUPERVISOR}), "console:home"),
    (frozenset({Role.PATROL}), "unit:home"),
    (frozenset({Role.REFERENCE_OFFICER, Role.MAGISTRATE, Role.COUNSELLOR}), "cases:list"),
    (frozenset({Role.ADMIN}), "audit:list"),
)


@require_GET
@requires(STAFF)
def landing(request: HttpRequest) -> HttpResponse:
    user_id = request.user.pk
    assert user_id is not None  # requires() let only a signed-in member of staff through
    roles = set(Membership.objects.filter(user_id=user_id).values_list("role", flat=True))
    for wanted, url_name in LANDING_BY_ROLE:
        if roles & wanted:
            return redirect(url_name)
    return render(request, "landing.html", {"roles": sorted(roles)})
