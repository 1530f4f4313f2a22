"""Who may open the device pages (the rows come from the selectors, scoped to their zones)."""

from __future__ import annotations

from msa.cases.permissions import INVENTORY
from msa.core.permissions import Permission

# The zone's device report: the reference officers and supervisors of a police zone, like the
# inventory (msa.cases.permissions.INVENTORY).
DEVICE_HEALTH = Permission("devices.health", INVENTORY.check)
