"""The fallback SMS channel: one inbound message in, at most one alarm out (protocol.md).

Rules, in order:

1. the gateway's message id was seen before → ``duplicate``, nothing changes;
2. a well-formed MSA1 SMS with a valid MAC of an enrolled device → alarm raised (or merged with
   the data alarm of the same press, or joined to the device's open incident as a repeat
   press), channel ``sms``; a revoked device or an ended case flags the incident;
3. otherwise, when the sender is the enrolled phone number of the victim of a case in a
   protected state → alarm raised, channel ``unverified_sms``, with the reason the operator
   sees (a life may be at stake);
4. anything else → no alarm; the message is kept in the rejected-SMS log with its reason.

Every alarm goes through :func:`msa.alarms.services.intake.alarm_raise`, which never reopens a
closed incident (a replay answers ``duplicate`` and is logged). ``alarm_raise`` commits first,
then the message is recorded: a crash in between makes the gateway deliver again, and the
second ``alarm_raise`` finds the incident (it is idempotent), so nothing is lost or doubled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from msa.alarms.models import Incident
from msa.alarms.services.intake import RaiseOutcome, alarm_raise
from msa.alarms.services.tracking import FixInput
from msa.alarms.states import CallState, Channel, Trigger
from msa.cases.models import ProtectionCase
from msa.cases.phones import normalise_phone, phone_lookup
from msa.cases.states import PROTECTED_STATES
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError, ValidationError
from msa.devices.models import Device
from msa.devices.selectors import device_by_protocol_id
from msa.devices.states import DeviceStatus
from msa.ingest.models import InboundSms, SmsResult
from msa_protocol import (
    FallbackSms,
    SmsParseError,
    SmsReason,
    parse_fallback_sms,
    verify_sms_mac,
)

log = logging.getLogger("msa.ingest.sms")

# A press time further in the future than this is not believed; the arrival time is used.
FUTURE_PRESS_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SmsOutcome:
    result: SmsResult
    incident: Incident | None
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    gateway: str
    message_id: str
    sender: str
    recipient: str
    text: str
    received_at: datetime


_OUTCOME_RESULT = {
    RaiseOutcome.RAISED: SmsResult.RAISED,
    RaiseOutcome.MERGED: SmsResult.MERGED,
    RaiseOutcome.DUPLICATE: SmsResult.DUPLICATE,
    RaiseOutcome.REPEAT: SmsResult.MERGED,  # joined the device's open incident as a repeat press
}


def _pressed_at(sms: FallbackSms | None, now: datetime) -> datetime:
    if sms is None:
        return now
    try:
        pressed = datetime.fromtimestamp(sms.pressed_at_unix, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return now
    return now if pressed > now + FUTURE_PRESS_TOLERANCE else pressed


def _location(sms: FallbackSms | None, pressed_at: datetime) -> FixInput | None:
    if sms is None or sms.lat is None or sms.lon is None:
        return None
    # The SMS does not say how the fix was made, nor when: the press time stands for it.
    return FixInput(
        lat=sms.lat,
        lon=sms.lon,
        accuracy_m=float(sms.accuracy_m or 0),
        fix_at=pressed_at,
        source="fused",
    )


def _verify(sms: FallbackSms, text: str) -> tuple[Device | None, str]:
    """The device whose key signed this SMS, or the reason it is not verified."""
    device = device_by_protocol_id(sms.device_id)
    if device is None:
        return None, "unknown_device"
    if not sms.mac:
        return None, "device_revoked" if device.status == DeviceStatus.REVOKED else "missing_mac"
    if not verify_sms_mac(device.secret(), text):
        return None, "device_revoked" if device.status == DeviceStatus.REVOKED else "bad_mac"
    # Signed with a revoked device's key: a press is never dropped, alarm_raise flags it.
    return device, ""


def _enrolled_case(sender_e164: str | None) -> ProtectionCase | None:
    """The protected case whose victim's enrolled number sent this (newest case first)."""
    if sender_e164 is None:
        return None
    return (
        ProtectionCase.objects.filter(
            victim__phone_lookup=phone_lookup(sender_e164),
            status__in=[str(s) for s in PROTECTED_STATES],
        )
        .order_by("-pk")
        .first()
    )


def _case_device(case: ProtectionCase, sms: FallbackSms | None) -> Device | None:
    devices = Device.objects.filter(case=case, status=DeviceStatus.ACTIVE)
    if sms is not None:
        named = devices.filter(device_id=sms.device_id).first()
        if named is not None:
            return named
    return devices.order_by("-enrolled_at").first()


def sms_inbound_receive(*, message: InboundMessage, actor: Actor) -> SmsOutcome:
    """Handle one delivery of the gateway (see the module docstring)."""
    seen = (
        InboundSms.objects.select_related("incident")
        .filter(gateway=message.gateway, message_id=message.message_id)
        .first()
    )
    if seen is not None:
        return SmsOutcome(SmsResult.DUPLICATE, seen.incident, "redelivery")

    now = clock.now()
    try:
        sender_e164: str | None = normalise_phone(message.sender, region=settings.MSA_COUNTRY)
    except ValidationError:
        sender_e164 = None
    sms: FallbackSms | None
    try:
        sms = parse_fallback_sms(message.text)
        device, reason = _verify(sms, message.text)
    except SmsParseError as exc:
        sms, device, reason = None, None, exc.reason_code

    outcome: SmsOutcome
    channel = Channel.SMS
    case: ProtectionCase | None = None
    if device is None:
        case = _enrolled_case(sender_e164)
        if case is not None:
            channel = Channel.UNVERIFIED_SMS
            device = _case_device(case, sms)
    if device is None and case is None:
        # reason: why the SMS is not verified (parse code, bad_mac, ...); its sender is not
        # the enrolled number of a protected case either.
        outcome = SmsOutcome(SmsResult.REJECTED, None, reason or "unknown_sender")
        log.warning("sms_rejected reason=%s gateway=%s", outcome.reason, message.gateway)
    else:
        pressed_at = _pressed_at(sms, now)
        try:
            raised = alarm_raise(
                device=device,
                case=case,
                alarm_id=None,
                alarm_ref=sms.alarm_ref if sms is not None else "",
                trigger=sms.trigger_name if sms is not None else Trigger.BUTTON,
                pressed_at=pressed_at,
                location=_location(sms, pressed_at),
                battery=None,
                call_state=(
                    CallState.GHOST
                    if sms is not None and sms.reason == SmsReason.GHOST_CALL
                    else None
                ),
                channel=channel,
                actor=actor,
                unverified_reason=reason if channel == Channel.UNVERIFIED_SMS else "",
            )
        except ConfigurationError as exc:
            log.error("sms_not_raised reason=configuration error=%s", exc.message)  # noqa: TRY400
            outcome = SmsOutcome(SmsResult.REJECTED, None, "not_linked")
        else:
            result = _OUTCOME_RESULT[raised.outcome]
            note = reason
            if raised.outcome == RaiseOutcome.DUPLICATE and raised.incident.closed_at:
                note = "closed_incident"
            outcome = SmsOutcome(result, raised.incident, note)
    _record(message, sender_e164, outcome, device, now)
    return outcome


def _record(
    message: InboundMessage,
    sender_e164: str | None,
    outcome: SmsOutcome,
    device: Device | None,
    now: datetime,
) -> None:
    try:
        with transaction.atomic():
            InboundSms.objects.create(
                gateway=message.gateway,
                message_id=message.message_id,
                sender=message.sender[:64],
                sender_lookup=phone_lookup(sender_e164) if sender_e164 else "",
                recipient=message.recipient[:32],
                text=message.text[:1000],
                gateway_received_at=message.received_at,
                received_at=now,
                result=outcome.result,
                reason=outcome.reason[:32],
                device=device,
                incident=outcome.incident,
            )
    except IntegrityError:
        # The same delivery, handled at the same time by another process: it recorded it.
        log.info("sms_redelivered_concurrently gateway=%s", message.gateway)
