"""The case's workflow through its services, from the request to the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from msa.accounts.models import Organisation
from msa.audit.models import AuditEntry
from msa.cases.models import CaseTask, ProtectionCase, Review, TaskKind
from msa.cases.selectors import exclusion_zones_for, exclusion_zones_for_case
from msa.cases.services.assessment import assessment_record, case_submit
from msa.cases.services.decision import case_renew, decision_record
from msa.cases.services.enrolment import case_activate
from msa.cases.services.opening import PersonInput, case_open
from msa.cases.states import CaseState
from msa.cases.sweeps import sweep_case_reviews, sweep_case_tasks
from msa.cases.tests import factories as h
from msa.core.errors import ValidationError
from msa.devices.case_end import (
    case_end_and_recall,
    consent_withdraw_and_recall,
    review_record_and_recall,
)
from msa.devices.models import Loan
from msa.messaging.models import MessageChannel, OutboundMessage

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_open_normalises_the_phone_and_gives_a_zone_reference(demo: None, clock) -> None:
    clock.freeze(T0)
    case = h.new_case()
    assert case.reference.startswith("GNT-C-2026-")
    assert case.status == CaseState.REQUESTED
    assert case.victim.phone_number == "+32470000901"
    assert case.victim.phone_lookup
    assert case.transitions.get().to_state == CaseState.REQUESTED


def test_a_bombshell_opens_an_urgent_task_escalated_when_it_runs_out(demo: None, clock) -> None:
    clock.freeze(T0)
    case = h.assessed(h.new_case(), strangulation="yes")
    assert case.status == CaseState.ASSESSED
    assert case.risk_level in {"high", "extreme"}
    task = CaseTask.objects.get(case=case)
    assert task.kind == TaskKind.CONTACT_PROSECUTOR
    assert task.urgent
    assert task.due_at == T0 + timedelta(hours=1)
    assert sweep_case_tasks() == 0
    clock.advance(timedelta(hours=1, seconds=1))
    assert sweep_case_tasks() == 1
    assert sweep_case_tasks() == 0  # once
    message = OutboundMessage.objects.get(channel=MessageChannel.NOTIFICATION)
    assert case.reference in message.subject
    assert AuditEntry.objects.filter(action="case.task_escalated").count() == 1


def test_no_bombshell_no_task_and_low_score_is_low(demo: None) -> None:
    case = h.assessed(h.new_case())
    assert case.risk_level == "low"
    assert not CaseTask.objects.filter(case=case).exists()


def test_override_may_only_raise_and_needs_a_reason(demo: None) -> None:
    case = h.new_case()
    with pytest.raises(ValidationError):
        assessment_record(
            case=case,
            instrument=h.instrument(),
            answers=h.answers(),
            override_level="low",
            override_reason="x",
            actor=h.actor("reference"),
        )
    with pytest.raises(ValidationError):
        assessment_record(
            case=case,
            instrument=h.instrument(),
            answers=h.answers(),
            override_level="high",
            actor=h.actor("reference"),
        )
    assessment = assessment_record(
        case=case,
        instrument=h.instrument(),
        answers=h.answers(),
        override_level="extreme",
        override_reason="she was strangled last night, not yet in the records",
        actor=h.actor("reference"),
    )
    assert assessment.computed_level == "low"
    assert assessment.level == "extreme"


def test_approval_registers_the_suspect_and_awaits_consent(demo: None) -> None:
    case = h.approved(h.new_case())
    assert case.status == CaseState.AWAITING_CONSENT
    notice = OutboundMessage.objects.get(channel=MessageChannel.NATIONAL_DB)
    assert "PKGNT-2026-TEST" in notice.body
    assert "Suspect1" in notice.body.title()
    assert case.registrations.get().message_id == notice.pk
    zones = exclusion_zones_for_case(case)
    assert zones[0] == {
        "label": "home",
        "shape": "circle",
        "lat": 51.04,
        "lon": 3.72,
        "radius_m": 200,
    }
    assert zones[1]["shape"] == "polygon"
    assert len(zones[1]["rings"][0]) == 3
    assert case.expires_at is not None


def test_activation_needs_the_whole_checklist(demo: None) -> None:
    case, _device = h.equipped(h.new_case())
    with pytest.raises(ValidationError):
        case_activate(case=case, actor=h.actor("reference"))
    case = h.active(h.new_case(number=2), number=2)
    assert case.status == CaseState.ACTIVE
    assert case.activated_at is not None
    review = Review.objects.get(case=case)
    assert review.due_at - case.activated_at == timedelta(
        hours=72 if case.risk_level == "extreme" else 168
    )


def test_overdue_review_is_escalated_and_review_outcomes(demo: None, clock) -> None:
    clock.freeze(T0)
    case = h.active(h.new_case())
    clock.advance(timedelta(days=8))
    assert sweep_case_reviews() == 1
    assert sweep_case_reviews() == 0
    review_record_and_recall(
        case=case, outcome="adjust", risk_level="medium", actor=h.actor("reference")
    )
    case.refresh_from_db()
    assert case.status == CaseState.ACTIVE
    assert case.risk_level == "medium"
    nxt = Review.objects.filter(case=case, done_at__isnull=True).get()
    assert nxt.due_at == clock.now() + timedelta(days=30)
    review_record_and_recall(case=case, outcome="end", actor=h.actor("reference"))
    case.refresh_from_db()
    assert case.status == CaseState.ENDED
    assert case.end_reason == "review"
    assert Loan.objects.filter(case=case, recall_requested_at__isnull=False).count() == 3


def test_consent_withdrawal_ends_and_recalls(demo: None) -> None:
    case = h.active(h.new_case())
    consent_withdraw_and_recall(case=case, actor=h.actor("reference"))
    case.refresh_from_db()
    assert case.status == CaseState.ENDED
    assert case.end_reason == "consent_withdrawn"
    assert Loan.objects.filter(case=case, recall_requested_at__isnull=True).count() == 0


def test_refused_case_ends(demo: None) -> None:
    case = h.assessed(h.new_case())
    case_submit(case=case, actor=h.actor("reference"))
    decision_record(case=case, approve=False, reference="PK-REF-1", actor=h.actor("magistrate"))
    case.refresh_from_db()
    assert case.status == CaseState.REFUSED
    case_end_and_recall(case=case, reason="refused", actor=h.actor("reference"))
    case.refresh_from_db()
    assert case.status == CaseState.ENDED


def test_demo_cases_are_full_dossiers(demo: None) -> None:
    for case in ProtectionCase.objects.all():
        assert case.assessments.exists()
        assert case.decisions.exists()
        assert case.consents.exists()
        assert case.checklist.complete
        assert Loan.objects.filter(case=case, returned_at__isnull=True).count() == 3
        assert exclusion_zones_for_case(case)[0]["radius_m"] == 200


def test_one_victim_protected_against_two_suspects_has_two_cases(demo: None) -> None:
    first = h.new_case()
    second = case_open(
        zone=Organisation.objects.get(code="GNT"),
        victim=first.victim,
        suspect=PersonInput(first_name="Brother", last_name="Two"),
        relation="family",
        actor=h.actor("reference"),
    )
    assert second.victim_id == first.victim_id
    assert first.victim.cases.count() == 2
    assert second.reference != first.reference


def test_the_console_hook_gives_objects(demo: None) -> None:
    case = h.approved(h.new_case())
    circle, polygon = exclusion_zones_for(case)
    assert (circle.label, circle.lat, circle.lon, circle.radius_m) == ("home", 51.04, 3.72, 200)
    assert polygon.polygon == [[51.05, 3.70], [51.06, 3.70], [51.06, 3.71]]
    assert polygon.radius_m is None


def test_the_end_of_the_decision_is_a_task_and_an_ended_case_escalates_nothing(
    demo: None, clock
) -> None:
    clock.freeze(T0)
    case = h.active(h.new_case())  # its bombshell task is still open
    expiry = CaseTask.objects.get(case=case, kind=TaskKind.REVIEW, done_at__isnull=True)
    assert case.expires_at is not None
    assert expiry.due_at == case.expires_at - timedelta(days=14)
    clock.advance(timedelta(days=175))
    case_renew(case=case, reference="R-9", valid_until=None, actor=h.actor("magistrate"))
    expiry.refresh_from_db()
    assert expiry.done_by == "superseded"
    assert (
        CaseTask.objects.filter(case=case, kind=TaskKind.REVIEW, done_at__isnull=True).count() == 1
    )
    case_end_and_recall(case=case, reason="other", actor=h.actor("reference"))
    clock.advance(timedelta(days=400))
    assert sweep_case_tasks() == 0
