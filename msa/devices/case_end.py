"""Ending a case that holds devices: the case ends and its lent devices are recalled, in one
transaction.

The workflow changes two aggregates (the case, in ``cases``; its loans, here), so its durable
entry points live in ``devices``, above ``cases``, and call the cases half as a step:

- ``case_end_and_recall`` — ``msa.cases.services.review.case_end``, then ``loans_recall``
  when the case held devices;
- ``consent_withdraw_and_recall`` — ``msa.cases.services.enrolment.consent_withdraw``, then
  ``loans_recall``;
- ``review_record_and_recall`` — ``msa.cases.services.review.review_record``, then
  ``loans_recall`` when the review ended the case.

Views, the CLI and tests call these; the cases halves are never entry points of their own.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_noop

from msa.cases.models import ProtectionCase, Review, ReviewOutcome
from msa.cases.services.enrolment import consent_withdraw
from msa.cases.services.review import case_end, review_record
from msa.cases.states import HOLDS_DEVICES
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConflictError
from msa.devices.inventory import loans_recall


@transaction.atomic(durable=True)
def case_end_and_recall(
    *,
    case: ProtectionCase,
    reason: str,
    actor: Actor,
    note: str = "",
    open_incident: bool = False,
) -> ProtectionCase:
    """End the case with a reason; devices still lent are recalled. Refused while an incident
    of the case is open (``open_incident``, the caller asks ``alarms``): her button must keep
    working until the centre has closed it."""
    if open_incident:
        raise ConflictError(
            gettext_noop("an incident of this case is open: the centre closes it first")
        )
    was = case.status
    ended = case_end(case=case, reason=reason, actor=actor, note=note)
    if was in HOLDS_DEVICES:
        loans_recall(case=ended, actor=actor, at=ended.ended_at or clock.now())
    return ended


@transaction.atomic(durable=True)
def consent_withdraw_and_recall(
    *, case: ProtectionCase, actor: Actor, reason: str = ""
) -> ProtectionCase:
    """The victim withdraws her consent: the alarm ends and the devices are recalled."""
    ended = consent_withdraw(case=case, actor=actor, reason=reason)
    loans_recall(case=ended, actor=actor, at=ended.ended_at or clock.now())
    return ended


@transaction.atomic(durable=True)
def review_record_and_recall(
    *,
    case: ProtectionCase,
    outcome: str,
    actor: Actor,
    notes: str = "",
    risk_level: str = "",
) -> Review:
    """Record the due review; when it ends the case, the devices are recalled."""
    review = review_record(
        case=case, outcome=outcome, actor=actor, notes=notes, risk_level=risk_level
    )
    if review.outcome == ReviewOutcome.END:
        loans_recall(case=review.case, actor=actor, at=review.done_at or clock.now())
    return review
