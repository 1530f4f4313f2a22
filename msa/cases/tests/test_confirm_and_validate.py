"""Forms a user understands, and destructive steps that ask for an explicit choice: ending a
case has no preset reason, asks for a confirmation, and is refused while an incident is open;
dates of birth in the future or 150 years back are refused; risk items start unanswered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from msa.accounts.models import User
from msa.alarms.states import Outcome
from msa.cases.models import ProtectionCase
from msa.cases.states import CaseState
from msa.cases.tests import factories as h
from msa.cases.tests.factories import client_for
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.dispatch.services.console import (
    incident_acknowledge,
    incident_close,
    incident_outcome_record,
)
from tests.support.factories import press

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def test_ending_a_case_asks_reason_and_confirmation_and_waits_for_open_incidents(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    incident = press(1, at=NOW).incident
    case = incident.case
    assert case.status == CaseState.ACTIVE
    officer = client_for("reference")
    url = f"/cases/{case.reference}/step/end/"
    page = officer.get(f"/cases/{case.reference}/").content.decode()
    end_form = page.split('id="end-form"')[1].split("</form>")[0]
    # nothing preset: the reason shows "choose", the confirmation neither yes nor no
    assert end_form.count("selected") == 1
    assert 'value="" selected' in end_form
    assert "checked" not in end_form
    for data in (
        {"confirm": "yes"},  # no reason
        {"reason": "review"},  # no confirmation
        {"reason": "review", "confirm": "no"},  # the officer chose to keep it
    ):
        said = officer.post(url, data, follow=True).content.decode()
        assert "Not ended: choose the reason" in said
        assert ProtectionCase.objects.get(pk=case.pk).status == CaseState.ACTIVE
    # an incident of the case is open: refused, the button keeps working
    refused = officer.post(url, {"reason": "review", "confirm": "yes"}, follow=True)
    assert "an incident of this case is open" in refused.content.decode()
    assert ProtectionCase.objects.get(pk=case.pk).status == CaseState.ACTIVE
    operator = Actor.for_user(User.objects.get(username="operator"))
    incident_acknowledge(incident=incident, actor=operator)
    incident_outcome_record(incident=incident, actor=operator, outcome=Outcome.FALSE_MISPRESS)
    incident_close(incident=incident, actor=operator)
    officer.post(url, {"reason": "review", "confirm": "yes"})
    assert ProtectionCase.objects.get(pk=case.pk).status == CaseState.ENDED


@pytest.mark.parametrize(
    ("birth", "said"),
    [
        ("2026-05-02", "cannot be in the future"),
        ("1876-04-30", "more than 150 years back"),
    ],
)
def test_a_date_of_birth_in_the_future_or_150_years_back_is_refused(
    demo: None, clock: Clock, birth: str, said: str
) -> None:
    clock.freeze(NOW)
    officer = client_for("reference")
    zone = User.objects.get(username="reference").memberships.get().organisation_id
    data = {
        "zone": zone,
        "relation": "ex_partner",
        "victim_first_name": "Sofie",
        "victim_last_name": "Page",
        "suspect_first_name": "Tom",
        "suspect_last_name": "Page",
    }
    before = ProtectionCase.objects.count()
    for field in ("victim_birth_date", "suspect_birth_date"):
        page = officer.post("/cases/new/", {**data, field: birth})
        assert page.status_code == 200
        assert said in page.content.decode()
    assert ProtectionCase.objects.count() == before
    # a plausible date passes, and the long text fields show their counter
    ok = officer.post("/cases/new/", {**data, "victim_birth_date": "1876-05-02"})
    assert ok.status_code == 302
    form = officer.get("/cases/new/").content.decode()
    assert 'data-counter-for="id_victim_health" data-max="2000"' in form
    assert 'maxlength="2000"' in form


def test_risk_items_start_unanswered_and_each_must_be_answered(demo: None) -> None:
    h.instrument()
    case = h.new_case()
    officer = client_for("reference")
    url = f"/cases/{case.reference}/assess/"
    form = officer.get(url).content.decode()
    assert "checked" not in form.split('id="assessment"')[1]
    answers = h.answers(strangulation="yes")
    del answers["recent_separation"]
    page = officer.post(url, answers)
    assert page.status_code == 200
    item = page.content.decode().split('data-item="recent_separation"')[1].split("data-item=")[0]
    assert "Answer this question" in item
    case.refresh_from_db()
    assert case.status != CaseState.ASSESSED
    assert officer.post(url, h.answers(strangulation="yes")).status_code == 302


def _header_and_order(page: str) -> tuple[str, str]:
    header = page.split('id="case-valid-until"')[1].split("</span>", maxsplit=1)[0]
    order = page.split("\u2013 ")[1][:10]  # the order: "valid FROM (en dash) UNTIL"
    return header.rsplit(" ", 1)[1], order


def test_the_case_header_and_its_order_give_the_same_last_valid_day(
    demo: None, clock: Clock
) -> None:
    clock.freeze(NOW)
    h.instrument()
    case = h.approved(h.new_case())
    assert case.order_valid_until is not None
    # the order runs out at the midnight after its last day, in Ghent (not midnight UTC,
    # which is 02:00 of the day after in summer and showed the next day)
    local = case.expires_at.astimezone(ZoneInfo("Europe/Brussels")) if case.expires_at else None
    assert local is not None
    assert (local.date(), local.hour) == (case.order_valid_until + timedelta(days=1), 0)
    page = client_for("reference").get(f"/cases/{case.reference}/").content.decode()
    header, order = _header_and_order(page)
    assert header == order == case.order_valid_until.isoformat()
    # the demo's cases too (their end was set 183 days from seeding, their order 200 days on)
    seeded = ProtectionCase.objects.filter(status=CaseState.ACTIVE).first()
    assert seeded is not None
    assert seeded.order_valid_until is not None
    assert seeded.expires_at is not None
    ends = seeded.expires_at.astimezone(ZoneInfo("Europe/Brussels")).date()
    assert ends == seeded.order_valid_until + timedelta(days=1)
