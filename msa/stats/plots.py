"""The dashboard's plots, drawn on the server with matplotlib (Agg) as SVG markup that the
page embeds as it is and the PDF report reuses.

The CSP forbids inline styles, and matplotlib writes its SVG with ``style="..."`` attributes
and a ``<style>`` element. Both are rewritten here as SVG presentation attributes
(``fill="#1f77b4"``), which a strict CSP does not touch; the markup carries no script.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence

import matplotlib as mpl
from django.utils.translation import gettext as _
from matplotlib.figure import Figure

from msa.stats.indicators import Indicators

mpl.use("Agg")  # never a GUI backend on a server

_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>.*?</style>", re.DOTALL)
_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>", re.DOTALL)
_COLOURS = ("#1f4e79", "#c0504d", "#7f9f3f", "#8064a2")
# rcParams are process-wide: one figure at a time (a Figure without pyplot: no GUI backend,
# no global registry; its canvas is Agg's SVG writer)
_LOCK = threading.Lock()


def _attributes(match: re.Match[str]) -> str:
    parts = []
    for declaration in match.group(1).split(";"):
        name, sep, value = declaration.partition(":")
        if sep:
            parts.append(f' {name.strip()}="{value.strip().replace(chr(34), chr(39))}"')
    return "".join(parts)


def csp_safe_svg(svg: str) -> str:
    """matplotlib's SVG without a prologue, metadata, ``<style>`` element or ``style``
    attribute (the declarations become presentation attributes)."""
    svg = _PROLOGUE.sub("", svg, count=1)
    svg = _METADATA.sub("", svg)
    svg = _STYLE_ELEMENT.sub("", svg)
    svg = _STYLE_ATTR.sub(_attributes, svg)
    # what the removed <style> said for every element, inherited from the root
    return svg.replace("<svg ", '<svg stroke-linejoin="round" stroke-linecap="butt" ', 1)


def _render(fig: Figure, salt: str) -> str:
    out = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": salt}):
        fig.savefig(out, format="svg", metadata={"Date": None})
    return csp_safe_svg(out.getvalue())


def _bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    title: str,
    salt: str,
) -> str:
    with _LOCK, mpl.rc_context({"svg.fonttype": "none", "font.size": 9}):
        # fixed margins instead of a tight bounding box, which draws the figure twice
        fig = Figure(figsize=(7.5, 3.2))
        fig.subplots_adjust(left=0.08, right=0.99, top=0.8, bottom=0.22)
        ax = fig.subplots()
        width = 0.8 / max(1, len(series))
        positions = range(len(labels))
        for n, (name, values) in enumerate(series):
            ax.bar(
                [p + n * width for p in positions],
                values,
                width=width,
                label=name,
                color=_COLOURS[n % len(_COLOURS)],
            )
        ax.set_xticks([p + width * (len(series) - 1) / 2 for p in positions])
        ax.set_xticklabels(labels, rotation=45 if len(labels) > 8 else 0, ha="right")
        ax.set_title(title, pad=26)
        ax.spines[["top", "right"]].set_visible(False)
        if not labels:
            ax.set_axis_off()
            ax.text(0.5, 0.5, _("no alarm in this period"), ha="center", transform=ax.transAxes)
        else:
            ax.legend(
                frameon=False, ncols=len(series), loc="lower center", bbox_to_anchor=(0.5, 1.0)
            )
        return _render(fig, salt)


def plot_by_month(ind: Indicators) -> str:
    """Live alarms, genuine alarms and interventions per month."""
    rows = ind.by_month
    return _bars(
        [r.month for r in rows],
        [
            (_("live alarms"), [r.alarms_live for r in rows]),
            (_("genuine"), [r.alarms_genuine for r in rows]),
            (_("interventions"), [r.interventions for r in rows]),
            (_("arrests"), [r.arrests for r in rows]),
        ],
        title=_("Alarms per month"),
        salt="month",
    )


def plot_by_zone(ind: Indicators) -> str:
    """Live alarms, interventions and 10-minute breaches per police zone."""
    rows = ind.by_zone
    return _bars(
        [r.zone for r in rows],
        [
            (_("live alarms"), [r.alarms_live for r in rows]),
            (_("interventions"), [r.interventions for r in rows]),
            (_("10-minute breaches"), [r.on_scene_breaches for r in rows]),
        ],
        title=_("Alarms per police zone"),
        salt="zone",
    )
