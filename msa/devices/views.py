"""The device pages: the inventory (the buttons, phones and SIMs of the judicial districts
whose zones the officer works for, and adding an item) and the device report of the zones."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from msa.accounts.models import Organisation, OrgKind, User
from msa.cases.forms import ItemForm
from msa.cases.permissions import INVENTORY
from msa.cases.selectors import zones_run_by
from msa.cases.views.base import fail
from msa.core.actors import Actor
from msa.core.errors import MsaError
from msa.core.permissions import requires
from msa.devices import inventory
from msa.devices.models import InventoryItem
from msa.devices.permissions import DEVICE_HEALTH
from msa.devices.selectors import device_report_rows


def _districts_for(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(
        kind=OrgKind.PROSECUTOR_OFFICE, district_zones__in=zones_run_by(user)
    ).distinct()


@require_http_methods(["GET", "POST"])
@requires(INVENTORY)
def inventory_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    districts = _districts_for(user)
    form = ItemForm(request.POST or None, districts=districts)
    if request.method == "POST" and form.is_valid():
        try:
            inventory.item_add(actor=Actor.for_user(user), **form.cleaned_data)
        except MsaError as exc:
            fail(request, exc)
        else:
            messages.success(request, _("Item added."))
            return redirect("devices:inventory")
    items = (
        InventoryItem.objects.filter(district__in=districts)
        .select_related("district")
        .order_by("kind", "serial")
    )
    counts: dict[tuple[str, str], int] = {}
    for item in items:
        counts[(item.kind, item.status)] = counts.get((item.kind, item.status), 0) + 1
    return render(
        request,
        "devices/inventory.html",
        {"items": items, "form": form, "counts": sorted(counts.items())},
    )


@require_http_methods(["GET"])
@requires(DEVICE_HEALTH)
def device_report(request: HttpRequest) -> HttpResponse:
    """The daily device report of the officer's zones, as it stands now."""
    user = request.user
    assert isinstance(user, User)
    zones = list(zones_run_by(user).order_by("name"))
    rows = device_report_rows(zones)
    return render(
        request,
        "devices/report.html",
        {
            "zones": zones,
            "rows": rows,
            "troubled": sum(1 for r in rows if r.problems),
        },
    )
