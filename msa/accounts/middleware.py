"""Request middleware that needs to know the member of staff: the centre's time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from msa.accounts.models import Membership


def _zone_for(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        zone = (
            Membership.objects.filter(user=user)
            .order_by("organisation__kind", "organisation_id")
            .values_list("organisation__time_zone", flat=True)
            .first()
        )
        if zone:
            return zone
    return str(settings.MSA_TIME_ZONE)


class CentreTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            timezone.activate(zoneinfo.ZoneInfo(_zone_for(request)))
        except zoneinfo.ZoneInfoNotFoundError:
            timezone.activate(zoneinfo.ZoneInfo("UTC"))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
