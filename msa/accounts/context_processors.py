"""Template context that depends on who is signed in: the menu by role; the JavaScript's
words in the active language."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from msa.accounts.models import Membership

# (roles that see the link, URL name, label); the views check again, this is only the menu.
NAV: tuple[tuple[frozenset[str], str, Any], ...] = (
    (frozenset({"operator", "supervisor"}), "console:home", _("Console")),
    (frozenset({"supervisor"}), "console:supervisor", _("Supervisor")),
    (frozenset({"patrol"}), "unit:home", _("Unit")),
    (
        frozenset({"reference_officer", "magistrate", "counsellor", "operator", "supervisor"}),
        "cases:list",
        _("Cases"),
    ),
    (frozenset({"supervisor", "admin"}), "messaging:undelivered", _("Undelivered messages")),
    (frozenset({"analyst", "supervisor", "admin"}), "stats:dashboard", _("Statistics")),
    (frozenset({"supervisor", "analyst"}), "evaluation:reviews", _("Incident reviews")),
)


def _nav(request: HttpRequest) -> list[tuple[str, Any]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    roles = set(Membership.objects.filter(user_id=user.pk).values_list("role", flat=True))
    return [(url_name, label) for wanted, url_name, label in NAV if roles & wanted]


def nav(request: HttpRequest) -> dict[str, Any]:
    # lazy: pages that do not show the top bar (fragments) cost no query
    return {"msa_nav": SimpleLazyObject(lambda: _nav(request))}


# The words msa/static/msa/*.js shows, by key (msaText in msa/static/msa/i18n.js): rendered as
# JSON in <html data-msa-strings>, in the page's language. A page's own words stay in its
# template's data-* attributes.
JS_STRINGS: dict[str, Any] = {
    "mapNoTiles": _("no map tiles: positions on a coordinate grid"),
    "mapExclusionZone": _("exclusion zone"),
    "mapFollowing": _("following the victim"),
    "mapFollow": _("follow the victim"),
    "mapVictim": _("victim"),
    "zoneClickCentre": _("click the centre of the circle"),
    "zoneClickCorners": _("click the corners, then Finish"),
    "zoneNeedCorners": _("an area needs 3 corners or more"),
    "zoneDefaultLabel": _("area ban"),
    "zoneDrawn": _("area(s) drawn"),
    "zonePlaced": _("circle placed"),
}


def js_strings(request: HttpRequest) -> dict[str, Any]:
    return {
        "msa_js_strings": SimpleLazyObject(
            lambda: json.dumps({k: str(v) for k, v in JS_STRINGS.items()}, ensure_ascii=False)
        )
    }
