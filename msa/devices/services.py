"""Writes about devices: enrolment and credentials."""

from __future__ import annotations

import secrets

from django.db import transaction

from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ValidationError
from msa.devices.models import Device
from msa_client.protocol import DEVICE_ID_RE, encode_key

KEY_BYTES = 32


def new_device_id() -> str:
    return "dev-" + secrets.token_hex(6).upper()


@transaction.atomic
def device_enroll(
    *,
    case: ProtectionCase,
    actor: Actor,
    device_id: str | None = None,
    key: bytes | None = None,
) -> Device:
    """Issue a device identity and its secret key for ``case``.

    The key is returned once, on the new row, for the QR code; the audit row never
    contains it.
    """
    device_id = device_id or new_device_id()
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValidationError("invalid device id", fields={"device_id": "3-32 of A-Z a-z 0-9 -"})
    key = key if key is not None else secrets.token_bytes(KEY_BYTES)
    if len(key) != KEY_BYTES:
        raise ValidationError("the key must be 32 bytes", fields={"key": "32 bytes"})
    device = Device.objects.create(
        device_id=device_id,
        key=encode_key(key),
        case=case,
        enrolled_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="device.enroll",
        subject=device,
        new={"device_id": device_id, "case": case.reference},
    )
    return device
