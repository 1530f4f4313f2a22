"""Follow-up of a live case: renewal, suspension, the care team, referrals, notes, and the
national-database notice delivered through the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from msa.accounts.models import Organisation
from msa.cases.models import DecisionOutcome
from msa.cases.services.decision import case_renew
from msa.cases.services.review import case_resume, case_suspend
from msa.cases.services.team import note_add, referral_create, referral_update, team_member_add
from msa.cases.states import CaseState, ReferralTransitionName
from msa.cases.tests import factories as h
from msa.cases.tests.factories import client_for
from msa.core.errors import ConflictError, TransitionNotAllowedError, ValidationError
from msa.messaging.models import MessageChannel, MessageStatus, OutboundMessage
from msa.messaging.providers import FakeProvider
from msa.messaging.services import message_deliver_due

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_renewal_extends_within_the_maximum_and_keeps_the_zones(demo: None, clock) -> None:
    clock.freeze(T0)
    case = h.active(h.new_case())
    magistrate = h.actor("magistrate")
    with pytest.raises(ValidationError):
        case_renew(case=case, reference="R-1", valid_until=date(2027, 3, 2), actor=magistrate)
    clock.advance(timedelta(days=170))
    decision = case_renew(case=case, reference="R-1", valid_until=None, actor=magistrate)
    case.refresh_from_db()
    assert decision.outcome == DecisionOutcome.RENEWED
    assert decision.zones.count() == 2
    assert case.order_valid_until == (T0 + timedelta(days=170 + 183)).date()
    assert case.registrations.filter(kind="renew").exists()


def test_suspend_and_resume(demo: None) -> None:
    case = h.active(h.new_case())
    ref = h.actor("reference")
    with pytest.raises(ValidationError):
        case_suspend(case=case, reason=" ", actor=ref)
    case_suspend(case=case, reason="victim abroad for a month", actor=ref)
    case.refresh_from_db()
    assert case.status == CaseState.SUSPENDED
    assert case.suspended_at is not None
    with pytest.raises(TransitionNotAllowedError):
        case_suspend(case=case, reason="again", actor=ref)
    case_resume(case=case, actor=ref)
    case.refresh_from_db()
    assert case.status == CaseState.ACTIVE


def test_team_referrals_and_notes(demo: None) -> None:
    case = h.new_case()
    ref = h.actor("reference")
    support = Organisation.objects.get(code="VSOVL")
    office = Organisation.objects.get(code="PKGNT")
    with pytest.raises(ValidationError):
        team_member_add(case=case, organisation=office, role="victim_support", person="", actor=ref)
    team_member_add(
        case=case, organisation=office, role="reference_magistrate", person="", actor=ref
    )
    team_member_add(case=case, organisation=support, role="victim_support", person="An", actor=ref)
    with pytest.raises(ConflictError):
        team_member_add(
            case=case, organisation=support, role="victim_support", person="", actor=ref
        )
    referral = referral_create(case=case, who="offender", organisation=support, actor=ref)
    referral_update(referral=referral, transition=ReferralTransitionName.ACCEPT, actor=ref)
    referral.refresh_from_db()
    assert referral.status == "accepted"
    note = note_add(case=case, kind="meeting", text="team met", actor=ref, organisation=None)
    assert note.text == "team met"

    # The counsellor, now on the team: sees the victim and the team, not the suspect; may
    # add a note and update her service's referral.
    counsellor = client_for("counsellor")
    page = counsellor.get(f"/cases/{case.reference}/")
    assert page.status_code == 200
    assert case.victim.full_name.encode() in page.content
    assert case.suspect.full_name.encode() not in page.content
    assert b"restraining-order" not in page.content
    counsellor.post(f"/cases/{case.reference}/note/", {"kind": "note", "text": "first talk held"})
    assert case.notes.filter(author="counsellor").exists()
    counsellor.post(f"/cases/{case.reference}/referrals/{referral.pk}/", {"transition": "start"})
    referral.refresh_from_db()
    assert referral.status == "in_progress"
    # ... but cannot take the officer's steps
    assert counsellor.post(f"/cases/{case.reference}/step/submit/").status_code == 404


def test_the_national_notice_is_delivered_by_the_fake_provider(demo: None) -> None:
    FakeProvider.sent.clear()
    case = h.approved(h.new_case())
    message_deliver_due()
    notice = OutboundMessage.objects.get(channel=MessageChannel.NATIONAL_DB)
    assert notice.status == MessageStatus.SENT
    sent = [m for m in FakeProvider.sent if m.channel == MessageChannel.NATIONAL_DB]
    assert len(sent) == 1
    assert case.reference in sent[0].subject
    assert "arrest for breach of the restraining order" in sent[0].body
