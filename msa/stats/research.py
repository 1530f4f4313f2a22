"""The pseudonymised research export for university evaluators: a ZIP of CSV files and their
data dictionary (docs/indicators.md, "Research export").

What it never holds: a name, a phone number, an address, a free text, an incident or case
reference, a device id, an exact position or an exact time of day. Cases and incidents are
named by stable pseudonyms, ``C-`` / ``I-`` and 12 hex digits of HMAC-SHA256 over the row's id
with ``MSA_RESEARCH_KEY`` (empty: a key derived from ``MSA_LOOKUP_KEY`` for this purpose only),
so that two exports with the same key join and nobody without it can go back to the row.
Positions are the centre of their ``MSA_RESEARCH_GRID_M`` grid cell; times are the month (cases),
the hour (incidents) or seconds after the alarm (milestones, positions).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import math
import zipfile
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from msa.alarms.models import Incident, LocationFix, RepeatPress
from msa.alarms.states import Lane
from msa.audit.services import audit_record
from msa.cases.models import ProtectionCase
from msa.core.actors import Actor
from msa.core.crypto import keyring
from msa.stats.areas import Area
from msa.stats.indicators import Period

EARTH_M_PER_DEG = 111_320.0

DICTIONARY: tuple[tuple[str, str, str], ...] = (
    ("cases.csv", "case", "pseudonym of the protection case (C- + 12 hex; stable per key)"),
    ("cases.csv", "zone", "police zone code"),
    ("cases.csv", "relation", "relation of the suspect to the victim (ex_partner, family, ...)"),
    ("cases.csv", "status", "state of the case now"),
    ("cases.csv", "risk_level", "current risk level (low, medium, high, extreme; empty: none)"),
    ("cases.csv", "activated_month", "month the protection began (YYYY-MM)"),
    ("cases.csv", "ended_month", "month it ended (YYYY-MM; empty: not ended)"),
    ("cases.csv", "protection_days", "whole days from activation to end (empty: not ended)"),
    ("cases.csv", "end_reason", "why it ended (review, expired, consent_withdrawn, ...)"),
    ("incidents.csv", "incident", "pseudonym of the incident (I- + 12 hex; stable per key)"),
    ("incidents.csv", "case", "pseudonym of its case (as in cases.csv)"),
    ("incidents.csv", "zone", "police zone code of the case"),
    ("incidents.csv", "lane", "live or test"),
    ("incidents.csv", "trigger", "button, app, duress or test"),
    ("incidents.csv", "channels", "how it arrived, joined by + (data, sms, unverified_sms, aml)"),
    ("incidents.csv", "call_state", "the emergency call at the end (ended, ghost, ...)"),
    ("incidents.csv", "received_hour", "hour of receipt, UTC (YYYY-MM-DDTHH:00Z)"),
    ("incidents.csv", "ack_s", "seconds from receipt to acknowledgement (empty: none)"),
    ("incidents.csv", "dispatch_s", "seconds from receipt to the first unit dispatched"),
    ("incidents.csv", "on_scene_s", "seconds from receipt to the first unit on scene"),
    ("incidents.csv", "close_s", "seconds from receipt to closing"),
    ("incidents.csv", "cancelled", "1: cancelled on the phone (without the duress PIN)"),
    ("incidents.csv", "duress", "1: pressed as duress or cancelled with the duress PIN"),
    ("incidents.csv", "repeat_presses", "presses that joined this incident"),
    ("incidents.csv", "outcome", "outcome recorded by the centre"),
    ("incidents.csv", "violence_before_arrival", "1 / 0 / empty (not recorded)"),
    ("incidents.csv", "victim_injured", "1 / 0 / empty (not recorded)"),
    ("positions.csv", "incident", "pseudonym of the incident (as in incidents.csv)"),
    ("positions.csv", "t_s", "seconds from the incident's receipt to the fix"),
    ("positions.csv", "cell_lat", "latitude of the centre of the fix's grid cell"),
    ("positions.csv", "cell_lon", "longitude of the centre of the fix's grid cell"),
    ("positions.csv", "grid_m", "size of the grid cell in metres (MSA_RESEARCH_GRID_M)"),
    ("positions.csv", "accuracy_m", "reported accuracy, rounded up to 10 m"),
    ("positions.csv", "source", "gps, network, fused or cell"),
)


def _key() -> bytes:
    if settings.MSA_RESEARCH_KEY:
        text = settings.MSA_RESEARCH_KEY
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return hmac.new(keyring().lookup_key, b"msa-research-pseudonyms-v1", hashlib.sha256).digest()


def research_pseudonym(kind: str, pk: int, *, key: bytes) -> str:
    """``C-`` or ``I-`` and 12 hex digits of HMAC-SHA256(key, kind:pk)."""
    digest = hmac.new(key, f"{kind}:{pk}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0].upper()}-{digest[:12]}"


def grid_cell(lat: float, lon: float, grid_m: int) -> tuple[float, float]:
    """The centre of the ``grid_m`` cell holding (lat, lon): latitude rows of ``grid_m``
    metres, and in each row longitude columns of ``grid_m`` metres at the row's centre."""
    dlat = grid_m / EARTH_M_PER_DEG
    row = math.floor(lat / dlat)
    cell_lat = (row + 0.5) * dlat
    dlon = grid_m / (EARTH_M_PER_DEG * max(0.01, math.cos(math.radians(cell_lat))))
    cell_lon = (math.floor(lon / dlon) + 0.5) * dlon
    return round(cell_lat, 5), round(cell_lon, 5)


def _secs(at: datetime | None, since: datetime) -> str | int:
    return "" if at is None else round((at - since).total_seconds())


def _flag(value: bool | None) -> str | int:
    return "" if value is None else int(value)


def _csv(rows: Iterable[Iterable[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@transaction.atomic
def research_export(*, actor: Actor, period: Period, area: Area, reason: str) -> bytes:
    """The ZIP of the incidents received in ``period`` in ``area`` (live and test lanes), their
    cases and positions; audited with the stated purpose and the row counts."""
    key = _key()
    grid_m = settings.MSA_RESEARCH_GRID_M
    lo, hi = period.bounds()
    incidents = list(
        Incident.objects.filter(
            received_at__gte=lo,
            received_at__lt=hi,
            lane__in=(Lane.LIVE, Lane.TEST),
            case__police_zone_id__in=list(area.zone_ids),
            case__is_probe=False,
        )
        .select_related("case__police_zone")
        .order_by("received_at", "pk")
    )
    repeats = Counter(
        RepeatPress.objects.filter(incident__in=[i.pk for i in incidents]).values_list(
            "incident_id", flat=True
        )
    )
    inc_rows: list[list[Any]] = [[c for f, c, _m in DICTIONARY if f == "incidents.csv"]]
    received: dict[int, tuple[str, datetime]] = {}
    for i in incidents:
        pseudonym = research_pseudonym("incident", i.pk, key=key)
        received[i.pk] = (pseudonym, i.received_at)
        inc_rows.append(
            [
                pseudonym,
                research_pseudonym("case", i.case_id, key=key),
                i.case.police_zone.code,
                i.lane,
                i.trigger,
                "+".join(i.channels),
                i.call_state,
                i.received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z"),
                _secs(i.acknowledged_at, i.received_at),
                _secs(i.dispatched_at, i.received_at),
                _secs(i.on_scene_at, i.received_at),
                _secs(i.closed_at, i.received_at),
                int(i.victim_cancelled_at is not None and not i.is_duress),
                int(i.is_duress),
                repeats.get(i.pk, 0),
                i.outcome,
                _flag(i.violence_before_arrival),
                _flag(i.victim_injured),
            ]
        )
    case_ids = sorted({i.case_id for i in incidents})
    case_rows: list[list[Any]] = [[c for f, c, _m in DICTIONARY if f == "cases.csv"]]
    for case in ProtectionCase.objects.filter(pk__in=case_ids).select_related("police_zone"):
        days: str | int = ""
        if case.activated_at and case.ended_at:
            days = (case.ended_at - case.activated_at).days
        case_rows.append(
            [
                research_pseudonym("case", case.pk, key=key),
                case.police_zone.code,
                case.relation,
                case.status,
                case.risk_level,
                case.activated_at.strftime("%Y-%m") if case.activated_at else "",
                case.ended_at.strftime("%Y-%m") if case.ended_at else "",
                days,
                case.end_reason,
            ]
        )
    pos_rows: list[list[Any]] = [[c for f, c, _m in DICTIONARY if f == "positions.csv"]]
    fixes = (
        LocationFix.objects.filter(incident_id__in=list(received))
        .order_by("incident_id", "fix_at")
        .values_list("incident_id", "fix_at", "lat", "lon", "accuracy_m", "source")
    )
    for incident_id, fix_at, lat, lon, accuracy, source in fixes.iterator(chunk_size=5000):
        pseudonym, since = received[incident_id]
        cell_lat, cell_lon = grid_cell(lat, lon, grid_m)
        pos_rows.append(
            [
                pseudonym,
                round((fix_at - since).total_seconds()),
                cell_lat,
                cell_lon,
                grid_m,
                int(math.ceil(accuracy / 10) * 10),
                source,
            ]
        )
    readme = (
        "MSA research export (pseudonymised)\n"
        f"period: {period.start} to {period.end}; area: {area.code or 'all'}; "
        f"grid: {grid_m} m\n"
        "No names, phone numbers, addresses, free text, references or exact positions.\n"
        "Pseudonyms are HMAC-SHA256 over the row id with the deployment's research key:\n"
        "exports made with the same key join on them; see data_dictionary.csv.\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", readme)
        z.writestr("data_dictionary.csv", _csv([("file", "column", "meaning"), *DICTIONARY]))
        z.writestr("cases.csv", _csv(case_rows))
        z.writestr("incidents.csv", _csv(inc_rows))
        z.writestr("positions.csv", _csv(pos_rows))
    audit_record(
        actor=actor,
        action="stats.research",
        subject_type="stats.research_export",
        subject_id=area.code or "all",
        reason=reason,
        new={
            "from": period.start.isoformat(),
            "to": period.end.isoformat(),
            "area": area.code,
            "grid_m": grid_m,
            "cases": len(case_rows) - 1,
            "incidents": len(inc_rows) - 1,
            "positions": len(pos_rows) - 1,
        },
    )
    return buffer.getvalue()
