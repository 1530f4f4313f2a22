"""Every indicator on the region of dataset.py; each expected figure is worked out by hand in
the comment next to it (the dataset's docstring gives the period's bounds)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from msa.alarms.models import Incident, LocationFix
from msa.cli import main
from msa.core import clock
from msa.core.errors import NotFoundError
from msa.stats.areas import all_zone_ids, area_resolve, areas_readable, readable_zone_ids
from msa.stats.indicators import Period, indicators_compute, percentile
from msa.stats.tests import dataset

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
NOW = datetime(2026, 4, 20, tzinfo=UTC)


@pytest.fixture
def region(db):
    return dataset.build()


def _ind(region, code="TCIC", period=MARCH):
    return indicators_compute(
        period=period, area=area_resolve(code, within=all_zone_ids()), now=NOW
    )


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5, 10, 15, 20, 25, 40, 100], 50) == 20  # rank ceil(3.5) = 4
    assert percentile([5, 10, 15, 20, 25, 40, 100], 90) == 100  # rank ceil(6.3) = 7
    assert percentile([3.0], 99) == 3.0


def test_alarm_counts(region):
    ind = _ind(region)
    # I1..I8 (T1 is the test lane; X1 is 1 April in Brussels, X2 a probe, X3 in TZ3)
    assert ind.alarms_live == 8
    # not genuine: I4 (cancelled), I5 (mis-press), I6 (technical), I8 (test pressed live)
    assert ind.alarms_genuine == 4
    assert ind.alarms_test == 1
    assert ind.alarms_mispress == 1
    assert ind.alarms_false_test == 1
    assert ind.alarms_false_technical == 1
    assert ind.alarms_cancelled == 1  # I4; I7 was cancelled with the duress PIN
    assert ind.alarms_duress == 2  # I3 (pressed as duress) and I7 (duress PIN)
    assert ind.alarms_ghost_call == 1  # I2
    assert ind.alarms_sms_only == 2  # I2 (sms), I4 (unverified sms); I3 had data too
    assert ind.alarms_unverified_sms == 1
    assert ind.alarms_aml == 1
    assert ind.repeat_presses == 2


def test_interventions_and_outcomes(region):
    ind = _ind(region)
    assert ind.interventions == 4  # I1, I2, I3, I7 had a unit dispatched
    assert ind.arrests_on_scene == 1
    assert ind.arrests_later == 1
    assert ind.violence_before_arrival == 1
    assert ind.victim_injured == 1


def test_response_times(region):
    ind = _ind(region)
    ack = ind.time_to_acknowledge
    # acknowledged after 10, 40, 20, 100, 5, 25, 15 s; I6 never (8 live expected)
    assert (ack.n, ack.expected) == (7, 8)
    assert (ack.p50_s, ack.p90_s, ack.p99_s) == (20, 100, 100)
    assert ack.share_within_30s == 0.625  # 5 of 8
    assert ack.share_within_10min == 0.875  # 7 of 8
    scene = ind.time_to_on_scene
    # on scene after 300 (I1), 700 (I2), 200 (I7); I3 never (4 dispatched)
    assert (scene.n, scene.expected) == (3, 4)
    assert (scene.p50_s, scene.p90_s, scene.p99_s) == (300, 700, 700)
    assert scene.share_within_30s == 0.0
    assert scene.share_within_10min == 0.5
    assert [(b.reference, b.zone, b.on_scene_s) for b in ind.on_scene_breaches] == [
        ("T-I2", "TZ1", 700.0),
        ("T-I3", "TZ2", None),
    ]


def test_devices(region):
    ind = _ind(region)
    assert ind.devices_on_loan == 1  # B1 (B2 and B6 came back before the end)
    assert ind.devices_loaned_in_period == 3  # B1, B2, B6
    assert ind.devices_active == 2  # B1 (case A) and B2 (case B) raised live alarms
    assert ind.devices_idle == 1  # B6 (case C)
    assert ind.devices_in_stock == 3  # B2, B3, B6 (B1 lent, B4 lost, B5 added in April)
    # B1 30 d 23 h (28 Feb 23:00 to 31 Mar 22:00 UTC) + B2 10 d + B6 5 d 1 h = 46 days
    assert ind.device_months == round(46 / (365.25 / 12), 3)
    assert ind.alarms_per_device_month == round(8 / (46 / (365.25 / 12)), 3)


def test_cases(region):
    ind = _ind(region)
    # A's suspension on 10 April is after the period: A is still active at its end
    assert ind.cases_by_state == {"active": 1, "ended": 3, "requested": 1}
    assert ind.cases_protected == 3  # A, B, C (E ended in February, D never began)
    assert ind.cases_started == 1  # B
    assert ind.cases_ended == 2  # B, C
    assert ind.cases_ended_by_reason == {"consent_withdrawn": 1, "review": 1}
    # B 10 days, C 1 Jan to 5 Mar = 63 days
    assert (ind.protection_days_p50, ind.protection_days_mean, ind.protection_days_max) == (
        10.0,
        36.5,
        63.0,
    )
    # A: high (its extreme assessment is in April), B: medium, C: none
    assert ind.cases_by_risk_level == {"high": 1, "medium": 1, "unassessed": 1}


def test_device_health_and_safety(region):
    ind = _ind(region)
    assert ind.device_health_incidents == 2  # the February episode is outside
    assert ind.device_health_by_problem == {"phone_battery_low": 1, "silent": 1}
    # A said safer, B the same; C answered in February
    assert (ind.victims_feeling_safer, ind.victims_surveyed, ind.share_feeling_safer) == (
        1,
        2,
        0.5,
    )


def test_series_by_month_and_zone(region):
    ind = _ind(region)
    assert [
        (m.month, m.alarms_live, m.alarms_genuine, m.alarms_test, m.interventions, m.arrests)
        for m in ind.by_month
    ] == [("2026-03", 8, 4, 1, 4, 2)]
    assert ind.by_month[0].ack_p90_s == 100
    assert [(z.zone, z.alarms_live, z.interventions, z.on_scene_breaches) for z in ind.by_zone] == [
        ("TZ1", 4, 3, 1),  # I1, I2, I6, I7
        ("TZ2", 4, 1, 1),  # I3, I4, I5, I8
    ]


def test_areas_cut_the_figures(region):
    assert _ind(region, "TZ1").alarms_live == 4
    assert _ind(region, "TPK").alarms_live == 8  # the district holds TZ1 and TZ2
    country = _ind(region, "BE")
    assert country.alarms_live == 9  # and X3 of TZ3
    assert country.zones == ["TZ1", "TZ2", "TZ3"]
    with pytest.raises(NotFoundError):
        area_resolve("NOPE", within=all_zone_ids())


def test_readers_see_their_zones_only(region):
    analyst = dataset.member("an-t", region.cic, "analyst")
    supervisor = dataset.member("sup-t", region.tz3, "supervisor")
    operator = dataset.member("op-t", region.cic, "operator")
    admin = dataset.member("adm-t", region.cic, "admin")
    assert readable_zone_ids(analyst) == {region.tz1.pk, region.tz2.pk}
    assert readable_zone_ids(supervisor) == {region.tz3.pk}
    assert readable_zone_ids(operator) == frozenset()
    assert readable_zone_ids(admin) == all_zone_ids()
    within = readable_zone_ids(analyst)
    with pytest.raises(NotFoundError):
        area_resolve("TZ3", within=within)
    assert area_resolve("BE", within=within).zone_ids == within
    codes = {a.code for a in areas_readable(within)}
    assert codes == {"BE", "TCIC", "TPK", "TZ1", "TZ2"}


def test_command_prints_json(region, capsys):
    assert (
        main(
            [
                "stats",
                "indicators",
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-31",
                "--area",
                "TCIC",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["alarms_live"] == 8
    assert data["time_to_acknowledge"]["p50_s"] == 20
    assert (
        main(
            ["stats", "indicators", "--from", "2026-03-01", "--to", "2026-03-31", "--area", "NOPE"]
        )
        == 2
    )


def test_seed_history_builds_a_dataset_the_indicators_count(region, capsys):
    assert main(["stats", "seed-history", "--incidents", "30", "--fixes", "95"]) == 0
    assert "30 incidents, 95 positions" in capsys.readouterr().out
    history = Incident.objects.filter(reference__startswith="HIS-")
    assert history.count() == 30
    assert LocationFix.objects.filter(incident__in=history).count() == 95
    today = clock.now().date()
    ind = indicators_compute(
        period=Period(date(today.year - 3, 1, 1), today),
        area=area_resolve("", within=all_zone_ids()),
        now=clock.now(),
    )
    # the region's own ten (I1..I8, T1, X1 in TCIC; X3 in TZ3) and the thirty
    assert ind.alarms_live + ind.alarms_test == 11 + 30
