"""The case officer's places page: the victim's home, work and usual places and the
suspect's known addresses, each placed by a pin on the map or found in the gazetteer."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from msa.cases import selectors as sel
from msa.cases.models import PlaceKind
from msa.cases.permissions import CASES
from msa.cases.places import places_on_map
from msa.cases.services.dossier import case_dossier_read
from msa.cases.services.places import ADDRESS_MAX, place_record
from msa.cases.views.base import actor_of, officer_case, user_of
from msa.core.errors import ValidationError
from msa.core.permissions import requires


class PlaceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("place"), choices=PlaceKind.choices)
    label = forms.CharField(label=gettext_lazy("label (optional)"), max_length=120, required=False)
    address = forms.CharField(label=gettext_lazy("address"), max_length=ADDRESS_MAX)
    lat = forms.FloatField(
        label=gettext_lazy("latitude"), required=False, min_value=-90, max_value=90
    )
    lon = forms.FloatField(
        label=gettext_lazy("longitude"), required=False, min_value=-180, max_value=180
    )


@require_http_methods(["GET", "POST"])
@requires(CASES)
def case_places(request: HttpRequest, reference: str) -> HttpResponse:
    case = officer_case(request, reference)
    form = PlaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            place_record(
                case=case,
                kind=d["kind"],
                label=d["label"],
                address=d["address"],
                lat=d["lat"] if d["lon"] is not None else None,
                lon=d["lon"] if d["lat"] is not None else None,
                actor=actor_of(request),
            )
        except ValidationError as exc:
            form.add_error("address", _(exc.message))
        else:
            messages.success(request, _("Place recorded."))
            return redirect("cases:places", reference=case.reference)
    case_dossier_read(case=case, actor=actor_of(request), reason="places", scope="full")
    places = places_on_map(user_of(request), case, open_incident=False)
    return render(
        request,
        "cases/places.html",
        {
            "case": case,
            "form": form,
            "places": places,
            "map_data": {
                "tile_url": settings.MSA_MAP_TILE_URL,
                "zones": sel.exclusion_zones_for_case(case),
                "places": places,
            },
        },
        status=200 if request.method == "GET" or not form.errors else 422,
    )
