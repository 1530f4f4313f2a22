"""Writes about devices: enrolment and credentials.

Revoking a device is a workflow of two parts: the credential (here) and the device's open
incidents, which must show the centre that the device was revoked (``alarms``, above this part).
So this module has only the step, ``device_revoke_step``, in the caller's transaction; the durable
entry points that revoke (``device_revoke``, ``loan_return``, ``loan_pair``) are in
``msa.alarms.revocation``, which composes the step with the flagging of the incidents.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase
from msa.core import clock
from msa.core.actors import Actor
from msa.core.crypto import lookup_hash
from msa.core.errors import ValidationError
from msa.core.sql import Statement
from msa.core.transitions import history_start, transition_apply
from msa.devices.models import Device
from msa.devices.states import DEVICE_MACHINE, DeviceStatus, DeviceTransitionName
from msa_protocol import DEVICE_ID_RE, encode_key, format_enrolment_qr

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
        raise ValidationError(
            gettext_noop("invalid device id"), fields={"device_id": "3-32 of A-Z a-z 0-9 -"}
        )
    key = key if key is not None else secrets.token_bytes(KEY_BYTES)
    if len(key) != KEY_BYTES:
        raise ValidationError(gettext_noop("the key must be 32 bytes"), fields={"key": "32 bytes"})
    now = clock.now()
    device = Device.objects.create(
        device_id=device_id,
        key=encode_key(key),
        case=case,
        status=DeviceStatus.ACTIVE,
        enrolled_at=now,
    )
    history_start(
        DEVICE_MACHINE, device, transition=DeviceTransitionName.ENROLL, actor=actor, at=now
    )
    audit_record(
        actor=actor,
        action="device.enroll",
        subject=device,
        new={"device_id": device_id, "case": case.reference},
        at=now,
    )
    return device


# --- credentials: shown once, as a QR code and as text --------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    """What the person enrolling the phone sees once: never stored in this form, never logged.

    ``qr_text`` is :func:`msa_protocol.format_enrolment_qr` (the app scans it);
    :meth:`qr_svg` renders it for a page.
    """

    device: Device
    key_text: str
    qr_text: str
    sms_number: str
    base_url: str

    def qr_svg(self) -> str:
        return enrolment_qr_svg(self.qr_text)


def enrolment_qr_svg(qr_text: str, *, scale: int = 4) -> str:
    """An inline ``<svg>`` of the enrolment QR code (segno; no external resources)."""
    svg: str = segno.make(qr_text, error="m").svg_inline(scale=scale, border=4)
    return svg


def device_credentials(device: Device, key: bytes) -> DeviceCredentials:
    """The credentials to show once, with the enrolment QR built from ``MSA_PUBLIC_URL``."""
    base_url = settings.MSA_PUBLIC_URL.rstrip("/")
    sms_number = settings.MSA_SMS_NUMBER
    return DeviceCredentials(
        device=device,
        key_text=encode_key(key),
        qr_text=format_enrolment_qr(
            base_url=base_url, device_id=device.device_id, key=key, sms_number=sms_number
        ),
        sms_number=sms_number,
        base_url=base_url,
    )


@transaction.atomic(durable=True)
def device_credentials_issue(
    *, case: ProtectionCase, actor: Actor, device_id: str | None = None
) -> DeviceCredentials:
    """Enrol a phone for ``case``: a new device id and key, returned once for the QR code."""
    if device_id is not None and Device.objects.filter(device_id=device_id).exists():
        raise ValidationError(
            gettext_noop("this device id is taken"), fields={"device_id": "taken"}
        )
    key = secrets.token_bytes(KEY_BYTES)
    device = device_enroll(case=case, actor=actor, device_id=device_id, key=key)
    return device_credentials(device, key)


@transaction.atomic(durable=True)
def device_key_rotate(*, device: Device, actor: Actor) -> DeviceCredentials:
    """A new key for the same device id; the old key stops working at once."""
    locked = Device.objects.select_for_update().get(pk=device.pk)
    if locked.status == DeviceStatus.REVOKED:
        raise ValidationError(
            gettext_noop("a revoked device gets no new key"), fields={"device": "revoked"}
        )
    key = secrets.token_bytes(KEY_BYTES)
    now = clock.now()
    locked.key = encode_key(key)
    locked.key_rotated_at = now
    locked.save(update_fields=["key", "key_rotated_at"])
    audit_record(
        actor=actor, action="device.rotate_key", subject=locked, new={"at": now.isoformat()}
    )
    return device_credentials(locked, key)


def device_revoke_step(
    *, device: Device, actor: Actor, at: datetime, reason: str = ""
) -> Device | None:
    """Revoke the credentials of ``device`` in the caller's transaction; the revoked row, or
    None if it was revoked already.

    The step of ``msa.alarms.revocation``, which flags the device's open incidents in the same
    transaction: call that, not this. From then on the device gets ``device_revoked`` on every
    request. Revoking twice changes nothing more.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("device_revoke_step runs in the revocation's transaction")
    locked = Device.objects.select_for_update().get(pk=device.pk)
    if locked.status == DeviceStatus.REVOKED:
        return None
    return transition_apply(
        DEVICE_MACHINE, locked, DeviceTransitionName.REVOKE, actor=actor, reason=reason, at=at
    )


# --- heartbeat ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatInput:
    at: datetime
    phone_pct: int
    button_pct: int | None
    button_connected: bool
    button_last_seen_at: datetime | None
    permissions: dict[str, Any]
    network_data: bool
    app_version: str


# The hot path's one write, prepared once (msa.core.sql).
_HEARTBEAT_RECORD = Statement(
    Device,
    "UPDATE {table} SET {last_heartbeat_at} = %s, {phone_battery_pct} = %s, "
    "{button_battery_pct} = %s, {button_connected} = %s, {button_last_seen_at} = %s, "
    "{permissions} = %s, {network_data} = %s, {app_version} = %s WHERE {pk} = %s",
    writes=[
        "last_heartbeat_at",
        "phone_battery_pct",
        "button_battery_pct",
        "button_connected",
        "button_last_seen_at",
        "permissions",
        "network_data",
        "app_version",
        None,
    ],
)


def device_heartbeat_record(*, device: Device, beat: HeartbeatInput) -> datetime:
    """Record what a heartbeat reports (never a position); return the centre's time.

    One UPDATE of the device row (autocommit: a single statement is its own transaction), no
    audit row and no event: heartbeats are the hot path, and the worker's device-health watch
    reads these fields.
    """
    now = clock.now()
    _HEARTBEAT_RECORD.rowcount(
        now,
        beat.phone_pct,
        beat.button_pct,
        beat.button_connected,
        beat.button_last_seen_at,
        beat.permissions,
        beat.network_data,
        beat.app_version,
        device.pk,
    )
    return now


# --- OsmAnd (Traccar Client and similar apps; docs/interop.md section 2) ----------------------

OSMAND_ID_BYTES = 20  # 160 random bits: the protocol is unsigned, the identifier is the secret
OSMAND_LOOKUP_PURPOSE = "osmand"


def osmand_lookup(identifier: str) -> str:
    """The keyed hash an OsmAnd identifier is found by (the identifier is never stored)."""
    return lookup_hash(identifier, purpose=OSMAND_LOOKUP_PURPOSE)


def new_osmand_identifier() -> str:
    """At least 128 random bits, in the characters Traccar Client accepts in its id field."""
    return secrets.token_hex(OSMAND_ID_BYTES)


@dataclass(frozen=True, slots=True)
class OsmandCredentials:
    """Shown once: the identifier to type (or paste) into the app, and where it sends."""

    device: Device
    identifier: str
    server_url: str


@transaction.atomic
def device_osmand_enroll(*, case: ProtectionCase, actor: Actor) -> OsmandCredentials:
    """Enrol an OsmAnd-speaking app for ``case``: a device row (protocol ``osmand``) with a
    fresh identifier of 160 random bits. The key the row must hold is random and unused."""
    identifier = new_osmand_identifier()
    device = device_enroll(case=case, actor=actor)
    device.protocol = "osmand"
    device.osmand_lookup = osmand_lookup(identifier)
    device.save(update_fields=["protocol", "osmand_lookup"])
    audit_record(
        actor=actor,
        action="device.osmand_enroll",
        subject=device,
        new={"device_id": device.device_id, "case": case.reference, "protocol": "osmand"},
    )
    return OsmandCredentials(
        device=device,
        identifier=identifier,
        server_url=settings.MSA_PUBLIC_URL.rstrip("/") + "/api/osmand/v1/",
    )


def device_osmand_seen(*, device: Device, phone_pct: int | None) -> None:
    """An OsmAnd request that stored no position counts as the device's heartbeat."""
    update: dict[str, Any] = {"last_heartbeat_at": clock.now(), "app_version": "osmand"}
    if phone_pct is not None:
        update["phone_battery_pct"] = phone_pct
    Device.objects.filter(pk=device.pk).update(**update)
