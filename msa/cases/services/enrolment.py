"""Consent, the activation checklist and the activation of the alarm.

``consent_withdraw`` is the cases half of a withdrawal: the entry point that also recalls the
devices is ``msa.devices.case_end.consent_withdraw_and_recall``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.audit.services import audit_record
from msa.cases.models import (
    ActivationChecklist,
    Consent,
    ProtectionCase,
)
from msa.cases.services.application import applications_case_changed
from msa.cases.services.review import review_schedule
from msa.cases.services.tasks import expiry_task_open
from msa.cases.states import (
    CASE_MACHINE,
    CaseState,
    CaseTransitionName,
    EndReason,
)
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import NotFoundError, ValidationError
from msa.core.transitions import transition_apply

T = CaseTransitionName


@transaction.atomic(durable=True)
def consent_record(
    *, case: ProtectionCase, given_at: datetime, method: str, actor: Actor
) -> Consent:
    now = clock.now()
    if given_at > now + timedelta(minutes=5):
        raise ValidationError(
            gettext_noop("consent cannot be given in the future"), fields={"given_at": "future"}
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


@transaction.atomic
def consent_withdraw(*, case: ProtectionCase, actor: Actor, reason: str = "") -> ProtectionCase:
    """The victim withdraws her consent and the alarm ends: a step in the caller's
    transaction. The entry point, which also recalls the devices, is
    ``msa.devices.case_end.consent_withdraw_and_recall``."""
    now = clock.now()
    consent = case.consents.filter(withdrawn_at__isnull=True).first()
    if consent is None:
        raise NotFoundError(gettext_noop("no consent to withdraw"))
    consent.withdrawn_at = now
    consent.withdrawal_recorded_by = actor.label
    consent.save(update_fields=["withdrawn_at", "withdrawal_recorded_by"])
    ended = transition_apply(
        CASE_MACHINE,
        case,
        T.END,
        actor=actor,
        at=now,
        reason=reason or "consent withdrawn",
        changes={"end_reason": EndReason.CONSENT_WITHDRAWN},
    )
    applications_case_changed(case=ended, actor=actor)
    return ended


CHECK_ITEMS = ("button_paired", "permissions_granted")


@transaction.atomic(durable=True)
def checklist_mark(*, case: ProtectionCase, item: str, actor: Actor) -> ActivationChecklist:
    if item not in CHECK_ITEMS:
        raise ValidationError(gettext_noop("unknown checklist item"), fields={"item": item})
    if case.status != CaseState.ENROLLING:
        raise ValidationError(gettext_noop("the checklist belongs to the enrolment"))
    checklist, _ = ActivationChecklist.objects.select_for_update().get_or_create(case=case)
    if (
        item == "button_paired"
        and not case.loans.filter(returned_at__isnull=True, device__isnull=False).exists()
    ):
        raise ValidationError(
            gettext_noop("pair the phone first (no credentials issued)"),
            fields={"item": "not paired"},
        )
    name = f"{item}_at"
    if getattr(checklist, name) is None:
        setattr(checklist, name, clock.now())
        checklist.save(update_fields=[name])
        audit_record(actor=actor, action=f"case.checklist.{item}", subject=case)
    return checklist


@transaction.atomic(durable=True)
def checklist_confirm_test(
    *, case: ProtectionCase, test_incident_reference: str | None, actor: Actor
) -> ActivationChecklist:
    """Confirm that the centre received a test alarm from this case's paired phone.

    ``test_incident_reference`` is the fact the caller reads from the alarms part: the last
    test alarm of a device this case holds (``msa.alarms.selectors.case_test_alarm_last``),
    or None when none arrived."""
    if not test_incident_reference:
        raise ValidationError(
            gettext_noop("no test alarm from this case's phone has reached the centre yet"),
            fields={"test_alarm": "none received"},
        )
    checklist, _ = ActivationChecklist.objects.select_for_update().get_or_create(case=case)
    checklist.test_incident_reference = test_incident_reference
    checklist.test_confirmed_at = clock.now()
    checklist.confirmed_by = actor.label
    checklist.save(update_fields=["test_incident_reference", "test_confirmed_at", "confirmed_by"])
    audit_record(
        actor=actor,
        action="case.checklist.test_alarm",
        subject=case,
        new={"incident": test_incident_reference},
    )
    return checklist


@transaction.atomic(durable=True)
def case_activate(*, case: ProtectionCase, actor: Actor) -> ProtectionCase:
    """The alarm goes live: only with a complete checklist and an open, paired loan."""
    checklist = ActivationChecklist.objects.filter(case=case).first()
    if checklist is None or not checklist.complete:
        raise ValidationError(
            gettext_noop("the activation checklist is not complete"),
            fields={"checklist": "incomplete"},
        )
    now = clock.now()
    locked = transition_apply(CASE_MACHINE, case, T.ACTIVATE, actor=actor, at=now)
    applications_case_changed(case=locked, actor=actor)
    review_schedule(locked, now)
    expiry_task_open(locked, now)
    return locked
