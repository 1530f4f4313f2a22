"""AML in: one message (SMS text, data SMS or HTTPS form) to at most one domain call.

Rules, in order (docs/interop.md section 1):

1. the same message again (gateway message id, or for HTTPS the body's digest) → ``duplicate``;
2. the phone's number is not the enrolled number of a protected case's victim → ``ignored``,
   and nothing of the message is stored;
3. unreadable → ``rejected``, kept in the rejected-message log (:class:`InboundSms`, reason
   ``aml_<why>``);
4. otherwise the report goes to :func:`msa.alarms.services.aml.aml_report_attach`: attached to
   her open incident, or raising one marked AML (``attached`` / ``raised``). What was off but
   readable (a wrong ``ml``, no time) is kept as a warning on the message.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from msa.alarms.models import Incident
from msa.alarms.services.aml import AmlInput, aml_report_attach
from msa.cases.models import ProtectionCase
from msa.cases.phones import normalise_phone, phone_lookup
from msa.cases.states import PROTECTED_STATES
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError, ValidationError
from msa.ingest.aml_parse import AmlParseError, AmlReport
from msa.ingest.models import AmlResult, InboundAml, InboundSms, SmsResult

log = logging.getLogger("msa.ingest.aml")


@dataclass(frozen=True, slots=True)
class AmlOutcome:
    result: AmlResult
    incident: Incident | None = None
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class AmlMessage:
    source: str  # the gateway's name, or "https:<sender>"
    message_id: str  # the gateway's id; for HTTPS a digest of the body
    sender: str  # the phone's number as received
    text: str  # what is kept encrypted with an accepted or rejected message
    received_at: datetime | None = None


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _case_of(sender: str) -> tuple[ProtectionCase | None, str]:
    try:
        e164 = normalise_phone(sender, region=settings.MSA_COUNTRY)
    except ValidationError:
        return None, ""
    lookup = phone_lookup(e164)
    case = (
        ProtectionCase.objects.filter(
            victim__phone_lookup=lookup, status__in=[str(s) for s in PROTECTED_STATES]
        )
        .order_by("-pk")
        .first()
    )
    return case, lookup


def aml_receive(*, message: AmlMessage, parse: Callable[[], AmlReport], actor: Actor) -> AmlOutcome:
    """Handle one AML message (see the module docstring); ``parse`` reads it."""
    seen = InboundAml.objects.filter(source=message.source, message_id=message.message_id).first()
    if seen is not None:
        return AmlOutcome(AmlResult.DUPLICATE, seen.incident, "redelivery", list(seen.warnings))
    rejected_before = InboundSms.objects.filter(
        gateway=message.source, message_id=message.message_id
    ).first()
    if rejected_before is not None:
        return AmlOutcome(AmlResult.REJECTED, None, rejected_before.reason)
    case, lookup = _case_of(message.sender)
    if case is None:
        # Not an enrolled victim: nothing is stored, not even that it came.
        log.info("aml_ignored source=%s", message.source)
        return AmlOutcome(AmlResult.IGNORED)
    try:
        report = parse()
    except AmlParseError as exc:
        reason = f"aml_{exc.reason}"[:32]
        _reject(message, lookup, reason)
        log.warning("aml_rejected reason=%s source=%s", reason, message.source)
        return AmlOutcome(AmlResult.REJECTED, None, reason)
    position = report.position
    try:
        attached = aml_report_attach(
            case=case,
            position=(
                AmlInput(
                    lat=position.lat,
                    lon=position.lon,
                    radius_m=position.radius_m,
                    fix_at=position.fix_at,
                    method=position.method,
                    confidence_pct=position.confidence_pct,
                    altitude_m=position.altitude_m,
                )
                if position is not None
                else None
            ),
            shape=report.shape,
            call_at=report.call_at,
            actor=actor,
        )
    except ConfigurationError as exc:
        log.error("aml_not_attached reason=configuration error=%s", exc.message)  # noqa: TRY400
        _reject(message, lookup, "aml_not_linked")
        return AmlOutcome(AmlResult.REJECTED, None, "aml_not_linked")
    result = AmlResult(str(attached.outcome))
    if report.warnings:
        log.warning(
            "aml_warnings incident=%s warnings=%s",
            attached.incident.reference,
            ",".join(report.warnings),
        )
    try:
        with transaction.atomic():
            InboundAml.objects.create(
                source=message.source,
                message_id=message.message_id,
                shape=report.shape,
                sender_lookup=lookup,
                text=message.text[:2000],
                received_at=clock.now(),
                result=result,
                warnings=report.warnings,
                incident=attached.incident,
            )
    except IntegrityError:
        log.info("aml_redelivered_concurrently source=%s", message.source)
    return AmlOutcome(result, attached.incident, "", report.warnings)


def _reject(message: AmlMessage, lookup: str, reason: str) -> None:
    now = clock.now()
    try:
        with transaction.atomic():
            InboundSms.objects.create(
                gateway=message.source[:100],
                message_id=message.message_id[:200],
                sender=message.sender[:64],
                sender_lookup=lookup,
                recipient="",
                text=message.text[:1000],
                gateway_received_at=message.received_at or now,
                received_at=now,
                result=SmsResult.REJECTED,
                reason=reason,
            )
    except IntegrityError:
        log.info("aml_rejected_concurrently source=%s", message.source)
