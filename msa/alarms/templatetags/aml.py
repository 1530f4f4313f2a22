"""The AML positions of an incident for the console's include (console/_aml.html): read
inside the incident page's own audited dossier read, kept apart from the device's fixes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import template

from msa.alarms.models import Incident
from msa.alarms.selectors import incident_aml_positions
from msa.alarms.states import Channel
from msa.core import clock

register = template.Library()

METHOD_LABELS = {"gnss": "GNSS", "wifi": "Wi-Fi", "cell": "cell", "fused": "fused"}


@dataclass(frozen=True, slots=True)
class AmlShown:
    lat: float
    lon: float
    radius_m: float | None
    method: str
    shape: str
    positioned_at: datetime | None
    received_at: datetime
    age_s: int


@register.simple_tag
def aml_positions(incident: Incident) -> list[AmlShown]:
    now = clock.now()
    shown = []
    for p in incident_aml_positions(incident):
        at = p.fix_at or p.received_at
        shown.append(
            AmlShown(
                lat=p.lat,
                lon=p.lon,
                radius_m=p.radius_m,
                method=METHOD_LABELS.get(p.method, p.method),
                shape=p.shape,
                positioned_at=p.fix_at,
                received_at=p.received_at,
                age_s=max(0, int((now - at).total_seconds())),
            )
        )
    return shown


@register.filter
def is_unsigned(incident: Incident) -> bool:
    """Raised or joined through the unsigned OsmAnd protocol (docs/interop.md section 2)."""
    return str(Channel.OSMAND) in incident.channels


@register.filter
def is_aml(incident: Incident) -> bool:
    return str(Channel.AML) in incident.channels
