"""The victim's sense-of-safety survey: recorded once per wave, due on the case's schedule,
and the share of victims feeling safer counted by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from msa.accounts.models import User
from msa.cases.models import ProtectionCase
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.core.errors import ConflictError, ValidationError
from msa.evaluation.models import VictimSurvey
from msa.evaluation.selectors import case_survey_slots, survey_safety_share
from msa.evaluation.services import survey_record

NOW = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)


def answer(case: ProtectionCase, wave: str, at: datetime, compared: str) -> VictimSurvey:
    return VictimSurvey.objects.create(
        case=case,
        wave=wave,
        answered_at=at,
        safety_now=4,
        compared=compared,
        help_confidence="yes",
        recorded_at=at,
        recorded_by="reference",
    )


@pytest.mark.django_db
def test_the_share_of_victims_feeling_safer_by_hand(demo: None) -> None:
    cases = list(ProtectionCase.objects.filter(is_probe=False).order_by("pk")[:4])
    a, b, c, d = cases
    may = datetime(2026, 5, 10, 10, 0, tzinfo=UTC)
    # a: safer at enrolment, the same at 3 months (latest in May: the same) -> answered, not safer
    answer(a, "enrolment", may, "safer")
    answer(a, "month_3", may + timedelta(days=5), "same")
    # b: safer -> safer
    answer(b, "enrolment", may, "safer")
    # c: safer, but on 1 June in Brussels (31 May 22:30 UTC): outside May
    answer(c, "enrolment", datetime(2026, 5, 31, 22, 30, tzinfo=UTC), "safer")
    # d: less safe in April, outside the period
    answer(d, "enrolment", datetime(2026, 4, 20, tzinfo=UTC), "less_safe")
    assert survey_safety_share(start=date(2026, 5, 1), end=date(2026, 5, 31), zone_ids=None) == (
        1,
        2,
    )
    # June: c only
    assert survey_safety_share(start=date(2026, 6, 1), end=date(2026, 6, 30), zone_ids=None) == (
        1,
        1,
    )
    # the whole spring: a (latest: same), b, c (safer), d (less safe) -> 2 of 4
    assert survey_safety_share(start=date(2026, 4, 1), end=date(2026, 6, 30), zone_ids=None) == (
        2,
        4,
    )
    # by zone: only b's zone
    zone = b.police_zone_id
    expected_in_zone = {x.victim_id for x in (a, b) if x.police_zone_id == zone}
    safer, answered = survey_safety_share(
        start=date(2026, 5, 1), end=date(2026, 5, 31), zone_ids=[zone]
    )
    assert answered == len(expected_in_zone)
    assert safer == 1
    assert survey_safety_share(start=date(2026, 5, 1), end=date(2026, 5, 31), zone_ids=[]) == (0, 0)
    assert survey_safety_share(start=date(2026, 5, 31), end=date(2026, 5, 1), zone_ids=None) == (
        0,
        0,
    )


@pytest.mark.django_db
def test_the_officer_records_each_wave_once_and_the_due_ones_show(demo: None, clock: Clock) -> None:
    clock.freeze(NOW)
    case = ProtectionCase.objects.filter(is_probe=False, status="active").order_by("pk").first()
    assert case is not None
    assert case.activated_at is not None
    ProtectionCase.objects.filter(pk=case.pk).update(
        consented_at=NOW - timedelta(days=100), activated_at=NOW - timedelta(days=99)
    )
    case.refresh_from_db()
    slots = {s.wave: s for s in case_survey_slots(case, NOW.date())}
    assert slots["enrolment"].due
    assert slots["month_3"].due
    assert not slots["month_6"].due
    assert slots["month_6"].due_on is not None
    assert slots["month_6"].due_on > NOW.date()
    officer = Actor.for_user(User.objects.get(username="reference"))
    with pytest.raises(ValidationError):
        survey_record(
            case=case,
            actor=officer,
            wave="enrolment",
            answered_at=NOW + timedelta(hours=1),
            safety_now=6,
            compared="safer",
            help_confidence="yes",
        )
    survey_record(
        case=case,
        actor=officer,
        wave="enrolment",
        answered_at=NOW - timedelta(hours=1),
        safety_now=4,
        compared="safer",
        help_confidence="partly",
        comment="She sleeps better.",
    )
    with pytest.raises(ConflictError):
        survey_record(
            case=case,
            actor=officer,
            wave="enrolment",
            answered_at=NOW,
            safety_now=4,
            compared="same",
            help_confidence="yes",
        )
    slots = {s.wave: s for s in case_survey_slots(case, NOW.date())}
    assert not slots["enrolment"].due
    assert slots["enrolment"].survey is not None
    assert slots["month_3"].due
