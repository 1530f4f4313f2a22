"""Applications from support services (issue 17): submitted by a counsellor, a case in
``requested`` with the officers' task; accepted, merged or declined by the zone's officer;
the applicant told through the outbox and shown only her application's state; another
service's counsellor sees nothing of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client

from msa.accounts.models import Membership, Organisation, OrgKind, User
from msa.audit.models import AuditEntry
from msa.cases.models import CaseApplication, CaseTask, TaskKind
from msa.cases.selectors import applications_by_outcome, cases_visible_to
from msa.cases.services.application import (
    NO_AGREEMENT,
    ApplicationInput,
    applicant_recipient,
    applicant_view,
    application_accept,
    application_decline,
    application_merge,
    application_submit,
)
from msa.cases.services.opening import PersonInput
from msa.cases.states import ApplicantView, ApplicationState, CaseState
from msa.cases.sweeps import sweep_case_tasks
from msa.cases.tests import factories as h
from msa.core.errors import ConflictError, ValidationError
from msa.messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _about(application: CaseApplication) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(about_id=str(application.pk)).order_by("id"))


def _told(application: CaseApplication) -> list[OutboundMessage]:
    """The messages to the applicant about ``application`` (not the officers' alert; the
    recipient is encrypted at rest, so it is compared here)."""
    applicant = applicant_recipient(application.applicant, application.source_org)
    return [m for m in _about(application) if m.recipient == applicant]


def _other_counsellor() -> User:
    service = Organisation.objects.create(
        kind=OrgKind.SUPPORT_SERVICE, name="CAW Elders", code="CAWEL"
    )
    user = User.objects.create_user(username="counsellor-other")
    Membership.objects.create(user=user, organisation=service, role="counsellor")
    return user


def test_without_her_agreement_nothing_is_sent(demo: None) -> None:
    user = User.objects.get(username="counsellor")
    cases_before = cases_visible_to(User.objects.get(username="reference")).count()
    with pytest.raises(ValidationError) as refused:
        application_submit(
            organisation=Organisation.objects.get(code="VSOVL"),
            zone=Organisation.objects.get(code="GNT"),
            data=ApplicationInput(
                victim=PersonInput(first_name="Sara", last_name="Refused"),
                suspect=PersonInput(first_name="Tom", last_name="Refused"),
                relation="ex_partner",
                org_level="high",
                urgency_notes="threats",
                victim_agrees=False,
            ),
            applicant=user,
        )
    assert refused.value.message == NO_AGREEMENT
    assert CaseApplication.objects.count() == 0
    assert cases_visible_to(User.objects.get(username="reference")).count() == cases_before
    # and the form says so in plain words
    client = h.client_for("counsellor")
    page = client.post(
        "/cases/applications/new/",
        {"victim_first_name": "Sara", "victim_last_name": "Refused", "urgency_notes": "x"},
    )
    assert page.status_code == 200
    assert "Without her agreement nothing can be sent to the police" in page.content.decode()


def test_submitted_lands_in_the_zone_queue_with_a_deadline_by_urgency(demo: None, clock) -> None:
    clock.freeze(T0)
    urgent = h.application(number=1, org_level="medium", items=("strangulation",))
    calm = h.application(number=2, org_level="medium", items=("following",))
    for application, due, is_urgent in (
        (urgent, timedelta(hours=1), True),
        (calm, timedelta(hours=72), False),
    ):
        case = application.case
        assert case.status == CaseState.REQUESTED
        assert application.status == ApplicationState.RECEIVED
        task = CaseTask.objects.get(case=case, kind=TaskKind.APPLICATION)
        assert (task.urgent, task.due_at) == (is_urgent, T0 + due)
        assert application.transitions.get().to_state == "received"
    # encrypted at rest, like the victim's fields
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT safe_number, urgency_notes FROM cases_caseapplication WHERE id = %s",
            [urgent.pk],
        )
        raw = cursor.fetchone()
    assert all(str(v).startswith("enc1:") for v in raw)
    assert urgent.safe_number == "+32470112231"
    # the reference officer sees the case and its task; the task is escalated like any other
    officer = User.objects.get(username="reference")
    assert cases_visible_to(officer).filter(pk=urgent.case_id).exists()
    clock.advance(timedelta(hours=2))
    assert sweep_case_tasks() >= 1
    assert CaseTask.objects.get(case=urgent.case, kind=TaskKind.APPLICATION).escalated_at
    # audit names references and keys only
    entry = AuditEntry.objects.get(action="application.submit", subject_id=str(urgent.pk))
    assert "Sara" not in str(entry.new)
    assert entry.new["items"] == ["strangulation"]


def test_the_zone_officers_are_told_in_their_language_without_her_data(demo: None, clock) -> None:
    clock.freeze(T0)
    zone = Organisation.objects.get(code="GNT")
    User.objects.filter(username="reference").update(email="reference@gnt.example")
    dutch = User.objects.create_user(
        username="reference-nl", email="referentie@gnt.example", language="nl"
    )
    Membership.objects.create(user=dutch, organisation=zone, role="reference_officer")
    officers = User.objects.filter(
        memberships__organisation=zone, memberships__role="reference_officer", is_active=True
    ).exclude(email="")
    urgent = h.application(number=1, org_level="medium", items=("strangulation",))
    calm = h.application(number=2, org_level="medium", items=("following",))
    for application, due in ((urgent, T0 + timedelta(hours=1)), (calm, T0 + timedelta(hours=72))):
        applicant = applicant_recipient(application.applicant, application.source_org)
        alerts = [m for m in _about(application) if m.recipient != applicant]
        assert sorted(m.recipient for m in alerts) == sorted(
            set(officers.values_list("email", flat=True))
        )
        for message in alerts:
            text = f"{message.subject} {message.body}"
            assert application.reference in message.subject
            assert due.isoformat(timespec="minutes") in message.body
            assert ("urgent" in text.lower() or "dringend" in text.lower()) == application.urgent
            # the reference, the urgency and the deadline: nothing of the victim or the suspect
            for private in ("Sara", "Applied", "Tom", "0470", "+32", "choked", "evenings"):
                assert private not in text
        (nl,) = (m for m in alerts if m.recipient == dutch.email)
        assert nl.subject.startswith(("Aanvraag", "Dringend: Aanvraag"))
        assert "beslissen over de aanvraag van een hulpdienst" in nl.body.lower()


def test_accepted_goes_on_to_the_assessment_and_the_service_joins_the_team(demo: None) -> None:
    application = h.application()
    case = application.case
    with pytest.raises(ValidationError, match="application first"):
        h.assessed(case)
    accepted = application_accept(application=application, actor=h.actor("reference"))
    assert accepted.status == ApplicationState.ACCEPTED
    assert accepted.decided_at
    assert not case.tasks.filter(kind=TaskKind.APPLICATION, done_at__isnull=True).exists()
    assert case.team.filter(organisation__code="VSOVL", role="victim_support").exists()
    (message,) = _told(application)
    assert "accepted" in message.subject
    assert "Sara" not in message.body
    with pytest.raises(ConflictError):
        application_accept(application=application, actor=h.actor("reference"))
    # the bombshell rule as for any case
    assessed = h.assessed(case, strangulation="yes")
    assert assessed.status == CaseState.ASSESSED
    assert assessed.tasks.filter(kind=TaskKind.CONTACT_PROSECUTOR, urgent=True).exists()
    # the applicant: accepted, then the team's part of the case (no suspect, no assessment)
    counsellor = h.client_for("counsellor")
    page = counsellor.get(f"/cases/{case.reference}/").content.decode()
    assert "Applied1" in page
    assert 'id="suspect-name"' not in page
    assert "Bombshells" not in page
    listing = counsellor.get("/cases/applications/").content.decode()
    assert f'data-reference="{application.reference}" data-view="accepted"' in listing


def test_merged_into_her_existing_case(demo: None) -> None:
    existing = h.new_case()
    application = h.application()
    with pytest.raises(ValidationError):
        application_merge(
            application=application, into=application.case, actor=h.actor("reference")
        )
    merged = application_merge(application=application, into=existing, actor=h.actor("reference"))
    assert merged.status == ApplicationState.MERGED
    assert merged.merged_into == existing
    merged.case.refresh_from_db()
    assert merged.case.status == CaseState.ENDED
    assert existing.team.filter(organisation__code="VSOVL").exists()
    assert applicant_view(merged) == ApplicantView.ACCEPTED
    # the officer sees the application's urgency on the existing case
    page = h.client_for("reference").get(f"/cases/{existing.reference}/").content.decode()
    assert application.reference in page
    assert "+32470112231" in page


def test_declined_with_a_reason_the_applicant_sees(demo: None) -> None:
    application = h.application()
    ref = h.actor("reference")
    with pytest.raises(ValidationError):
        application_decline(application=application, reason="", actor=ref)
    with pytest.raises(ValidationError):
        application_decline(application=application, reason="other", note=" ", actor=ref)
    declined = application_decline(
        application=application, reason="other_measure", note="A shelter place today.", actor=ref
    )
    assert declined.status == ApplicationState.DECLINED
    declined.case.refresh_from_db()
    assert declined.case.status == CaseState.ENDED
    audit = AuditEntry.objects.get(action="application.decline")
    assert "shelter" not in str(audit.new) + audit.reason
    page = h.client_for("counsellor").get(f"/cases/applications/{application.reference}/")
    text = page.content.decode()
    assert 'data-view="declined"' in text
    read = AuditEntry.objects.filter(action="application.read").get()
    assert (read.actor_label, read.new) == ("counsellor", {"scope": "applicant"})
    assert "another measure protects her better" in text
    assert "A shelter place today." in text
    (told,) = _told(application)
    assert "declined" in told.body
    assert "another measure protects her better" in told.body
    assert "shelter" not in told.body


def test_a_counsellor_of_another_service_sees_nothing_of_it(demo: None) -> None:
    application = h.application()
    application_accept(application=application, actor=h.actor("reference"))
    other = _other_counsellor()
    client = Client()
    client.force_login(other)
    assert client.get(f"/cases/applications/{application.reference}/").status_code == 404
    assert application.reference not in client.get("/cases/applications/").content.decode()
    assert client.get(f"/cases/{application.case.reference}/").status_code == 404
    assert (
        client.post(
            f"/cases/applications/{application.reference}/decide/", {"action": "decline"}
        ).status_code
        == 404
    )
    assert not cases_visible_to(other).exists()


def test_applications_by_outcome_for_the_indicators(demo: None, clock) -> None:
    clock.freeze(T0)
    a1 = h.application(number=1)
    a2 = h.application(number=2)
    h.application(number=3)
    application_accept(application=a1, actor=h.actor("reference"))
    application_decline(application=a2, reason="not_eligible", actor=h.actor("reference"))
    rows = applications_by_outcome(since=T0, until=T0 + timedelta(days=1))
    got = {(r.source_code, r.outcome): r.count for r in rows}
    assert got == {("VSOVL", "accepted"): 1, ("VSOVL", "declined"): 1, ("VSOVL", "received"): 1}
    gnt = Organisation.objects.get(code="GNT").pk
    assert applications_by_outcome(since=T0, until=T0 + timedelta(days=1), zones=[gnt + 999]) == []
    assert applications_by_outcome(since=T0 + timedelta(days=1), until=T0 + timedelta(days=2)) == []


def test_the_officer_merges_on_the_page_and_the_applicant_hears_when_it_goes_live(
    demo: None,
) -> None:
    existing = h.new_case()
    application = h.application()
    officer = h.client_for("reference")
    url = f"/cases/applications/{application.reference}/decide/"
    assert officer.post(url, {"action": "merge", "into": "GNT-C-1999-99999"}).status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationState.RECEIVED  # no such case: nothing changed
    answer = officer.post(url, {"action": "merge", "into": existing.reference})
    assert answer["Location"] == f"/cases/{existing.reference}/"
    application.refresh_from_db()
    assert application.merged_into == existing
    # the existing case goes live: the applicant is told, and sees it active
    h.active(existing)
    told = _told(application)
    assert [m.subject.split(": ")[-1] for m in told] == ["accepted by the police", "alarm active"]
    listing = h.client_for("counsellor").get("/cases/applications/").content.decode()
    assert f'data-reference="{application.reference}" data-view="active"' in listing
