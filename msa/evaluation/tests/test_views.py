"""The evaluation pages: what each reader sees and may do, names never on the working group's
pages, every page audited, and another office's magistrate finds no bundle."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from msa.accounts.models import Membership, Organisation, OrgKind, Role, User
from msa.alarms.models import Incident
from msa.alarms.states import Outcome
from msa.audit.models import AuditEntry
from msa.cases.models import ProtectionCase
from msa.core.clock import Clock
from msa.evaluation.evidence import bundle_verify, signing_key
from msa.evaluation.models import IncidentReview, VictimSurvey
from msa.evaluation.sweeps import sweep_incident_reviews
from msa.evaluation.tests.factories import closed_incident

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def client(username: str) -> Client:
    c = Client()
    c.force_login(User.objects.get(username=username))
    return c


def _reviewed(clock: Clock) -> IncidentReview:
    clock.freeze(NOW)
    closed_incident(victim=1, outcome=Outcome.ARRESTED_ON_SCENE)
    assert sweep_incident_reviews() == 1
    return IncidentReview.objects.select_related("incident__case__victim").get()


@pytest.mark.django_db
def test_the_working_group_pages_show_no_names_and_only_supervisors_record(
    demo: None, clock: Clock
) -> None:
    review = _reviewed(clock)
    ref = review.incident.reference
    victim = review.incident.case.victim
    for role in ("supervisor", "analyst"):
        for url in ("/evaluation/reviews/", f"/evaluation/reviews/{ref}/"):
            page = client(role).get(url)
            assert page.status_code == 200, (role, url)
            text = page.content.decode()
            assert ref in text
            assert victim.last_name not in text, (role, url)
            assert victim.first_name not in text, (role, url)
            assert "V-" in text
    assert AuditEntry.objects.filter(action="incident_review.read").count() == 4
    review_url = f"/evaluation/reviews/{ref}/"
    assert "findings-form" not in client("analyst").get(review_url).content.decode()
    post = {"issues": ["fallback_sms"], "findings": "SMS 40 s late"}
    assert client("analyst").post(f"{review_url}findings/", post).status_code == 404
    assert client("supervisor").post(f"{review_url}findings/", post).status_code == 302
    review.refresh_from_db()
    assert review.issues == ["fallback_sms"]
    # free text may name people: the supervisor reads it, the analyst does not
    assert "SMS 40 s late" in client("supervisor").get(review_url).content.decode()
    assert "SMS 40 s late" not in client("analyst").get(review_url).content.decode()
    due = (NOW + timedelta(days=7)).date().isoformat()
    owner = User.objects.get(username="operator").pk
    added = client("supervisor").post(
        f"/evaluation/reviews/{ref}/actions/",
        {"description": "Ask the gateway", "owner": owner, "due_on": due},
    )
    assert added.status_code == 302
    assert review.actions.get().owner.username == "operator"
    assert client("supervisor").post(f"/evaluation/reviews/{ref}/step/conclude/").status_code == 302
    review.refresh_from_db()
    assert review.status == "concluded"


@pytest.mark.django_db
def test_the_case_officer_records_a_due_survey(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    case = ProtectionCase.objects.filter(is_probe=False, status="active").order_by("pk").first()
    assert case is not None
    ProtectionCase.objects.filter(pk=case.pk).update(consented_at=NOW - timedelta(days=2))
    case.refresh_from_db()
    # the case page's panel (one include in cases/detail.html) says it is due
    request = RequestFactory().get("/")
    request.user = User.objects.get(username="reference")
    panel = render_to_string("evaluation/_case_panel.html", {"case": case, "request": request})
    assert 'id="survey-link"' in panel
    request.user = User.objects.get(username="analyst")
    assert "case-surveys" not in render_to_string(
        "evaluation/_case_panel.html", {"case": case, "request": request}
    )
    url = f"/evaluation/cases/{case.reference}/survey/"
    assert client("reference").get(url).status_code == 200
    assert client("magistrate").get(url).status_code == 404
    answers = {
        "wave": "enrolment",
        "answered_at": (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "safety_now": "4",
        "compared": "safer",
        "help_confidence": "yes",
    }
    assert client("reference").post(url, answers).status_code == 302
    survey = VictimSurvey.objects.get(case=case)
    assert (survey.wave, survey.compared, survey.recorded_by) == ("enrolment", "safer", "reference")


@pytest.mark.django_db
def test_the_magistrate_downloads_a_bundle_another_office_s_magistrate_gets_404(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    incident = closed_incident(victim=1)
    url = f"/evaluation/evidence/{incident.reference}/"
    office = Organisation.objects.create(
        kind=OrgKind.PROSECUTOR_OFFICE, name="Parket Elders", code="PKELS"
    )
    stranger = User.objects.create_user(username="magistrate-elders")
    Membership.objects.create(user=stranger, organisation=office, role=Role.MAGISTRATE)
    other = Client()
    other.force_login(stranger)
    assert other.get(url).status_code == 404
    assert other.post(url, {"reason": "curious"}).status_code == 404
    assert client("magistrate").get(url).status_code == 200
    refused = client("magistrate").post(url, {"reason": ""})
    assert refused.status_code == 200
    assert not AuditEntry.objects.filter(action="evidence.export")
    got = client("magistrate").post(url, {"reason": "Hearing of 5 May"})
    assert got.status_code == 200
    assert got["Content-Type"] == "application/zip"
    assert f"evidence-{incident.reference}.zip" in got["Content-Disposition"]
    assert bundle_verify(got.content, signing_key().public_key()) == []
    assert zipfile.ZipFile(io.BytesIO(got.content)).read("report.pdf").startswith(b"%PDF")
    entry = AuditEntry.objects.get(action="evidence.export")
    assert (entry.reason, entry.actor_label) == ("Hearing of 5 May", "magistrate")
    assert Incident.objects.get(pk=incident.pk).reference == incident.reference
