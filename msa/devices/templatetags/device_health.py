"""The device's health where staff look at a case or an incident: a small read-only block."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from msa.devices.models import Device
from msa.devices.selectors import case_health_flags, device_health_at

register = template.Library()


@register.inclusion_tag("devices/_health.html")
def device_health_at_press(device: Device | None, at: datetime) -> dict[str, Any]:
    """The problems the device had when the alarm was pressed (the episodes open then)."""
    return {
        "known": device is not None,
        "problems": device_health_at(device, at) if device is not None else [],
        "when": "press",
    }


@register.inclusion_tag("devices/_health.html")
def case_device_health(case_id: int) -> dict[str, Any]:
    """The open device-health flags of a case."""
    return {"known": True, "problems": case_health_flags(case_id), "when": "now"}
