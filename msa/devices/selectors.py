"""Reads about devices."""

from __future__ import annotations

from msa.devices.models import Device


def device_by_protocol_id(device_id: str) -> Device | None:
    return Device.objects.filter(device_id=device_id).first()
