"""Device health: the watch flags each problem once per episode, tells the zone's officers
through the outbox, clears the flag when the device recovers; the daily report per zone; the
health at the press on the console's incident. Time comes from the controlled clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from msa.accounts.models import Organisation, User
from msa.alarms.device_health import sweep_device_health, sweep_device_reports
from msa.alarms.revocation import device_revoke
from msa.alarms.states import Trigger
from msa.audit.models import AuditEntry
from msa.cases.tests import factories as h
from msa.core.clock import Clock
from msa.demo_data import VICTIMS, demo_device_id
from msa.devices.models import Device, DeviceHealthIssue, DeviceReport, HealthProblem
from msa.devices.selectors import watched_devices
from msa.messaging.models import OutboundMessage
from tests.support.factories import press

pytestmark = pytest.mark.django_db

# A Tuesday, 10:00 in Brussels (CEST).
T0 = datetime(2026, 5, 5, 8, 0, 0, tzinfo=UTC)
BEAT = timedelta(seconds=300)  # MSA_HEARTBEAT_INTERVAL_S


def _device(victim: int = 1) -> Device:
    return Device.objects.get(device_id=demo_device_id(victim))


def _well(at: datetime, **report: Any) -> None:
    """Every watched device reports well at ``at``; ``report`` overrides victim 1's report."""
    watched = watched_devices(list(Organisation.objects.all()))
    watched.update(
        enrolled_at=T0 - timedelta(days=1),
        last_heartbeat_at=at,
        phone_battery_pct=80,
        button_battery_pct=70,
        button_connected=True,
        button_last_seen_at=at,
        permissions={"location": "always", "sms": True, "notifications": True},
    )
    if report:
        Device.objects.filter(pk=_device(1).pk).update(**report)


def _notices(device: Device) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(subject__contains=device.device_id))


def _open(device: Device) -> set[str]:
    return set(
        DeviceHealthIssue.objects.filter(device=device, cleared_at__isnull=True).values_list(
            "problem", flat=True
        )
    )


def test_every_device_well_flags_nothing(demo: None, clock: Clock) -> None:
    clock.freeze(T0)
    _well(T0)
    assert sweep_device_health() == 0
    assert not DeviceHealthIssue.objects.exists()
    assert not OutboundMessage.objects.filter(subject__startswith="Device ").exists()


def test_a_silent_device_is_told_once_per_episode_and_cleared_when_it_beats(
    demo: None, clock: Clock
) -> None:
    clock.freeze(T0)
    _well(T0)
    device = _device(1)
    # three intervals: not yet silent
    clock.freeze(T0 + 3 * BEAT)
    _well(T0 + 3 * BEAT, last_heartbeat_at=T0)
    assert sweep_device_health() == 0
    # a second more: silent, flagged, the officers told
    clock.freeze(T0 + 3 * BEAT + timedelta(seconds=1))
    _well(clock.now(), last_heartbeat_at=T0)
    assert sweep_device_health() == 1
    assert _open(device) == {HealthProblem.SILENT}
    issue = DeviceHealthIssue.objects.get(device=device)
    assert issue.case_id == device.case_id  # the flag on the case
    assert issue.opened_at == issue.notified_at == clock.now()
    notices = _notices(device)
    assert len(notices) == 1
    case = device.case
    assert case is not None
    assert notices[0].recipient == f"reference-officers@{case.police_zone.code}"
    assert case.reference in notices[0].body
    assert "no heartbeat" in notices[0].body
    victim = next(v for v in VICTIMS if v.number == 1)
    assert victim.last_name not in notices[0].body  # never a name
    assert AuditEntry.objects.filter(action="device.health_flagged").count() == 1
    # later sweeps of the same silence: no second notice, no second flag
    for _ in range(3):
        clock.advance(timedelta(minutes=1))
        _well(clock.now(), last_heartbeat_at=T0)
        assert sweep_device_health() == 0
    assert len(_notices(device)) == 1
    # it beats again: the flag clears
    _well(clock.now())
    assert sweep_device_health() == 1
    issue.refresh_from_db()
    assert issue.cleared_at == clock.now()
    assert _open(device) == set()
    assert AuditEntry.objects.filter(action="device.health_cleared").count() == 1
    # a new silence is a new episode, told again
    silent_from = clock.now()
    clock.advance(3 * BEAT + timedelta(seconds=1))
    _well(clock.now(), last_heartbeat_at=silent_from)
    assert sweep_device_health() == 1
    assert len(_notices(device)) == 2
    assert DeviceHealthIssue.objects.filter(device=device).count() == 2


@pytest.mark.parametrize(
    ("report", "problem"),
    [
        ({"phone_battery_pct": 19}, HealthProblem.PHONE_BATTERY_LOW),
        ({"button_battery_pct": 5}, HealthProblem.BUTTON_BATTERY_LOW),
        ({"permissions": {"location": "while_in_use"}}, HealthProblem.LOCATION_PERMISSION),
        ({"permissions": {}}, HealthProblem.LOCATION_PERMISSION),
        (
            {"button_connected": False, "button_last_seen_at": T0 - timedelta(minutes=11)},
            HealthProblem.BUTTON_UNLINKED,
        ),
        ({"button_connected": False, "button_last_seen_at": None}, HealthProblem.BUTTON_UNLINKED),
    ],
)
def test_each_problem_of_a_report_is_flagged(
    demo: None, clock: Clock, report: dict[str, Any], problem: HealthProblem
) -> None:
    clock.freeze(T0)
    _well(T0, **report)
    assert sweep_device_health() == 1
    assert _open(_device(1)) == {problem}
    assert len(_notices(_device(1))) == 1


@pytest.mark.parametrize(
    "report",
    [
        {"phone_battery_pct": 20, "button_battery_pct": 20},
        {"button_connected": False, "button_last_seen_at": T0 - timedelta(minutes=9)},
        {"button_battery_pct": None},  # no button reported yet: nothing to judge
    ],
)
def test_within_the_thresholds_nothing_is_flagged(
    demo: None, clock: Clock, report: dict[str, Any]
) -> None:
    clock.freeze(T0)
    _well(T0, **report)
    assert sweep_device_health() == 0


def test_no_test_alarm_for_thirty_days_until_one_arrives(demo: None, clock: Clock) -> None:
    clock.freeze(T0)
    _well(T0)
    enrolled = T0 - timedelta(days=1)
    clock.freeze(enrolled + timedelta(days=30))
    _well(clock.now())
    assert sweep_device_health() == 0
    clock.advance(timedelta(seconds=1))
    _well(clock.now())
    assert sweep_device_health() == 5  # every demo device: none was ever tested
    assert _open(_device(1)) == {HealthProblem.NO_TEST_ALARM}
    press(1, at=clock.now(), trigger=Trigger.TEST)
    assert sweep_device_health() == 1
    assert _open(_device(1)) == set()
    assert _open(_device(2)) == {HealthProblem.NO_TEST_ALARM}


def test_a_revoked_device_loses_its_flags(demo: None, clock: Clock) -> None:
    clock.freeze(T0)
    _well(T0, phone_battery_pct=3)
    assert sweep_device_health() == 1
    device_revoke(device=_device(1), actor=h.actor("reference"), reason="lost")
    assert sweep_device_health() == 1
    assert _open(_device(1)) == set()
    assert DeviceHealthIssue.objects.get(device=_device(1)).cleared_at == T0


def test_the_daily_report_once_per_zone_and_local_day(demo: None, clock: Clock) -> None:
    # 06:59 in Brussels (CEST, UTC+2): not yet
    clock.freeze(datetime(2026, 5, 5, 4, 59, tzinfo=UTC))
    _well(clock.now(), phone_battery_pct=12)
    sweep_device_health()
    assert sweep_device_reports() == 0
    clock.freeze(datetime(2026, 5, 5, 5, 0, tzinfo=UTC))
    _well(clock.now(), phone_battery_pct=12)
    zones = set(
        watched_devices(list(Organisation.objects.all())).values_list(
            "case__police_zone__code", flat=True
        )
    )
    assert sweep_device_reports() == len(zones)
    case = _device(1).case
    assert case is not None
    report = DeviceReport.objects.get(zone=case.police_zone)
    assert (str(report.day), report.with_problems) == ("2026-05-05", 1)
    mail = OutboundMessage.objects.get(channel="email", subject__contains=case.police_zone.code)
    assert "1 of" in mail.subject
    assert demo_device_id(1) in mail.body
    assert "phone 12 %" in mail.body
    victim = next(v for v in VICTIMS if v.number == 1)
    assert victim.last_name not in mail.body
    # the rest of the day: nothing more; the next local day: the next report
    clock.advance(timedelta(hours=12))
    assert sweep_device_reports() == 0
    clock.freeze(datetime(2026, 5, 6, 5, 0, tzinfo=UTC))
    assert sweep_device_reports() == len(zones)
    assert DeviceReport.objects.filter(zone=case.police_zone).count() == 2


def test_the_report_page_shows_the_zones_devices(demo: None, clock: Clock, client: Client) -> None:
    clock.freeze(T0)
    _well(T0, button_battery_pct=4)
    sweep_device_health()
    client.force_login(User.objects.get(username="reference"))
    page = client.get("/devices/health/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f'data-device="{demo_device_id(1)}" class="troubled"' in text
    assert 'data-problem="button_battery_low"' in text
    assert "button 4 %" in text


def test_the_console_incident_shows_the_health_at_the_press(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(T0)
    _well(T0, phone_battery_pct=9)
    sweep_device_health()
    incident = press(1, at=T0 + timedelta(minutes=1)).incident
    # recovered after the press: the incident still shows what was wrong at the press
    clock.advance(timedelta(minutes=5))
    _well(clock.now())
    sweep_device_health()
    client.force_login(User.objects.get(username="operator"))
    page = client.get(f"/console/incidents/{incident.reference}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="device-health-press"' in text
    assert 'data-problem="phone_battery_low"' in text
    assert "phone 9 %" in text


def test_the_case_list_links_the_report_and_the_case_shows_its_flags(
    demo: None, clock: Clock, client: Client
) -> None:
    clock.freeze(T0)
    _well(T0, permissions={"location": "denied"})
    sweep_device_health()
    client.force_login(User.objects.get(username="reference"))
    assert 'id="device-report-link"' in client.get("/cases/").content.decode()
    case = _device(1).case
    assert case is not None
    detail = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'id="device-health-now"' in detail
    assert 'data-problem="location_permission"' in detail
