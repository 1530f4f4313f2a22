"""Every workflow that revokes a device's credentials: one path, and it always flags.

A revoked device gets ``device_revoked`` on every request, and each of its open incidents must
show the centre that its device was revoked (design.md section 3), in the same transaction.
Revoking the credential changes the ``devices`` aggregate (``DEVICE_MACHINE``); flagging the
incidents changes ``alarms``. ``devices`` sits below ``alarms`` and may not call up, so the
durable entry points of the three workflows that revoke live here, in the higher part, and each
composes the devices step with ``incidents_flag_device_revoked``:

- ``device_revoke``: the one-click revocation (the suspect holds the phone);
- ``loan_return``: a lent item is back, and a phone's credentials are revoked;
- ``loan_pair``: new credentials for the lent phone, and the earlier ones are revoked.

The steps (``device_revoke_step``, ``loan_return_step``, ``loan_pair_step``) run only inside a
transaction and answer the device they revoked; nothing in ``devices`` revokes durably on its own,
and a test checks that no module but this one calls the steps. Lending, recalling and the stock
are not revocations: they stay in ``msa.devices.inventory``.
"""

from __future__ import annotations

from django.db import transaction

from msa.alarms.services.victim import incidents_flag_device_revoked
from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.devices.inventory import Pairing, loan_pair_step, loan_return_step
from msa.devices.models import Device, Loan
from msa.devices.services import device_revoke_step


@transaction.atomic(durable=True)
def device_revoke(*, device: Device, actor: Actor, reason: str = "") -> int:
    """Revoke a device in one action (e.g. the suspect holds the phone).

    The device then gets ``device_revoked`` on every request, and each of its open incidents
    shows that its device was revoked (and the consoles are told). Returns how many open
    incidents were flagged. Revoking twice changes nothing more.
    """
    now = clock.now()
    device_revoke_step(device=device, actor=actor, at=now, reason=reason)
    return incidents_flag_device_revoked(device=device, actor=actor, now=now)


@transaction.atomic(durable=True)
def loan_return(*, loan: Loan, condition: str, actor: Actor) -> Loan:
    """The item is back (or declared lost); a phone's credentials are revoked and the open
    incidents of that device flagged."""
    now = clock.now()
    returned = loan_return_step(loan=loan, condition=condition, actor=actor, at=now)
    if returned.revoked is not None:
        incidents_flag_device_revoked(device=returned.revoked, actor=actor, now=now)
    return returned.loan


@transaction.atomic(durable=True)
def loan_pair(*, case: ProtectionCase, actor: Actor, device_id: str | None = None) -> Pairing:
    """Issue the device credentials for the case's lent phone (shown once, as a QR code).

    Pairing again issues new credentials and revokes the earlier ones of that loan, whose
    device's open incidents are flagged.
    """
    now = clock.now()
    pairing = loan_pair_step(case=case, actor=actor, at=now, device_id=device_id)
    if pairing.revoked is not None:
        incidents_flag_device_revoked(device=pairing.revoked, actor=actor, now=now)
    return pairing
