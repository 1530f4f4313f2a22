"""The two lifecycles of the devices part, as data: an enrolled device's credentials, and a
physical item of the inventory (button, phone, SIM).

Each status changes only through ``msa.core.transitions.transition_apply`` with one of these
machines (a history row and an audit row each time); a new row gets its first history row with
``history_start`` (``ENROLL``, ``ADD``).
"""

from __future__ import annotations

from enum import StrEnum

from msa.audit.services import audit_record
from msa.core.transitions import StateMachine, sources


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class DeviceTransitionName(StrEnum):
    ENROLL = "enroll"  # the first history row only
    REVOKE = "revoke"


DEVICE_MACHINE: StateMachine[DeviceStatus, DeviceTransitionName] = StateMachine(
    name="device",
    states=DeviceStatus,
    table={
        DeviceTransitionName.REVOKE: (sources(DeviceStatus.ACTIVE), DeviceStatus.REVOKED),
    },
    history_label="devices.DeviceTransition",
    audit=audit_record,
    milestones={DeviceTransitionName.REVOKE: "revoked_at"},
)


class ItemStatus(StrEnum):
    IN_STOCK = "in_stock"
    LOANED = "loaned"
    LOST = "lost"
    IN_REPAIR = "in_repair"
    RETIRED = "retired"


class ItemTransitionName(StrEnum):
    ADD = "add"  # the first history row only
    LEND = "lend"  # loan_create
    RETURN = "return"  # loan_return, in good order
    REPAIR = "repair"
    LOSE = "lose"
    RETIRE = "retire"
    RESTOCK = "restock"  # repaired, found again, or a retirement undone


_I = ItemStatus
_IT = ItemTransitionName

# Between the states of an item that is not lent, every move is allowed (except to the same state);
# a lent item comes back in one of them.
ITEM_TABLE: dict[ItemTransitionName, tuple[frozenset[ItemStatus], ItemStatus]] = {
    _IT.LEND: (sources(_I.IN_STOCK), _I.LOANED),
    _IT.RETURN: (sources(_I.LOANED), _I.IN_STOCK),
    _IT.REPAIR: (sources(_I.LOANED, _I.IN_STOCK, _I.LOST, _I.RETIRED), _I.IN_REPAIR),
    _IT.LOSE: (sources(_I.LOANED, _I.IN_STOCK, _I.IN_REPAIR, _I.RETIRED), _I.LOST),
    _IT.RETIRE: (sources(_I.LOANED, _I.IN_STOCK, _I.IN_REPAIR, _I.LOST), _I.RETIRED),
    _IT.RESTOCK: (sources(_I.IN_REPAIR, _I.LOST, _I.RETIRED), _I.IN_STOCK),
}

# What an officer may do to an item outside a loan (lending and returning go through the loan).
STOCK_TRANSITIONS = frozenset({_IT.REPAIR, _IT.LOSE, _IT.RETIRE, _IT.RESTOCK})

ITEM_MACHINE: StateMachine[ItemStatus, ItemTransitionName] = StateMachine(
    name="inventory",
    states=ItemStatus,
    table=ITEM_TABLE,
    history_label="devices.ItemTransition",
    audit=audit_record,
)
