"""Deterministic factories for devices, on top of the demo region (no random data)."""

from __future__ import annotations

from msa.demo_data import demo_device_id
from msa.devices.models import Device, InventoryItem


def device_in(status: str, *, victim: int = 1) -> Device:
    """A demo victim's enrolled device, put straight into ``status``."""
    Device.objects.filter(device_id=demo_device_id(victim)).update(status=status)
    return Device.objects.get(device_id=demo_device_id(victim))


def item_in(status: str) -> InventoryItem:
    """The first inventory item of the demo region, put straight into ``status``."""
    item = InventoryItem.objects.order_by("pk").first()
    assert item is not None, "the demo region lends inventory items"
    InventoryItem.objects.filter(pk=item.pk).update(status=status)
    item.refresh_from_db()
    return item
