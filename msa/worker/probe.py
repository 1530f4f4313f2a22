"""Path monitoring (EN 50136, issue 12): the centre's own probe device sends a synthetic test
alarm through the whole chain every ``MSA_PROBE_INTERVAL_S``, and the chain is in order only
while each one comes back in time.

One round of the data path: a signed ``POST /api/device/v1/alarms`` (``msa_protocol.signing``,
exactly what a phone sends) over HTTP to the centre's address (``MSA_PROBE_URL``, or
``MSA_PUBLIC_URL`` when it is set in the environment; without either, through the server's own
ASGI app in this process) → ``alarm_raise`` puts it in the probe lane (the case is the probe's)
→ its ``alarm.raised`` must be in the centre's event log, the console feed every console replays
→ the probe actor acknowledges it (and closes it as a test). The SMS path, when the gateway
offers a loopback number (``MSA_PROBE_SMS_LOOPBACK``): a fallback SMS of the probe's is sent to
that number through the outbox; the gateway delivers it back to the inbound webhook, and a
later turn of the sweep finds its incident, acknowledges and closes it.

A round not acknowledged within ``MSA_PROBE_LATE_S`` of being sent is late; one refused or
lost has failed; a round that was due and never sent (the worker stood still) is missed. The
first bad round after a good one alerts the supervisor through the outbox, once; every console
shows a banner (``probe_health``) and ``/readyz`` fails until a round is good again.

This module is at the worker layer: a round raises an alarm (alarms, through ingest) and
acknowledges it (dispatch).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from msa.accounts.models import Organisation, OrgKind
from msa.alarms.models import Incident
from msa.alarms.states import OPEN_STATES, IncidentState, Lane, Outcome
from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase, Relation, Suspect, Victim
from msa.cases.states import CASE_MACHINE, CaseState, CaseTransitionName
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ValidationError
from msa.core.references import reference_next
from msa.core.transitions import history_start
from msa.devices.models import Device
from msa.devices.services import device_enroll
from msa.devices.states import DeviceStatus
from msa.dispatch.services.console import (
    incident_acknowledge,
    incident_close,
    incident_outcome_record,
)
from msa.messaging.models import MessageChannel
from msa.messaging.services import message_enqueue
from msa.realtime.selectors import events_after, last_seq
from msa.worker.models import ProbePath, ProbeRound, ProbeStatus
from msa_protocol import format_fallback_sms, format_time, signed_headers

log = logging.getLogger("msa.worker")

PROBE = Actor.system("probe")
ALARMS_PATH = "/api/device/v1/alarms"
HTTP_TIMEOUT_S = 10.0
BAD = frozenset({ProbeStatus.LATE, ProbeStatus.FAILED, ProbeStatus.MISSED})

# (path, headers, body) -> (status, answer as JSON)
Poster = Callable[[str, dict[str, str], bytes], tuple[int, dict[str, Any]]]


# --- enrolment ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeEnrolment:
    centre: Organisation
    zone: Organisation
    case: ProtectionCase
    device: Device
    created: bool


def probe_zone_code(centre: Organisation) -> str:
    return f"PRB{centre.pk}"[:8]


@transaction.atomic(durable=True)
def probe_enrol(*, centre_code: str, actor: Actor) -> ProbeEnrolment:
    """The centre's probe: its own police zone (so that the probe's incident references never
    use a real zone's numbers), a case marked ``is_probe`` in force, and an active device with
    its key. Idempotent: a second call finds them and creates nothing (a revoked probe device
    gets a new one)."""
    centre = Organisation.objects.filter(code=centre_code, kind=OrgKind.CIC).first()
    if centre is None:
        raise ValidationError("no such dispatch centre", fields={"centre": "unknown"})
    now = clock.now()
    created = False
    zone, made = Organisation.objects.get_or_create(
        code=probe_zone_code(centre),
        defaults={
            "kind": OrgKind.POLICE_ZONE,
            "name": f"Path probe {centre.code}",
            "country": centre.country,
            "time_zone": centre.time_zone,
            "covered_by": centre,
        },
    )
    created |= made
    case = ProtectionCase.objects.filter(police_zone=zone, is_probe=True).first()
    if case is None:
        case = ProtectionCase.objects.create(
            reference=reference_next(f"{zone.code}-C", now.year),
            police_zone=zone,
            victim=Victim.objects.create(first_name="Path", last_name="Probe"),
            suspect=Suspect.objects.create(first_name="Path", last_name="Probe"),
            relation=Relation.OTHER,
            status=CaseState.ACTIVE,
            created_at=now,
            activated_at=now,
            is_probe=True,
        )
        history_start(CASE_MACHINE, case, transition=CaseTransitionName.OPEN, actor=actor, at=now)
        created = True
    device = Device.objects.filter(case=case, status=DeviceStatus.ACTIVE).first()
    if device is None:
        device = device_enroll(
            case=case, actor=actor, device_id=f"probe-{centre.pk}-{now:%y%m%d%H%M%S}"
        )
        created = True
    if created:
        audit_record(
            actor=actor,
            action="probe.enrol",
            subject=case,
            new={"centre": centre.code, "zone": zone.code, "device": device.device_id},
            at=now,
        )
        log.info("probe_enrolled centre=%s device=%s", centre.code, device.device_id)
    return ProbeEnrolment(centre=centre, zone=zone, case=case, device=device, created=created)


def probe_devices() -> list[Device]:
    return list(
        Device.objects.filter(status=DeviceStatus.ACTIVE, case__is_probe=True)
        .select_related("case__police_zone__covered_by")
        .order_by("pk")
    )


# --- how the probe reaches the centre ----------------------------------------------------------


def http_poster(base_url: str) -> Poster:
    """Over HTTP to ``base_url``: the whole path a phone's request takes (proxy, TLS, node)."""

    def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        answer = httpx.post(
            base_url + path,
            content=body,
            headers={**headers, "Content-Type": "application/json"},
            timeout=HTTP_TIMEOUT_S,
        )
        return answer.status_code, _json(answer)

    return post


def asgi_poster() -> Poster:
    """Through the server's own ASGI app in this process (no public address is known): the
    device API's whole code path, without the network in front of it."""
    from msa.asgi import application  # noqa: PLC0415 - the server app, only when needed

    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h), "127.0.0.1")

    async def send(path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 0))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            return await client.post(
                path,
                content=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=HTTP_TIMEOUT_S,
            )

    def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        answer = asyncio.run(send(path, headers, body))
        return answer.status_code, _json(answer)

    return post


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        value = answer.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def default_poster() -> Poster:
    return http_poster(settings.MSA_PROBE_URL) if settings.MSA_PROBE_URL else asgi_poster()


# --- one round ---------------------------------------------------------------------------------


def _elapsed_s(round_: ProbeRound, at: datetime) -> float:
    return (at - round_.sent_at).total_seconds()


def _finish(round_: ProbeRound, **changes: Any) -> ProbeRound:
    for name, value in changes.items():
        setattr(round_, name, value)
    round_.save(update_fields=list(changes))
    if round_.status in BAD:
        log.warning(
            "probe_bad centre=%s path=%s status=%s error=%s",
            round_.centre_id,
            round_.path,
            round_.status,
            round_.error or "-",
        )
    elif round_.status != ProbeStatus.PENDING:  # a step of a round on its way: no line
        log.info(
            "probe_done centre=%s path=%s status=%s ms=%d",
            round_.centre_id,
            round_.path,
            round_.status,
            round(_elapsed_s(round_, round_.acknowledged_at or clock.now()) * 1000),
        )
    return round_


def _acknowledge(round_: ProbeRound, incident: Incident) -> ProbeRound:
    """The probe takes its own alarm, then closes it as a test (so that none stays open)."""
    acknowledged = incident
    if incident.status == IncidentState.RECEIVED:
        acknowledged = incident_acknowledge(incident=incident, actor=PROBE)
    at = acknowledged.acknowledged_at or clock.now()
    if acknowledged.status in OPEN_STATES:
        incident_outcome_record(incident=acknowledged, actor=PROBE, outcome=Outcome.FALSE_TEST)
        incident_close(incident=acknowledged, actor=PROBE, reason="path probe")
    late = _elapsed_s(round_, at) > settings.MSA_PROBE_LATE_S
    return _finish(
        round_,
        acknowledged_at=at,
        status=ProbeStatus.LATE if late else ProbeStatus.OK,
        error="late" if late else "",
    )


def _in_feed(centre_id: int, since: int, reference: str) -> bool:
    """Its ``alarm.raised`` is in the centre's event log after ``since``: what a console replays
    and is pushed."""
    while True:
        page = events_after(centre_id=centre_id, since=since)
        if not page:
            return False
        for event in page:
            if event["type"] == "alarm.raised" and event["data"].get("incident") == reference:
                return True
        since = int(page[-1]["seq"])


def probe_round_data(*, device: Device, post: Poster) -> ProbeRound:
    """One synthetic alarm over the data path, from sending to the probe's acknowledgement."""
    centre = device.case.police_zone.covered_by  # type: ignore[union-attr]
    assert centre is not None
    alarm_id = uuid.uuid4()
    sent_at = clock.now()
    round_ = ProbeRound.objects.create(
        centre=centre,
        path=ProbePath.DATA,
        alarm_id=alarm_id,
        status=ProbeStatus.PENDING,
        sent_at=sent_at,
    )
    since = last_seq(centre_id=centre.pk)
    body = json.dumps(
        {
            "alarm_id": str(alarm_id),
            "trigger": "test",
            "pressed_at": format_time(sent_at),
            "location": None,
            "battery": None,
            "call": {"state": "none"},
        },
        separators=(",", ":"),
    ).encode()
    headers = signed_headers(
        device.device_id, device.secret(), "POST", ALARMS_PATH, body, int(sent_at.timestamp())
    )
    try:
        status, answer = post(ALARMS_PATH, headers, body)
    except httpx.HTTPError as exc:
        return _finish(round_, status=ProbeStatus.FAILED, error=f"transport {type(exc).__name__}")
    if status not in {200, 201}:
        code = (
            answer.get("error", {}).get("code", "") if isinstance(answer.get("error"), dict) else ""
        )
        return _finish(round_, status=ProbeStatus.FAILED, error=f"http {status} {code}".strip())
    round_ = _finish(
        round_, answered_at=clock.now(), incident_reference=str(answer.get("incident", ""))[:32]
    )
    incident = Incident.objects.filter(device=device, alarm_id=alarm_id).first()
    if incident is None or incident.lane != Lane.PROBE:
        return _finish(round_, status=ProbeStatus.FAILED, error="not stored in the probe lane")
    if not _in_feed(centre.pk, since, incident.reference):
        return _finish(round_, status=ProbeStatus.FAILED, error="not in the console feed")
    round_ = _finish(round_, seen_at=clock.now())
    return _acknowledge(round_, incident)


def probe_round_sms_send(*, device: Device) -> ProbeRound:
    """Send the probe's fallback SMS to the gateway's loopback number (through the outbox)."""
    centre = device.case.police_zone.covered_by  # type: ignore[union-attr]
    assert centre is not None
    alarm_id = uuid.uuid4()
    sent_at = clock.now()
    text = format_fallback_sms(
        key=device.secret(),
        device_id=device.device_id,
        alarm_id=alarm_id,
        pressed_at_unix=int(sent_at.timestamp()),
        lat=None,
        lon=None,
        accuracy_m=None,
        trigger="test",
        reason="N",
    )
    with transaction.atomic():
        round_ = ProbeRound.objects.create(
            centre=centre,
            path=ProbePath.SMS,
            alarm_id=alarm_id,
            status=ProbeStatus.PENDING,
            sent_at=sent_at,
        )
        message_enqueue(
            channel=MessageChannel.SMS,
            recipient=settings.MSA_PROBE_SMS_LOOPBACK,
            subject="",
            body=text,
            actor=PROBE,
        )
    log.info("probe_sms_sent centre=%s", centre.pk)
    return round_


def probe_sms_check(*, device: Device, round_: ProbeRound) -> ProbeRound:
    """A pending SMS round: its incident has come back (acknowledge it), or it is lost."""
    incident = (
        Incident.objects.filter(device=device, alarm_ref=round_.alarm_id.hex[:8])
        .filter(Q(alarm_id__isnull=True) | Q(alarm_id=round_.alarm_id))
        .order_by("-received_at")
        .first()
    )
    if incident is None:
        if _elapsed_s(round_, clock.now()) > settings.MSA_PROBE_LATE_S:
            return _finish(round_, status=ProbeStatus.FAILED, error="the SMS did not come back")
        return round_
    round_ = _finish(
        round_,
        answered_at=incident.received_at,
        seen_at=clock.now(),
        incident_reference=incident.reference,
    )
    return _acknowledge(round_, incident)


# --- health, alerts, the sweep -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProbeHealth:
    centre_id: int
    path: str
    ok: bool
    status: str  # the newest round's, or "missed" when one is overdue, or "none" yet
    last_ok_at: datetime | None
    age_s: float | None  # since the newest round was sent
    ms: int | None  # the newest acknowledged round: sent to acknowledged


def _overdue() -> timedelta:
    return timedelta(seconds=settings.MSA_PROBE_INTERVAL_S + settings.MSA_PROBE_LATE_S)


def probe_health(*, centre_id: int | None = None) -> list[ProbeHealth]:
    """Each enrolled probe's path: in order (``ok``) or not, and why. A probe enrolled less
    than one interval ago with no round yet is in order."""
    now = clock.now()
    paths = [ProbePath.DATA] + ([ProbePath.SMS] if settings.MSA_PROBE_SMS_LOOPBACK else [])
    found = []
    devices = Device.objects.filter(status=DeviceStatus.ACTIVE, case__is_probe=True)
    if centre_id is not None:
        devices = devices.filter(case__police_zone__covered_by=centre_id)
    for device in devices.select_related("case__police_zone").order_by("pk"):
        centre = device.case.police_zone.covered_by_id  # type: ignore[union-attr]
        assert centre is not None
        for path in paths:
            rounds = ProbeRound.objects.filter(centre_id=centre, path=path)
            newest = rounds.order_by("-sent_at", "-pk").first()
            good = rounds.filter(status=ProbeStatus.OK).order_by("-sent_at").first()
            last_ok_at = good.acknowledged_at if good else None
            if newest is None or newest.sent_at < device.enrolled_at:
                due = now - device.enrolled_at > _overdue()
                status, age, ms = ("missed" if due else "none"), None, None
                ok = not due
            else:
                age = (now - newest.sent_at).total_seconds()
                status = newest.status
                ms = (
                    round(_elapsed_s(newest, newest.acknowledged_at) * 1000)
                    if newest.acknowledged_at
                    else None
                )
                if newest.status == ProbeStatus.PENDING:
                    ok = age <= settings.MSA_PROBE_LATE_S
                    status = ProbeStatus.PENDING if ok else ProbeStatus.LATE
                elif newest.status == ProbeStatus.OK and age > _overdue().total_seconds():
                    ok, status = False, ProbeStatus.MISSED
                else:
                    ok = newest.status == ProbeStatus.OK
            found.append(
                ProbeHealth(
                    centre_id=centre,
                    path=str(path),
                    ok=ok,
                    status=str(status),
                    last_ok_at=last_ok_at,
                    age_s=round(age, 1) if age is not None else None,
                    ms=ms,
                )
            )
    return found


def _alert_once(round_: ProbeRound) -> bool:
    """The first bad round after a good one (or after enrolment) tells the supervisor."""
    if round_.status not in BAD:
        return False
    with transaction.atomic():
        earlier = (
            ProbeRound.objects.select_for_update()
            .filter(centre_id=round_.centre_id, path=round_.path, sent_at__lte=round_.sent_at)
            .exclude(pk=round_.pk)
            .exclude(status=ProbeStatus.PENDING)
            .order_by("-sent_at", "-pk")
        )
        since_good = []
        for row in earlier[:50]:
            if row.status == ProbeStatus.OK:
                break
            since_good.append(row)
        if any(row.alerted_at for row in since_good):
            return False
        centre = Organisation.objects.get(pk=round_.centre_id)
        recipient = settings.MSA_SUPERVISOR_ALERT_TO or f"supervisor@{centre.code}"
        message_enqueue(
            channel=MessageChannel.EMAIL if "@" in recipient else MessageChannel.SMS,
            recipient=recipient,
            subject=f"MSA {centre.code}: alarm path probe {round_.status}",
            body=(
                f"The {round_.path} path probe of {centre.code} is {round_.status}"
                f" ({round_.error or 'no detail'}), sent at {format_time(round_.sent_at)}."
                " Alarms may not reach the consoles: check the centre and take alarms by phone"
                " until the probe is in order again."
            ),
            actor=PROBE,
            about=centre,
        )
        round_.alerted_at = clock.now()
        round_.save(update_fields=["alerted_at"])
    log.warning(
        "probe_alerted centre=%s path=%s status=%s", centre.code, round_.path, round_.status
    )
    return True


@dataclass(frozen=True, slots=True)
class _Claim:
    pending: ProbeRound | None = None  # the round of the path still waiting (SMS)
    due: bool = False  # this worker sends the next round now
    missed: ProbeRound | None = None  # recorded now: a round was due long ago and never sent


def _claim(device: Device, path: ProbePath) -> _Claim:
    """What to do for ``path`` of ``device``, decided under the probe device's row lock, so
    that of several workers running this sweep only one sends a round."""
    now = clock.now()
    with transaction.atomic():
        locked = Device.objects.select_for_update(skip_locked=True).filter(pk=device.pk).first()
        if locked is None:
            return _Claim()
        centre = device.case.police_zone.covered_by_id  # type: ignore[union-attr]
        assert centre is not None
        newest = (
            ProbeRound.objects.filter(centre_id=centre, path=path)
            .order_by("-sent_at", "-pk")
            .first()
        )
        if newest is not None and newest.status == ProbeStatus.PENDING:
            return _Claim(pending=newest)
        missed = None
        since = newest.sent_at if newest is not None else device.enrolled_at
        if newest is not None and now - since > _overdue():
            missed = ProbeRound.objects.create(
                centre_id=centre,
                path=path,
                alarm_id=uuid.uuid4(),
                status=ProbeStatus.MISSED,
                sent_at=since + timedelta(seconds=settings.MSA_PROBE_INTERVAL_S),
                error=f"no round for {int((now - since).total_seconds())} s",
            )
        due = newest is None or now - newest.sent_at >= timedelta(
            seconds=settings.MSA_PROBE_INTERVAL_S
        )
        return _Claim(due=due, missed=missed)


def sweep_probe(post: Poster | None = None) -> int:
    """The worker's probe round (slow loop): for each enrolled probe, a round of each path
    that is due, and the pending SMS rounds checked; the number of rounds that ended."""
    ended = 0
    for device in probe_devices():
        claim = _claim(device, ProbePath.DATA)
        if claim.missed is not None:
            _alert_once(claim.missed)
        if claim.due:
            round_ = probe_round_data(device=device, post=post or default_poster())
            _alert_once(round_)
            ended += 1
        if not settings.MSA_PROBE_SMS_LOOPBACK:
            continue
        claim = _claim(device, ProbePath.SMS)
        if claim.missed is not None:
            _alert_once(claim.missed)
        if claim.pending is not None:
            checked = probe_sms_check(device=device, round_=claim.pending)
            if checked.status != ProbeStatus.PENDING:
                _alert_once(checked)
                ended += 1
        elif claim.due:
            probe_round_sms_send(device=device)
    return ended
