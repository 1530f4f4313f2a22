"""Small helpers for the console templates."""

from __future__ import annotations

from datetime import datetime

from django import template

from msa.alarms.models import Incident
from msa.dispatch.words import say

register = template.Library()


@register.filter
def delivery_delay_s(incident: Incident) -> int:
    """Seconds between the press (device clock) and its arrival: an SMS can take minutes."""
    return max(0, round((incident.received_at - incident.pressed_at).total_seconds()))


@register.filter
def mmss(seconds: int | float | None) -> str:
    if seconds is None:
        return "—"
    total = max(0, round(seconds))
    return f"{total // 60:02d}:{total % 60:02d}"


@register.filter
def initials(person: object) -> str:
    first = str(getattr(person, "first_name", "") or "")[:1]
    last = str(getattr(person, "last_name", "") or "")[:1]
    return (first + last).upper() or "?"


@register.filter
def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@register.filter(name="say")
def say_filter(value: object) -> str:
    """The console's word for a machine value (``en_route`` -> "en route")."""
    return say(value)
