"""Device health: the checks of an active device, the episodes they open and clear, the case
officer's notice, and the daily device report of each police zone.

Silent failure is the enemy: a phone that stopped heartbeating, a button that lost its link, a
flat battery, a location permission taken back, or a device never tested protects nobody. The
worker's watch looks at every device of a protected case:

- no heartbeat for ``MSA_HEALTH_SILENT_BEATS`` heartbeat intervals (since enrolment, before the
  first one);
- the button reported unlinked, and last seen more than ``MSA_HEALTH_UNLINKED_S`` ago;
- the phone's or the button's battery under ``MSA_HEALTH_BATTERY_PCT``;
- the location permission anything but ``always``;
- no test alarm for ``MSA_HEALTH_TEST_DAYS`` days (since enrolment, before the first one).

Each problem found opens one ``DeviceHealthIssue`` (the flag on the device and on its case) and
queues one notice to the zone's reference officers through the outbox; it is cleared when a
sweep sees the device well again. The next episode of the same problem is told again.

When the last test alarm arrived is a fact of ``alarms``, above this part: the caller passes it
in. The worker's entry point that computes it and calls :func:`device_health_sweep` is
``msa.alarms.device_health.sweep_device_health``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from msa.accounts.models import Organisation, OrgKind
from msa.accounts.selectors import reference_officer_emails
from msa.audit.services import audit_record
from msa.cases.states import PROTECTED_STATES
from msa.core import clock
from msa.core.actors import Actor
from msa.devices.models import Device, DeviceHealthIssue, DeviceReport, HealthProblem
from msa.devices.selectors import ReportRow, device_report_rows
from msa.devices.states import DeviceStatus
from msa.messaging.language import in_recipient_language
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue

log = logging.getLogger("msa.devices")


@dataclass(frozen=True, slots=True)
class Thresholds:
    silent_after: timedelta
    unlinked_after: timedelta
    battery_pct: int
    test_every: timedelta

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            silent_after=timedelta(
                seconds=settings.MSA_HEALTH_SILENT_BEATS * settings.MSA_HEARTBEAT_INTERVAL_S
            ),
            unlinked_after=timedelta(seconds=settings.MSA_HEALTH_UNLINKED_S),
            battery_pct=settings.MSA_HEALTH_BATTERY_PCT,
            test_every=timedelta(days=settings.MSA_HEALTH_TEST_DAYS),
        )


def _hhmm(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def device_problems(
    device: Device,
    *,
    now: datetime,
    last_test_alarm_at: datetime | None,
    limits: Thresholds,
) -> dict[HealthProblem, str]:
    """What is wrong with ``device`` now, each problem with what was seen (no personal data)."""
    found: dict[HealthProblem, str] = {}
    last_beat = device.last_heartbeat_at
    if now - (last_beat or device.enrolled_at) > limits.silent_after:
        found[HealthProblem.SILENT] = (
            f"last heartbeat {_hhmm(last_beat)}" if last_beat else "no heartbeat since enrolment"
        )
    if device.button_connected is False:
        # Never seen (no last-seen time reported) counts as unlinked since pairing: falling back
        # to the heartbeat's time would never flag a phone that keeps beating without a button.
        seen = device.button_last_seen_at
        if seen is None or now - seen > limits.unlinked_after:
            found[HealthProblem.BUTTON_UNLINKED] = (
                f"button last seen {_hhmm(seen)}" if seen else "button never seen"
            )
    if device.phone_battery_pct is not None and device.phone_battery_pct < limits.battery_pct:
        found[HealthProblem.PHONE_BATTERY_LOW] = f"phone {device.phone_battery_pct} %"
    if device.button_battery_pct is not None and device.button_battery_pct < limits.battery_pct:
        found[HealthProblem.BUTTON_BATTERY_LOW] = f"button {device.button_battery_pct} %"
    if last_beat is not None:
        location = (device.permissions or {}).get("location")
        if location != "always":
            found[HealthProblem.LOCATION_PERMISSION] = f"location: {str(location)[:20]}"
    if now - (last_test_alarm_at or device.enrolled_at) > limits.test_every:
        found[HealthProblem.NO_TEST_ALARM] = (
            f"last test alarm {_hhmm(last_test_alarm_at)}"
            if last_test_alarm_at
            else "no test alarm since enrolment"
        )
    return found


def _watched(device: Device) -> bool:
    return (
        device.status == DeviceStatus.ACTIVE
        and device.case is not None
        and device.case.status in PROTECTED_STATES
    )


def officer_recipients(zone: Organisation) -> list[str]:
    """The e-mail addresses of the zone's active reference officers, or the fallback."""
    return reference_officer_emails(zone, fallback=settings.MSA_HEALTH_NOTICE_TO)


@dataclass(frozen=True, slots=True)
class HealthChange:
    opened: tuple[HealthProblem, ...]
    cleared: tuple[HealthProblem, ...]


@transaction.atomic(durable=True)
def device_health_update(
    *, device: Device, last_test_alarm_at: datetime | None, actor: Actor
) -> HealthChange | None:
    """Bring the open episodes of ``device`` in line with what is wrong with it now.

    Locks the device (SKIP LOCKED: a device another worker is checking is left to it), opens an
    episode and queues the officer's notice for each new problem, clears each episode
    whose problem is gone, audits both. None when nothing changed (or the device was locked):
    calling it again changes nothing.
    """
    locked = (
        Device.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("case__police_zone")
        .filter(pk=device.pk)
        .first()
    )
    if locked is None:
        return None
    now = clock.now()
    found = (
        device_problems(
            locked,
            now=now,
            last_test_alarm_at=last_test_alarm_at,
            limits=Thresholds.from_settings(),
        )
        if _watched(locked)
        else {}
    )
    open_issues = {
        HealthProblem(i.problem): i
        for i in DeviceHealthIssue.objects.filter(device=locked, cleared_at__isnull=True)
    }
    cleared: list[HealthProblem] = []
    for problem, issue in open_issues.items():
        if problem in found:
            continue
        issue.cleared_at = now
        issue.save(update_fields=["cleared_at"])
        audit_record(
            actor=actor,
            action="device.health_cleared",
            subject=locked,
            new={"problem": str(problem), "since": issue.opened_at.isoformat()},
            at=now,
        )
        cleared.append(problem)
    opened = [p for p in found if p not in open_issues]
    if opened:
        assert locked.case is not None  # a watched device is lent to a case
        case = locked.case
        for problem in opened:
            DeviceHealthIssue.objects.create(
                device=locked,
                case=case,
                problem=problem,
                detail=found[problem][:120],
                opened_at=now,
                notified_at=now,
            )
            audit_record(
                actor=actor,
                action="device.health_flagged",
                subject=locked,
                new={"problem": str(problem), "case": case.reference},
                at=now,
            )
        for recipient in officer_recipients(case.police_zone):
            with in_recipient_language(recipient, case.police_zone):
                labels = "; ".join(f"{HealthProblem(p).label}: {found[p]}" for p in opened)
                facts = {"device": locked.device_id, "case": case.reference, "problems": labels}
                message_enqueue(
                    channel=MessageChannel.NOTIFICATION,
                    recipient=recipient,
                    subject=gettext("Device %(device)s of case %(case)s: check it now") % facts,
                    body=gettext(
                        "The device %(device)s of case %(case)s needs attention: %(problems)s. "
                        "Contact the victim through the usual channel and check the phone and "
                        "the button. This notice is sent once; the flag clears itself when the "
                        "device reports well again."
                    )
                    % facts,
                    actor=actor,
                    about=case,
                )
        log.info(
            "device_health_flagged device=%s case=%s problems=%s",
            locked.device_id,
            case.reference,
            ",".join(opened),
        )
    if cleared:
        log.info("device_health_cleared device=%s problems=%s", locked.device_id, ",".join(cleared))
    if not opened and not cleared:
        return None
    return HealthChange(opened=tuple(opened), cleared=tuple(cleared))


def device_health_sweep(*, last_test_alarms: Mapping[int, datetime], actor: Actor) -> int:
    """Check every device of a protected case, and every device with an open episode; the
    number of devices whose flags changed.

    ``last_test_alarms`` maps a device's primary key to its last test alarm (the caller, above
    ``alarms``, computes it). Devices whose flags already match are not locked or written: only
    a change takes a transaction.
    """
    now = clock.now()
    limits = Thresholds.from_settings()
    open_by_device: dict[int, set[HealthProblem]] = {}
    for device_pk, problem in DeviceHealthIssue.objects.filter(cleared_at__isnull=True).values_list(
        "device_id", "problem"
    ):
        open_by_device.setdefault(device_pk, set()).add(HealthProblem(problem))
    watched = Device.objects.filter(
        status=DeviceStatus.ACTIVE,
        case__status__in=[str(s) for s in PROTECTED_STATES],
        case__is_probe=False,  # the path-monitoring probe is watched by its own round
    ).select_related("case")
    changed = 0
    seen: set[int] = set()
    for device in watched.iterator(chunk_size=500):
        seen.add(device.pk)
        last_test = last_test_alarms.get(device.pk)
        found = set(device_problems(device, now=now, last_test_alarm_at=last_test, limits=limits))
        if found != open_by_device.get(device.pk, set()) and device_health_update(
            device=device, last_test_alarm_at=last_test, actor=actor
        ):
            changed += 1
    # A device revoked, or of a case no longer protected: its flags go.
    for device in Device.objects.filter(pk__in=set(open_by_device) - seen):
        if device_health_update(device=device, last_test_alarm_at=None, actor=actor):
            changed += 1
    return changed


# --- the daily device report of a police zone -----------------------------------------------


def _report_text(zone: Organisation, rows: list[ReportRow], day: str) -> str:
    """The report in the active language (the recipient's: in_recipient_language)."""
    lines = [gettext("Device report of %(zone)s for %(day)s.") % {"zone": zone.name, "day": day}]
    lines.append("")
    troubled = [r for r in rows if r.problems]
    lines.append(
        gettext("%(devices)s devices watched, %(troubled)s with problems.")
        % {"devices": len(rows), "troubled": len(troubled)}
    )
    for row in troubled:
        lines.append("")
        lines.append(
            gettext("%(device)s (case %(case)s):")
            % {"device": row.device_id, "case": row.case_reference}
        )
        lines.extend(
            "  - "
            + gettext("%(problem)s: %(detail)s (since %(since)s)")
            % {"problem": p.label, "detail": p.detail, "since": _hhmm(p.since)}
            for p in row.problems
        )
    if not troubled:
        lines.append(gettext("Every device reported well."))
    return "\n".join(lines)


@transaction.atomic(durable=True)
def device_report_send(*, zone: Organisation, actor: Actor) -> DeviceReport | None:
    """Send today's device report of ``zone`` (its local day) once; None if already sent."""
    now = clock.now()
    day = now.astimezone(ZoneInfo(zone.time_zone or settings.MSA_TIME_ZONE)).date()
    if DeviceReport.objects.filter(zone=zone, day=day).exists():
        return None
    rows = device_report_rows(zone)
    try:
        with transaction.atomic():
            report = DeviceReport.objects.create(
                zone=zone,
                day=day,
                sent_at=now,
                devices=len(rows),
                with_problems=sum(1 for r in rows if r.problems),
            )
    except IntegrityError:
        return None  # another worker sent it
    for recipient in officer_recipients(zone):
        with in_recipient_language(recipient, zone):
            subject = gettext(
                "Device report %(zone)s %(day)s: %(troubled)s of %(devices)s need attention"
            ) % {
                "zone": zone.code,
                "day": day.isoformat(),
                "troubled": report.with_problems,
                "devices": report.devices,
            }
            message_enqueue(
                channel=MessageChannel.EMAIL,
                recipient=recipient,
                subject=subject,
                body=_report_text(zone, rows, day.isoformat()),
                actor=actor,
                about=report,
            )
    audit_record(
        actor=actor,
        action="device.report_sent",
        subject=report,
        new={"zone": zone.code, "day": day.isoformat(), "devices": report.devices},
        at=now,
    )
    log.info(
        "device_report_sent zone=%s devices=%d with_problems=%d",
        zone.code,
        report.devices,
        report.with_problems,
    )
    return report


def device_report_sweep(*, actor: Actor) -> int:
    """Send each police zone's report once a local day, from ``MSA_HEALTH_REPORT_HOUR``."""
    now = clock.now()
    sent = 0
    zones = Organisation.objects.filter(
        kind=OrgKind.POLICE_ZONE,
        cases__status__in=[str(s) for s in PROTECTED_STATES],
        cases__devices__status=DeviceStatus.ACTIVE,
        cases__is_probe=False,  # no report for the path-monitoring probe's zone
    ).distinct()
    for zone in zones:
        local = now.astimezone(ZoneInfo(zone.time_zone or settings.MSA_TIME_ZONE))
        if local.hour < settings.MSA_HEALTH_REPORT_HOUR:
            continue
        if DeviceReport.objects.filter(zone=zone, day=local.date()).exists():
            continue
        if device_report_send(zone=zone, actor=actor) is not None:
            sent += 1
    return sent
