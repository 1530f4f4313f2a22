"""Writes about protection cases: from the request to the end of the alarm.

Each entry point is one durable transaction that changes the case through ``CASE_MACHINE``
(history row and audit row included) and records what goes with it. Personal data never
goes into a log line or an audit value: audit rows carry references and keys only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from msa.accounts.models import Organisation, OrgKind
from msa.audit.services import audit_record
from msa.cases.models import (
    RISK_ORDER,
    ActivationChecklist,
    CareTeamMember,
    CaseNote,
    CaseTask,
    Consent,
    Decision,
    DecisionOutcome,
    ExclusionZone,
    NationalRegistration,
    NoteKind,
    ProtectionCase,
    Referral,
    ReferralStatus,
    Review,
    ReviewOutcome,
    RiskAssessment,
    RiskInstrument,
    Suspect,
    TaskKind,
    TeamRole,
    Victim,
    ZoneShape,
)
from msa.cases.phones import normalise_phone, phone_lookup
from msa.cases.risk import answers_clean, instrument_validate, score
from msa.cases.states import (
    CASE_MACHINE,
    HOLDS_DEVICES,
    CaseState,
    CaseTransitionName,
    EndReason,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError, NotFoundError, ValidationError
from msa.core.references import reference_next
from msa.core.transitions import history_start, transition_apply
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue

log = logging.getLogger("msa.cases")

# Cases for which no task is escalated any more.
CLOSED_STATES = frozenset({CaseState.ENDED, CaseState.REFUSED})

T = CaseTransitionName


# --------------------------------------------------------------------------------------------
# opening a case
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonInput:
    first_name: str
    last_name: str
    birth_date: date | None = None
    languages: str = ""
    address: str = ""
    phone_number: str = ""
    # victim only
    health_notes: str = ""
    children_notes: str = ""
    # suspect only
    vehicle: str = ""
    weapons: str = ""
    risk_notes: str = ""


def _phone(raw: str) -> tuple[str, str]:
    if not raw.strip():
        return "", ""
    e164 = normalise_phone(raw)
    return e164, phone_lookup(e164)


def _require_zone(zone: Organisation) -> None:
    if zone.kind != OrgKind.POLICE_ZONE:
        raise ValidationError("a case belongs to a police zone", fields={"zone": "not a zone"})


@transaction.atomic(durable=True)
def case_open(
    *,
    zone: Organisation,
    victim: PersonInput | Victim,
    suspect: PersonInput,
    relation: str,
    actor: Actor,
) -> ProtectionCase:
    """A new case in state ``requested``. ``victim`` may be an existing victim (a second
    suspect gets a second case for the same victim)."""
    _require_zone(zone)
    if not suspect.first_name.strip() and not suspect.last_name.strip():
        raise ValidationError("the suspect needs a name", fields={"suspect_last_name": "required"})
    now = clock.now()
    if isinstance(victim, Victim):
        victim_row = victim
    else:
        phone, lookup = _phone(victim.phone_number)
        victim_row = Victim.objects.create(
            first_name=victim.first_name.strip(),
            last_name=victim.last_name.strip(),
            birth_date=victim.birth_date,
            languages=victim.languages,
            address=victim.address,
            phone_number=phone,
            phone_lookup=lookup,
            health_notes=victim.health_notes,
            children_notes=victim.children_notes,
        )
    s_phone, s_lookup = _phone(suspect.phone_number)
    suspect_row = Suspect.objects.create(
        first_name=suspect.first_name.strip(),
        last_name=suspect.last_name.strip(),
        birth_date=suspect.birth_date,
        languages=suspect.languages,
        address=suspect.address,
        phone_number=s_phone,
        phone_lookup=s_lookup,
        vehicle=suspect.vehicle,
        weapons=suspect.weapons,
        risk_notes=suspect.risk_notes,
    )
    case = ProtectionCase.objects.create(
        reference=reference_next(f"{zone.code}-C", now.year),
        police_zone=zone,
        victim=victim_row,
        suspect=suspect_row,
        relation=relation,
        status=CaseState.REQUESTED,
        created_at=now,
    )
    history_start(CASE_MACHINE, case, transition=T.OPEN, actor=actor, at=now)
    audit_record(
        actor=actor,
        action="case.open",
        subject=case,
        new={"reference": case.reference, "zone": zone.code, "relation": relation},
        at=now,
    )
    # The zone's police are on the team from the start.
    CareTeamMember.objects.create(case=case, organisation=zone, role=TeamRole.POLICE, added_at=now)
    log.info("case_opened case=%s zone=%s", case.reference, zone.code)
    return case


# --------------------------------------------------------------------------------------------
# risk instruments and assessments
# --------------------------------------------------------------------------------------------


def _digest(definition: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


@transaction.atomic
def instrument_load(*, definition: Mapping[str, Any], actor: Actor) -> tuple[RiskInstrument, bool]:
    """Store one instrument version. Loading the same version again changes nothing; a
    different content under an existing version is refused (publish a new version)."""
    instrument_validate(definition)
    digest = _digest(definition)
    existing = RiskInstrument.objects.filter(
        code=definition["code"], version=definition["version"]
    ).first()
    if existing is not None:
        if existing.digest != digest:
            raise ConflictError(
                f"{definition['code']} {definition['version']} is already loaded with other "
                "content: give the changed instrument a new version",
            )
        return existing, False
    instrument = RiskInstrument.objects.create(
        code=definition["code"],
        version=definition["version"],
        title=definition["title"],
        definition=dict(definition),
        digest=digest,
        loaded_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="instrument.load",
        subject=instrument,
        new={"code": instrument.code, "version": instrument.version, "digest": digest},
    )
    return instrument, True


def instrument_read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path} is not valid JSON (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: an instrument is a JSON object")
    return data


def bombshell_deadline() -> timedelta:
    return timedelta(seconds=settings.MSA_BOMBSHELL_DEADLINE_S)


@transaction.atomic(durable=True)
def assessment_record(
    *,
    case: ProtectionCase,
    instrument: RiskInstrument,
    answers: Mapping[str, str],
    override_level: str = "",
    override_reason: str = "",
    actor: Actor,
) -> RiskAssessment:
    """Score the answers, apply a professional override (it may only raise the level, and
    needs a reason), move the case to ``assessed``, and open the urgent task when a
    bombshell was answered yes."""
    clean = answers_clean(instrument.definition, answers)
    result = score(instrument.definition, clean)
    level = result.level
    if override_level:
        if override_level not in RISK_ORDER:
            raise ValidationError("unknown level", fields={"override_level": "unknown"})
        if RISK_ORDER.index(override_level) <= RISK_ORDER.index(result.level):
            raise ValidationError(
                "an override may only raise the level",
                fields={"override_level": "must be higher than the computed level"},
            )
        if not override_reason.strip():
            raise ValidationError(
                "an override needs a reason", fields={"override_reason": "required"}
            )
        level = override_level
    now = clock.now()
    locked = transition_apply(
        CASE_MACHINE,
        case,
        T.ASSESS,
        actor=actor,
        at=now,
        changes={"risk_level": level},
    )
    assessment = RiskAssessment.objects.create(
        case=locked,
        instrument=instrument,
        answers=clean,
        score=result.score,
        computed_level=result.level,
        override_level=override_level,
        override_reason=override_reason.strip() if override_level else "",
        level=level,
        bombshells=result.bombshells,
        assessed_at=now,
        assessed_by=actor.label,
    )
    audit_record(
        actor=actor,
        action="case.assessment",
        subject=locked,
        new={
            "instrument": f"{instrument.code} {instrument.version}",
            "score": result.score,
            "level": level,
            "overridden": bool(override_level),
            "bombshells": result.bombshells,
        },
        at=now,
    )
    if (
        result.bombshells
        and not locked.tasks.filter(kind=TaskKind.CONTACT_PROSECUTOR, done_at__isnull=True).exists()
    ):
        task = CaseTask.objects.create(
            case=locked,
            kind=TaskKind.CONTACT_PROSECUTOR,
            urgent=True,
            created_at=now,
            due_at=now + bombshell_deadline(),
        )
        audit_record(
            actor=actor,
            action="case.task_open",
            subject=task,
            new={"case": locked.reference, "kind": task.kind, "due_at": task.due_at.isoformat()},
            at=now,
        )
    return assessment


@transaction.atomic(durable=True)
def task_complete(*, task: CaseTask, actor: Actor) -> CaseTask:
    locked = CaseTask.objects.select_for_update().get(pk=task.pk)
    if locked.done_at is not None:
        return locked
    locked.done_at = clock.now()
    locked.done_by = actor.label
    locked.save(update_fields=["done_at", "done_by"])
    audit_record(actor=actor, action="case.task_done", subject=locked, new={"kind": locked.kind})
    return locked


def _alert_recipient(zone: Organisation) -> str:
    return settings.MSA_CASE_ALERT_TO or f"supervisors@{zone.code}"


@transaction.atomic(durable=True)
def task_escalate(*, task: CaseTask, actor: Actor) -> bool:
    """Tell the zone's supervisors that an urgent task ran out. Idempotent: True once."""
    try:
        locked = (
            CaseTask.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case__police_zone")
            .get(pk=task.pk)
        )
    except CaseTask.DoesNotExist:
        return False  # another worker has it
    now = clock.now()
    if locked.done_at is not None or locked.escalated_at is not None or locked.due_at > now:
        return False
    if locked.case.status in CLOSED_STATES:
        return False
    locked.escalated_at = now
    locked.save(update_fields=["escalated_at"])
    message_enqueue(
        channel=MessageChannel.NOTIFICATION,
        recipient=_alert_recipient(locked.case.police_zone),
        subject=f"Overdue: {locked.get_kind_display()} — case {locked.case.reference}",
        body=(
            f"The task '{locked.get_kind_display()}' for case {locked.case.reference} was due at "
            f"{locked.due_at.isoformat()} and is not done."
        ),
        actor=actor,
        about=locked.case,
    )
    audit_record(
        actor=actor,
        action="case.task_escalated",
        subject=locked,
        new={"case": locked.case.reference, "kind": locked.kind},
        at=now,
    )
    log.info("case_task_escalated case=%s kind=%s", locked.case.reference, locked.kind)
    return True


@transaction.atomic(durable=True)
def case_submit(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    """Send the assessed case to the magistrate."""
    return transition_apply(CASE_MACHINE, case, T.SUBMIT, actor=actor)


# --------------------------------------------------------------------------------------------
# the magistrate's decision
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneInput:
    label: str
    shape: str
    lat: float | None = None
    lon: float | None = None
    radius_m: int | None = None
    rings: list[list[list[float]]] = field(default_factory=list)


def _check_lat_lon(lat: Any, lon: Any) -> None:
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        raise ValidationError("a zone needs coordinates", fields={"zones": "coordinates"})
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError("coordinates out of range", fields={"zones": "coordinates"})


def zone_check(zone: ZoneInput) -> None:
    if not zone.label.strip():
        raise ValidationError("every zone needs a label", fields={"zones": "label"})
    if zone.shape == ZoneShape.CIRCLE:
        _check_lat_lon(zone.lat, zone.lon)
        if not zone.radius_m or not (10 <= zone.radius_m <= 20_000):
            raise ValidationError("a radius between 10 m and 20 km", fields={"zones": "radius_m"})
    elif zone.shape == ZoneShape.POLYGON:
        if not zone.rings or len(zone.rings[0]) < 3:
            raise ValidationError("a polygon needs 3 points or more", fields={"zones": "rings"})
        for ring in zone.rings:
            for point in ring:
                if len(point) != 2:
                    raise ValidationError("a point is [lat, lon]", fields={"zones": "rings"})
                _check_lat_lon(point[0], point[1])
    else:
        raise ValidationError("unknown zone shape", fields={"zones": "shape"})


def max_duration() -> timedelta:
    return timedelta(days=settings.MSA_CASE_MAX_DAYS)


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=clock.now().tzinfo)


def _validity(valid_from: date, valid_until: date | None) -> date:
    longest = valid_from + max_duration()
    until = valid_until or longest
    if until < valid_from:
        raise ValidationError("ends before it starts", fields={"valid_until": "before start"})
    if until > longest:
        raise ValidationError(
            "longer than the maximum duration",
            fields={"valid_until": f"at most {settings.MSA_CASE_MAX_DAYS} days"},
        )
    return until


def _order_text(decision: Decision, zones: Sequence[ZoneInput]) -> str:
    lines = []
    if decision.contact_ban:
        lines.append(
            "Contact ban: no contact of any kind with the victim, directly or through others."
        )
    for z in zones:
        if z.shape == ZoneShape.CIRCLE:
            lines.append(f"Area ban: {z.label} (within {z.radius_m} m).")
        else:
            lines.append(f"Area ban: {z.label} (area drawn on the map).")
    if decision.conditions:
        lines.append(f"Conditions: {decision.conditions}")
    if decision.valid_until:
        lines.append(f"Valid until {decision.valid_until.isoformat()}.")
    return "\n".join(lines)


@transaction.atomic(durable=True)
def decision_record(
    *,
    case: ProtectionCase,
    approve: bool,
    reference: str,
    actor: Actor,
    valid_from: date | None = None,
    valid_until: date | None = None,
    contact_ban: bool = True,
    conditions: str = "",
    grounds: str = "",
    zones: Sequence[ZoneInput] = (),
) -> Decision:
    """Approve (with the measures) or refuse. An approval registers the suspect with the
    national police database and asks the victim's consent."""
    if not reference.strip():
        raise ValidationError("the decision's reference", fields={"reference": "required"})
    now = clock.now()
    start = valid_from or now.date()
    until = _validity(start, valid_until) if approve else None
    if approve:
        for zone in zones:
            zone_check(zone)
    transition = T.APPROVE if approve else T.REFUSE
    locked = transition_apply(CASE_MACHINE, case, transition, actor=actor, at=now)
    decision = Decision.objects.create(
        case=locked,
        outcome=DecisionOutcome.APPROVED if approve else DecisionOutcome.REFUSED,
        reference=reference.strip(),
        decided_at=now,
        decided_by=actor.label,
        valid_from=start if approve else None,
        valid_until=until,
        contact_ban=contact_ban if approve else False,
        conditions=conditions.strip(),
        grounds=grounds.strip(),
    )
    audit_record(
        actor=actor,
        action="case.decision",
        subject=locked,
        new={
            "decision": decision.reference,
            "outcome": decision.outcome,
            "valid_until": until.isoformat() if until else None,
            "zones": len(zones) if approve else 0,
        },
        at=now,
    )
    if not approve:
        return decision
    for zone in zones:
        ExclusionZone.objects.create(
            decision=decision,
            label=zone.label.strip(),
            shape=zone.shape,
            lat=zone.lat if zone.shape == ZoneShape.CIRCLE else None,
            lon=zone.lon if zone.shape == ZoneShape.CIRCLE else None,
            radius_m=zone.radius_m if zone.shape == ZoneShape.CIRCLE else None,
            rings=zone.rings if zone.shape == ZoneShape.POLYGON else [],
        )
    assert until is not None
    locked.restraining_order = _order_text(decision, zones)
    locked.order_valid_until = until
    locked.expires_at = _end_of(until)
    locked.save(update_fields=["restraining_order", "order_valid_until", "expires_at"])
    _register_suspect(case=locked, decision=decision, actor=actor, kind="register")
    transition_apply(CASE_MACHINE, locked, T.REQUEST_CONSENT, actor=actor, at=now)
    locked.refresh_from_db()
    return decision


def _register_suspect(
    *, case: ProtectionCase, decision: Decision, actor: Actor, kind: str
) -> NationalRegistration:
    """The notice to the national police database, through the outbox."""
    suspect = case.suspect
    body_lines = [
        f"Notice: {kind}",
        f"Case: {case.reference} (police zone {case.police_zone.code})",
        f"Decision: {decision.reference} of {decision.decided_at.date().isoformat()}",
        f"Person: {suspect.last_name.upper()}, {suspect.first_name}"
        + (f", born {suspect.birth_date.isoformat()}" if suspect.birth_date else ""),
        (
            "Instructions: a mobile stalking alarm protects the victim. In case of contact, "
            "arrest for breach of the restraining order and inform the dispatch centre."
        ),
        case.restraining_order,
    ]
    message = message_enqueue(
        channel=MessageChannel.NATIONAL_DB,
        recipient=settings.MSA_NATIONAL_DB_RECIPIENT,
        subject=f"MSA restraining order {case.reference}",
        body="\n".join(body_lines),
        actor=actor,
        about=case,
    )
    registration = NationalRegistration.objects.create(
        case=case,
        decision=decision,
        message_id=message.pk,
        queued_at=clock.now(),
        kind=kind,
    )
    audit_record(
        actor=actor,
        action="case.national_registration",
        subject=case,
        new={"kind": kind, "message": message.pk, "decision": decision.reference},
    )
    return registration


@transaction.atomic(durable=True)
def case_renew(
    *,
    case: ProtectionCase,
    reference: str,
    valid_until: date | None,
    actor: Actor,
    conditions: str = "",
) -> Decision:
    """A new decision extends the alarm beyond its maximum duration."""
    if not reference.strip():
        raise ValidationError("the decision's reference", fields={"reference": "required"})
    now = clock.now()
    locked = transition_apply(CASE_MACHINE, case, T.RENEW, actor=actor, at=now)
    start = now.date()
    until = _validity(start, valid_until)
    previous = locked.decisions.exclude(outcome=DecisionOutcome.REFUSED).first()
    decision = Decision.objects.create(
        case=locked,
        outcome=DecisionOutcome.RENEWED,
        reference=reference.strip(),
        decided_at=now,
        decided_by=actor.label,
        valid_from=start,
        valid_until=until,
        contact_ban=previous.contact_ban if previous else True,
        conditions=conditions.strip() or (previous.conditions if previous else ""),
    )
    if previous is not None:
        for zone in previous.zones.all():
            ExclusionZone.objects.create(
                decision=decision,
                label=zone.label,
                shape=zone.shape,
                lat=zone.lat,
                lon=zone.lon,
                radius_m=zone.radius_m,
                rings=zone.rings,
            )
    locked.order_valid_until = until
    locked.expires_at = _end_of(until)
    locked.save(update_fields=["order_valid_until", "expires_at"])
    audit_record(
        actor=actor,
        action="case.renew",
        subject=locked,
        new={"decision": decision.reference, "valid_until": until.isoformat()},
        at=now,
    )
    _register_suspect(case=locked, decision=decision, actor=actor, kind="renew")
    _expiry_task(locked, now)
    return decision


# --------------------------------------------------------------------------------------------
# consent, activation
# --------------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def consent_record(
    *, case: ProtectionCase, given_at: datetime, method: str, actor: Actor
) -> Consent:
    now = clock.now()
    if given_at > now + timedelta(minutes=5):
        raise ValidationError(
            "consent cannot be given in the future", fields={"given_at": "future"}
        )
    locked = transition_apply(CASE_MACHINE, case, T.CONSENT, actor=actor, at=now)
    consent = Consent.objects.create(
        case=locked, given_at=given_at, method=method, recorded_by=actor.label, recorded_at=now
    )
    ActivationChecklist.objects.get_or_create(case=locked)
    audit_record(
        actor=actor,
        action="case.consent",
        subject=locked,
        new={"method": method, "given_at": given_at.isoformat()},
        at=now,
    )
    return consent


@transaction.atomic(durable=True)
def consent_withdraw(*, case: ProtectionCase, actor: Actor, reason: str = "") -> ProtectionCase:
    """The victim withdraws her consent: the alarm ends and the devices are recalled."""
    from msa.devices.inventory import loans_recall

    now = clock.now()
    consent = case.consents.filter(withdrawn_at__isnull=True).first()
    if consent is None:
        raise NotFoundError("no consent to withdraw")
    consent.withdrawn_at = now
    consent.withdrawal_recorded_by = actor.label
    consent.save(update_fields=["withdrawn_at", "withdrawal_recorded_by"])
    locked = transition_apply(
        CASE_MACHINE,
        case,
        T.END,
        actor=actor,
        at=now,
        reason=reason or "consent withdrawn",
        changes={"end_reason": EndReason.CONSENT_WITHDRAWN},
    )
    loans_recall(case=locked, actor=actor, at=now)
    return locked


CHECK_ITEMS = ("button_paired", "permissions_granted")


@transaction.atomic(durable=True)
def checklist_mark(*, case: ProtectionCase, item: str, actor: Actor) -> ActivationChecklist:
    if item not in CHECK_ITEMS:
        raise ValidationError("unknown checklist item", fields={"item": item})
    if case.status != CaseState.ENROLLING:
        raise ValidationError("the checklist belongs to the enrolment")
    checklist, _ = ActivationChecklist.objects.select_for_update().get_or_create(case=case)
    if (
        item == "button_paired"
        and not case.loans.filter(returned_at__isnull=True, device__isnull=False).exists()
    ):
        raise ValidationError(
            "pair the phone first (no credentials issued)", fields={"item": "not paired"}
        )
    name = f"{item}_at"
    if getattr(checklist, name) is None:
        setattr(checklist, name, clock.now())
        checklist.save(update_fields=[name])
        audit_record(actor=actor, action=f"case.checklist.{item}", subject=case)
    return checklist


@transaction.atomic(durable=True)
def checklist_confirm_test(*, case: ProtectionCase, actor: Actor) -> ActivationChecklist:
    """Confirm that the centre received a test alarm from this case's paired phone."""
    from msa.alarms.models import Incident
    from msa.alarms.states import Lane

    checklist, _ = ActivationChecklist.objects.select_for_update().get_or_create(case=case)
    device_ids = list(
        case.loans.filter(returned_at__isnull=True, device__isnull=False).values_list(
            "device_id", flat=True
        )
    )
    test = (
        Incident.objects.filter(case=case, lane=Lane.TEST, device_id__in=device_ids)
        .order_by("-received_at")
        .first()
    )
    if test is None:
        raise ValidationError(
            "no test alarm from this case's phone has reached the centre yet",
            fields={"test_alarm": "none received"},
        )
    checklist.test_incident_reference = test.reference
    checklist.test_confirmed_at = clock.now()
    checklist.confirmed_by = actor.label
    checklist.save(update_fields=["test_incident_reference", "test_confirmed_at", "confirmed_by"])
    audit_record(
        actor=actor,
        action="case.checklist.test_alarm",
        subject=case,
        new={"incident": test.reference},
    )
    return checklist


def review_interval(level: str) -> timedelta:
    hours = settings.MSA_REVIEW_HOURS.get(level or "medium", settings.MSA_REVIEW_HOURS["medium"])
    return timedelta(hours=hours)


def _schedule_review(case: ProtectionCase, now: datetime) -> Review:
    return Review.objects.create(case=case, due_at=now + review_interval(case.risk_level))


@transaction.atomic(durable=True)
def case_activate(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    """The alarm goes live: only with a complete checklist and an open, paired loan."""
    checklist = ActivationChecklist.objects.filter(case=case).first()
    if checklist is None or not checklist.complete:
        raise ValidationError(
            "the activation checklist is not complete", fields={"checklist": "incomplete"}
        )
    now = clock.now()
    locked = transition_apply(CASE_MACHINE, case, T.ACTIVATE, actor=actor, at=now)
    _schedule_review(locked, now)
    _expiry_task(locked, now)
    return locked


EXPIRY_NOTICE = timedelta(days=14)


def _expiry_task(case: ProtectionCase, now: datetime) -> CaseTask | None:
    """Renew or end before the decision runs out: a task due two weeks before the end (the
    worker escalates it when it is overdue). A renewal replaces it."""
    case.tasks.filter(kind=TaskKind.REVIEW, done_at__isnull=True).update(
        done_at=now, done_by="superseded"
    )
    if case.expires_at is None:
        return None
    return CaseTask.objects.create(
        case=case,
        kind=TaskKind.REVIEW,
        urgent=False,
        created_at=now,
        due_at=max(now, case.expires_at - EXPIRY_NOTICE),
    )


# --------------------------------------------------------------------------------------------
# reviews, suspension, end
# --------------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def review_start(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    return transition_apply(CASE_MACHINE, case, T.START_REVIEW, actor=actor)


@transaction.atomic(durable=True)
def review_record(
    *,
    case: ProtectionCase,
    outcome: str,
    actor: Actor,
    notes: str = "",
    risk_level: str = "",
) -> Review:
    """Record the outcome of the due review: continue, adjust (a new risk level) or end."""
    if outcome not in ReviewOutcome.values:
        raise ValidationError("unknown outcome", fields={"outcome": outcome})
    if risk_level and risk_level not in RISK_ORDER:
        raise ValidationError("unknown level", fields={"risk_level": risk_level})
    now = clock.now()
    locked = ProtectionCase.objects.select_for_update().get(pk=case.pk)
    if locked.status == CaseState.ACTIVE:
        locked = transition_apply(CASE_MACHINE, locked, T.START_REVIEW, actor=actor, at=now)
    review = locked.reviews.filter(done_at__isnull=True).order_by("due_at").first()
    if review is None:
        review = Review.objects.create(case=locked, due_at=now)
    review.done_at = now
    review.outcome = outcome
    review.notes = notes
    review.reviewed_by = actor.label
    review.save(update_fields=["done_at", "outcome", "notes", "reviewed_by"])
    if outcome == ReviewOutcome.END:
        from msa.devices.inventory import loans_recall

        ended = transition_apply(
            CASE_MACHINE,
            locked,
            T.END,
            actor=actor,
            at=now,
            reason="review: no longer needed",
            changes={"end_reason": EndReason.REVIEW},
        )
        loans_recall(case=ended, actor=actor, at=now)
        return review
    changes: dict[str, Any] = {}
    if outcome == ReviewOutcome.ADJUST and risk_level:
        changes["risk_level"] = risk_level
    active = transition_apply(
        CASE_MACHINE, locked, T.CONTINUE, actor=actor, at=now, reason=outcome, changes=changes
    )
    _schedule_review(active, now)
    return review


@transaction.atomic(durable=True)
def review_escalate(*, review: Review, actor: Actor) -> bool:
    """An overdue review: tell the zone's supervisors once."""
    try:
        locked = (
            Review.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case__police_zone")
            .get(pk=review.pk)
        )
    except Review.DoesNotExist:
        return False
    now = clock.now()
    if locked.done_at is not None or locked.escalated_at is not None or locked.due_at > now:
        return False
    if locked.case.status not in {CaseState.ACTIVE, CaseState.UNDER_REVIEW}:
        return False
    locked.escalated_at = now
    locked.save(update_fields=["escalated_at"])
    message_enqueue(
        channel=MessageChannel.NOTIFICATION,
        recipient=_alert_recipient(locked.case.police_zone),
        subject=f"Overdue review — case {locked.case.reference}",
        body=f"The review of case {locked.case.reference} was due at {locked.due_at.isoformat()}.",
        actor=actor,
        about=locked.case,
    )
    audit_record(
        actor=actor,
        action="case.review_escalated",
        subject=locked.case,
        new={"review": locked.pk, "due_at": locked.due_at.isoformat()},
        at=now,
    )
    return True


@transaction.atomic(durable=True)
def case_suspend(*, case: ProtectionCase, reason: str, actor: Actor) -> ProtectionCase:
    if not reason.strip():
        raise ValidationError("a suspension needs a reason", fields={"reason": "required"})
    return transition_apply(
        CASE_MACHINE,
        case,
        T.SUSPEND,
        actor=actor,
        reason=reason.strip(),
        changes={"suspended_at": clock.now()},
    )


@transaction.atomic(durable=True)
def case_resume(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    return transition_apply(CASE_MACHINE, case, T.RESUME, actor=actor)


@transaction.atomic(durable=True)
def case_end(*, case: ProtectionCase, reason: str, actor: Actor, note: str = "") -> ProtectionCase:
    """End the case with a reason; devices still lent are recalled."""
    from msa.devices.inventory import loans_recall

    if reason not in {r.value for r in EndReason}:
        raise ValidationError("unknown end reason", fields={"reason": reason})
    was = case.status
    ended = transition_apply(
        CASE_MACHINE,
        case,
        T.END,
        actor=actor,
        reason=note.strip() or reason,
        changes={"end_reason": reason},
    )
    if was in HOLDS_DEVICES:
        loans_recall(case=ended, actor=actor, at=ended.ended_at or clock.now())
    return ended


# --------------------------------------------------------------------------------------------
# care team, referrals, notes
# --------------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def team_member_add(
    *, case: ProtectionCase, organisation: Organisation, role: str, person: str, actor: Actor
) -> CareTeamMember:
    if role not in TeamRole.values:
        raise ValidationError("unknown team role", fields={"role": role})
    if role == TeamRole.REFERENCE_MAGISTRATE and organisation.kind != OrgKind.PROSECUTOR_OFFICE:
        raise ValidationError(
            "a magistrate comes from a prosecutor's office", fields={"role": role}
        )
    if role in {TeamRole.VICTIM_SUPPORT, TeamRole.OFFENDER_COUNSELLING} and (
        organisation.kind != OrgKind.SUPPORT_SERVICE
    ):
        raise ValidationError("support comes from a support service", fields={"role": role})
    try:
        with transaction.atomic():
            member = CareTeamMember.objects.create(
                case=case, organisation=organisation, role=role, person=person, added_at=clock.now()
            )
    except IntegrityError:
        raise ConflictError("already on the team") from None
    audit_record(
        actor=actor,
        action="case.team_add",
        subject=case,
        new={"organisation": organisation.code, "role": role},
    )
    return member


@transaction.atomic(durable=True)
def referral_create(
    *, case: ProtectionCase, who: str, organisation: Organisation, actor: Actor
) -> Referral:
    if organisation.kind != OrgKind.SUPPORT_SERVICE:
        raise ValidationError("refer to a support service", fields={"organisation": "kind"})
    now = clock.now()
    referral = Referral.objects.create(
        case=case, who=who, organisation=organisation, created_at=now, updated_at=now
    )
    audit_record(
        actor=actor,
        action="case.referral",
        subject=case,
        new={"who": who, "organisation": organisation.code},
    )
    return referral


@transaction.atomic(durable=True)
def referral_update(*, referral: Referral, status: str, actor: Actor) -> Referral:
    if status not in ReferralStatus.values:
        raise ValidationError("unknown status", fields={"status": status})
    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    old = locked.status
    locked.status = status
    locked.updated_at = clock.now()
    locked.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="case.referral_status",
        subject=locked.case,
        old={"status": old},
        new={"status": status, "referral": locked.pk},
    )
    return locked


@transaction.atomic(durable=True)
def note_add(
    *,
    case: ProtectionCase,
    kind: str,
    text: str,
    actor: Actor,
    organisation: Organisation | None,
) -> CaseNote:
    if kind not in NoteKind.values:
        raise ValidationError("unknown kind", fields={"kind": kind})
    if not text.strip():
        raise ValidationError("empty note", fields={"text": "required"})
    note = CaseNote.objects.create(
        case=case,
        kind=kind,
        text=text.strip(),
        at=clock.now(),
        author=actor.label,
        author_org=organisation,
    )
    audit_record(actor=actor, action="case.note", subject=case, new={"kind": kind})
    return note


@transaction.atomic
def case_dossier_read(*, case: ProtectionCase, actor: Actor, reason: str, scope: str) -> None:
    """Every read of a dossier is audited, with the reader's reason and what they saw."""
    audit_record(
        actor=actor,
        action="dossier.read",
        subject=case,
        new={"scope": scope},
        reason=reason,
    )


@transaction.atomic(durable=True)
def case_reason_state(*, case: ProtectionCase, actor: Actor, reason: str) -> None:
    """A reader outside the case's owners states why they need the full dossier."""
    if not reason.strip():
        raise ValidationError("state a reason", fields={"reason": "required"})
    audit_record(actor=actor, action="dossier.reason", subject=case, reason=reason.strip())
