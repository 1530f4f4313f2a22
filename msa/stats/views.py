"""The statistics dashboard, its CSV and PDF exports, and the research export.

Thin: parse the filter, ask ``msa.stats`` for the figures, render, audit. Readers are
analysts, supervisors and administrators, each over the police zones they may read
(msa.stats.areas). Nothing here shows a name: references, zone codes and pseudonyms only.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from msa.accounts.models import User
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import NotFoundError
from msa.core.pdf import render_pdf
from msa.core.permissions import requires
from msa.stats.areas import (
    RESEARCH_ROLES,
    STATS_RESEARCH_EXPORT,
    STATS_VIEW,
    Area,
    area_resolve,
    areas_readable,
    readable_zone_ids,
)
from msa.stats.indicators import Indicators, Period, indicators_compute
from msa.stats.plots import plot_by_month, plot_by_zone
from msa.stats.research import research_export
from msa.stats.services import stats_read_record

MAX_DAYS = 3660
BREACHES_SHOWN = 100  # on the page and in the PDF; the CSV and the JSON list every one


class StatsFilterForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    area = forms.ChoiceField(label=_("Area"), required=False)

    def __init__(self, *args: Any, areas: list[Area], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice_field = self.fields["area"]
        assert isinstance(choice_field, forms.ChoiceField)
        choice_field.choices = [("", _("all my zones"))] + [
            (a.code, f"{a.code} · {a.name}" if a.name != a.code else a.code) for a in areas
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("The last day is before the first."))
        if start and end and (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("At most ten years at a time."))
        return data


class ResearchForm(StatsFilterForm):
    reason = forms.CharField(
        label=_("Purpose (kept in the audit trail)"), max_length=500, widget=forms.Textarea
    )


@dataclass(frozen=True)
class _Query:
    form: StatsFilterForm
    period: Period
    area: Area
    query: str


def _today() -> date:
    return clock.now().astimezone(ZoneInfo(settings.MSA_TIME_ZONE)).date()


def _default_period() -> Period:
    today = _today()
    first = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    return Period(first, today)


def _query(request: HttpRequest, data: Any, form_class: type[StatsFilterForm]) -> _Query:
    """The filter of a request, cut to the reader's zones; a bad filter is 400 through the
    form's errors, an area that is not the reader's is 404."""
    within = readable_zone_ids(request.user)
    default = _default_period()
    form = form_class(
        data or None,
        areas=areas_readable(within),
        initial={"start": default.start, "end": default.end},
    )
    start, end, code = default.start, default.end, ""
    if form.is_bound and form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        code = form.cleaned_data.get("area") or ""
        start = min(start, end)
    try:
        area = area_resolve(code, within=within)
    except NotFoundError:
        raise Http404 from None
    query = f"start={start.isoformat()}&end={end.isoformat()}&area={area.code}"
    return _Query(form, Period(start, end), area, query)


def _figures(q: _Query) -> Indicators:
    return indicators_compute(period=q.period, area=q.area, now=clock.now())


def _shown(ind: Indicators) -> dict[str, Any]:
    """What the dashboard and the report show of the figures."""
    return {
        "ind": ind,
        "times": [
            (_("Alarm to acknowledgement"), ind.time_to_acknowledge),
            (_("Alarm to first unit on scene"), ind.time_to_on_scene),
        ],
        "plot_month": plot_by_month(ind),
        "plot_zone": plot_by_zone(ind),
        "breach_shown": BREACHES_SHOWN,
        "breach_limit": f":{BREACHES_SHOWN}",
    }


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _bad(request: HttpRequest, q: _Query) -> HttpResponse | None:
    if q.form.is_bound and not q.form.is_valid():
        return render(request, "stats/dashboard.html", {"form": q.form}, status=400)
    return None


@require_GET
@requires(STATS_VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    q = _query(request, request.GET, StatsFilterForm)
    if (bad := _bad(request, q)) is not None:
        return bad
    ind = _figures(q)
    stats_read_record(
        actor=Actor.for_user(_user(request)), what="view", period=q.period, area=q.area
    )
    return render(
        request,
        "stats/dashboard.html",
        {
            **_shown(ind),
            "form": q.form,
            "area": q.area,
            "query": q.query,
            "may_research": bool(readable_zone_ids(request.user, RESEARCH_ROLES)),
        },
    )


def _csv_rows(ind: Indicators) -> list[list[Any]]:
    rows: list[list[Any]] = [["indicator", "key", "value"]]

    def flat(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                flat(f"{prefix}.{k}" if prefix else k, v)
        elif isinstance(value, list):
            return
        else:
            head, _sep, key = prefix.partition(".")
            rows.append([head, key, "" if value is None else value])

    data = ind.as_json()
    for key, value in data.items():
        if key not in ("by_month", "by_zone", "on_scene_breaches", "zones"):
            flat(key, value)
    rows.append(["zones", "", " ".join(ind.zones)])
    for table in ("by_month", "by_zone", "on_scene_breaches"):
        for n, row in enumerate(data[table]):
            for k, v in row.items():
                rows.append([table, f"{n}.{k}", "" if v is None else v])
    return rows


@require_GET
@requires(STATS_VIEW)
def export_csv(request: HttpRequest) -> HttpResponse:
    q = _query(request, request.GET, StatsFilterForm)
    if (bad := _bad(request, q)) is not None:
        return bad
    ind = _figures(q)
    out = io.StringIO()
    csv.writer(out).writerows(_csv_rows(ind))
    stats_read_record(
        actor=Actor.for_user(_user(request)), what="csv", period=q.period, area=q.area
    )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"msa-indicators-{q.period.start}-{q.period.end}-{q.area.code or 'all'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@requires(STATS_VIEW)
def export_pdf(request: HttpRequest) -> HttpResponse:
    """The report in the reader's language (the request's active language: the one they
    chose, else their browser's or their organisation's)."""
    q = _query(request, request.GET, StatsFilterForm)
    if (bad := _bad(request, q)) is not None:
        return bad
    ind = _figures(q)
    html = render_to_string(
        "stats/report.html",
        {
            **_shown(ind),
            "area": q.area,
            "generated_at": clock.now(),
            "LANGUAGE_CODE": get_language(),
        },
        request=request,
    )
    pdf = render_pdf(html)
    stats_read_record(
        actor=Actor.for_user(_user(request)),
        what="pdf",
        period=q.period,
        area=q.area,
        extra={"language": get_language() or ""},
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"msa-report-{q.period.start}-{q.period.end}-{q.area.code or 'all'}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
@requires(STATS_RESEARCH_EXPORT)
def research(request: HttpRequest) -> HttpResponse:
    """The pseudonymised research export: a form (GET), the ZIP (POST with a purpose)."""
    within = readable_zone_ids(request.user, RESEARCH_ROLES)
    if request.method == "GET":
        default = _default_period()
        form = ResearchForm(
            areas=areas_readable(within), initial={"start": default.start, "end": default.end}
        )
        return render(request, "stats/research.html", {"form": form})
    form = ResearchForm(request.POST, areas=areas_readable(within))
    if not form.is_valid():
        return render(request, "stats/research.html", {"form": form}, status=400)
    default = _default_period()
    period = Period(
        form.cleaned_data.get("start") or default.start, form.cleaned_data.get("end") or default.end
    )
    try:
        area = area_resolve(form.cleaned_data.get("area") or "", within=within)
    except NotFoundError:
        raise Http404 from None
    data = research_export(
        actor=Actor.for_user(_user(request)),
        period=period,
        area=area,
        reason=form.cleaned_data["reason"],
    )
    response = HttpResponse(data, content_type="application/zip")
    name = f"msa-research-{period.start}-{period.end}-{area.code or 'all'}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
