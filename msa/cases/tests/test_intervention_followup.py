"""What followed each intervention (issue 17): the suspect's judicial follow-up, the measures
that changed and the victim's later reports, recorded by the case officer, shown on the case
page and counted for the indicators."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

import pytest

from msa.accounts.models import Organisation
from msa.audit.models import AuditEntry
from msa.cases.commands import cmd_outcomes
from msa.cases.models import ProtectionCase
from msa.cases.selectors import judicial_steps_by_kind, reports_after_alarm
from msa.cases.services.followup import (
    JudicialStepInput,
    judicial_step_record,
    later_report_record,
)
from msa.cases.tests import factories as h
from msa.core.errors import ValidationError
from tests.support.factories import press

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _live_case() -> ProtectionCase:
    """A demo case whose alarm went live at T0 (the demo seeds active cases)."""
    case = ProtectionCase.objects.filter(police_zone__code="GNT", status="active").first()
    assert case is not None
    ProtectionCase.objects.filter(pk=case.pk).update(activated_at=T0)
    case.refresh_from_db()
    return case


def test_recorded_on_the_case_page_with_audit(demo: None, clock) -> None:
    clock.freeze(T0 + timedelta(days=20))
    incident = press(at=T0 + timedelta(days=8)).incident
    case = incident.case
    officer = h.client_for("reference")
    url = f"/cases/{case.reference}/followup/"
    # a step follows one of the case's own incidents, never a typed reference
    typed = officer.post(
        url + "judicial/",
        {"kind": "arrested", "on": "2026-03-10", "incident_reference": "GNT-2026-99999"},
        follow=True,
    )
    assert "Not recorded" in typed.content.decode()
    steps = [
        {"kind": "arrested", "on": "2026-03-10", "incident_reference": incident.reference},
        {"kind": "before_judge", "on": "2026-03-11"},
        {"kind": "released_conditions", "on": "2026-03-12", "conditions": "no contact, 500 m"},
        {"kind": "referred", "on": "2026-03-12", "programme": "aggression"},
    ]
    for step in steps:
        assert officer.post(url + "judicial/", step).status_code == 302
    # released under conditions without the conditions: refused with the reason
    refused = officer.post(
        url + "judicial/", {"kind": "released_conditions", "on": "2026-03-12"}, follow=True
    )
    assert "which conditions?" in refused.content.decode()
    officer.post(
        url + "measure/",
        {"kind": "stricter_order", "on": "2026-03-12", "description": "area ban widened"},
    )
    officer.post(url + "report/", {"kind": "order_breach", "reported_on": "2026-03-15"})
    assert case.judicial_steps.count() == 4
    assert (
        AuditEntry.objects.filter(action="case.judicial_step", subject_id=str(case.pk)).count() == 4
    )
    audit = AuditEntry.objects.filter(action="case.judicial_step").order_by("-id").first()
    assert audit is not None
    assert "500 m" not in str(audit.new)

    assert case.judicial_steps.get(kind="arrested").incident_reference == incident.reference
    page = officer.get(f"/cases/{case.reference}/").content.decode()
    assert 'data-kind="released_conditions"' in page
    assert "no contact, 500 m" in page
    assert "aggression therapy" in page
    assert "area ban widened" in page
    assert 'id="later-reports"' in page
    assert 'data-kind="order_breach"' in page
    # the care team's part shows none of it
    counsellor_page = h.client_for("counsellor").get(f"/cases/{case.reference}/")
    assert 'id="followup"' not in counsellor_page.content.decode()
    # nobody but the zone's officer records
    assert h.client_for("magistrate").post(url + "report/", {}).status_code == 404


def test_refused_before_the_case_was_assessed_and_in_the_future(demo: None, clock) -> None:
    clock.freeze(T0)
    ref = h.actor("reference")
    with pytest.raises(ValidationError):
        later_report_record(
            case=h.new_case(), kind="threats", reported_on=date(2026, 3, 1), actor=ref
        )
    with pytest.raises(ValidationError):
        judicial_step_record(
            case=_live_case(),
            step=JudicialStepInput(kind="arrested", on=date(2026, 3, 3)),
            actor=ref,
        )


def test_the_indicators_see_whether_reports_stop_after_the_alarm(demo: None, clock) -> None:
    clock.freeze(T0 + timedelta(days=60))
    case = _live_case()
    ref = h.actor("reference")
    for on in (date(2026, 2, 1), date(2026, 2, 20)):
        later_report_record(case=case, kind="threats", reported_on=on, actor=ref)
    later_report_record(case=case, kind="order_breach", reported_on=date(2026, 4, 1), actor=ref)
    judicial_step_record(
        case=case,
        step=JudicialStepInput(kind="referred", on=date(2026, 4, 2), programme="addiction"),
        actor=ref,
    )
    others = ProtectionCase.objects.filter(
        activated_at__gte=T0, activated_at__lt=T0 + timedelta(days=1)
    )
    result = reports_after_alarm(since=T0, until=T0 + timedelta(days=1))
    assert result.cases == others.count()
    assert result.reports_before == 2
    assert result.reports_after == 1
    assert result.without_reports_after == result.cases - 1
    zone = Organisation.objects.get(code="GNT").pk
    assert (
        reports_after_alarm(since=T0, until=T0 + timedelta(days=1), zones=[zone + 999]).cases == 0
    )
    counts = judicial_steps_by_kind(since=T0, until=T0 + timedelta(days=60))
    assert counts == {"referred": 1, "referred:addiction": 1}


def test_msa_outcomes_prints_the_counts(demo: None, clock, capsys) -> None:
    clock.freeze(T0)
    h.application()
    case = _live_case()
    ref = h.actor("reference")
    later_report_record(case=case, kind="threats", reported_on=T0.date(), actor=ref)
    args = argparse.Namespace(since=T0, until=T0, zone=["GNT"])
    assert cmd_outcomes(args) == 0
    out = capsys.readouterr().out
    assert "VSOVL received 1" in out
    assert "reports before: 0, after: 1" in out
    assert cmd_outcomes(argparse.Namespace(since=T0, until=None, zone=["NOPE"])) == 2
