"""The evidence bundle: one incident as a ZIP that a court expert can check without MSA.

The ZIP holds the incident (``incident.json``: what, where from, milestones, outcome), its
timeline (``timeline.json``), every position (``positions.json``), the call's events
(``call.json``), the operators' actions (``actions.json``), the same as a readable PDF
(``report.pdf``), the centre's public key (``centre-public-key.pem``), and ``manifest.json``:
the size and SHA-256 of every other file, signed with the centre's Ed25519 key in
``manifest.sig`` (the 64 raw bytes of the signature over the exact bytes of
``manifest.json``). docs/evidence.md is the format's description.

``bundle_verify`` needs nothing of Django: it is what ``msa evidence verify`` runs, and what
docs/evidence.md spells out for somebody who has only the ZIP and the centre's public key.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from msa.alarms.models import Incident
from msa.audit.models import AuditEntry
from msa.audit.services import audit_record, subject_type_of
from msa.core import clock
from msa.core.actors import Actor
from msa.core.errors import ConfigurationError, ValidationError
from msa.core.pdf import render_pdf
from msa.dispatch.models import Dispatch, DispatchTransition, IncidentNote
from msa.evaluation.selectors import MILESTONES

MILESTONE_LABELS = (
    *MILESTONES,
    ("victim_cancelled_at", _("cancelled on the phone")),
    ("duress_at", _("duress signalled")),
    ("track_until", _("tracking until")),
    ("supervisor_alerted_at", _("supervisor alerted (not acknowledged in time)")),
    ("backup_offered_at", _("offered to the backup centre")),
    ("dispatch_overdue_at", _("dispatch overdue")),
    ("on_scene_breach_at", _("on-scene target missed")),
)

FORMAT = "msa-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "centre-public-key.pem"
CONTENT = ("incident.json", "timeline.json", "positions.json", "call.json", "actions.json")
REPORT = "report.pdf"
MAX_REASON = 500


# --- the centre's key ---------------------------------------------------------------------------


def signing_key() -> Ed25519PrivateKey:
    """The centre's signing key (``MSA_EVIDENCE_SIGNING_KEY``: base64url of the 32-byte seed)."""
    raw = str(settings.MSA_EVIDENCE_SIGNING_KEY or "")
    if not raw:
        raise ConfigurationError("MSA_EVIDENCE_SIGNING_KEY is not set: no bundle can be signed")
    try:
        seed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise ConfigurationError("MSA_EVIDENCE_SIGNING_KEY must be base64url of 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_pem(key: Ed25519PublicKey | None = None) -> bytes:
    """The centre's public key as PEM (SubjectPublicKeyInfo), what it hands to courts."""
    public = key or signing_key().public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the 32 raw bytes of the public key, hex."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_key_load(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError("not an Ed25519 public key")
    return key


# --- what goes in -------------------------------------------------------------------------------


def _t(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def incident_record(incident: Incident) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "reference": incident.reference,
        "centre": {"code": incident.centre.code, "name": incident.centre.name},
        "case": incident.case.reference,
        "police_zone": incident.case.police_zone.code,
        "device": incident.device.device_id if incident.device is not None else None,
        "alarm_id": str(incident.alarm_id) if incident.alarm_id else None,
        "alarm_ref": incident.alarm_ref,
        "trigger": incident.trigger,
        "lane": incident.lane,
        "channels": list(incident.channels),
        "status": incident.status,
        "flags": incident.flags,
        "unverified_reason": incident.unverified_reason,
        "milestones": {
            "pressed_at": _t(incident.pressed_at),
            "received_at": _t(incident.received_at),
            "acknowledged_at": _t(incident.acknowledged_at),
            "dispatched_at": _t(incident.dispatched_at),
            "on_scene_at": _t(incident.on_scene_at),
            "closed_at": _t(incident.closed_at),
            "call_answered_at": _t(incident.call_answered_at),
            "call_ended_at": _t(incident.call_ended_at),
            "victim_cancelled_at": _t(incident.victim_cancelled_at),
            "duress_at": _t(incident.duress_at),
            "track_until": _t(incident.track_until),
        },
        "escalations": {
            "supervisor_alerted_at": _t(incident.ack_escalated_at),
            "backup_offered_at": _t(incident.backup_offered_at),
            "backup_centre": incident.backup_centre.code if incident.backup_centre else None,
            "dispatch_overdue_at": _t(incident.dispatch_overdue_at),
            "on_scene_breach_at": _t(incident.on_scene_breach_at),
        },
        "outcome": {
            "outcome": incident.outcome,
            "violence_before_arrival": incident.violence_before_arrival,
            "victim_injured": incident.victim_injured,
        },
        "repeat_presses": [
            {
                "trigger": r.trigger,
                "channel": r.channel,
                "pressed_at": _t(r.pressed_at),
                "received_at": _t(r.received_at),
            }
            for r in incident.repeat_presses.order_by("received_at", "id")
        ],
    }


def positions_record(incident: Incident) -> list[dict[str, Any]]:
    """The device's own fixes, then the network's AML positions (kept apart: ``kind``)."""
    return [
        {
            "kind": "device",
            "source": f.source,
            "lat": f.lat,
            "lon": f.lon,
            "accuracy_m": f.accuracy_m,
            "fix_at": _t(f.fix_at),
            "received_at": _t(f.received_at),
            "channel": f.channel,
            "speed_mps": f.speed_mps,
            "heading_deg": f.heading_deg,
            "altitude_m": f.altitude_m,
        }
        for f in incident.fixes.order_by("fix_at", "id")
    ] + [
        {
            "kind": "aml",
            "source": f"aml:{a.method}",
            "lat": a.lat,
            "lon": a.lon,
            "accuracy_m": a.radius_m,
            "fix_at": _t(a.fix_at),
            "received_at": _t(a.received_at),
            "channel": a.shape,
            "confidence_pct": a.confidence_pct,
            "altitude_m": a.altitude_m,
        }
        for a in incident.aml_positions.order_by("received_at", "id")
    ]


def _history(rows: Iterable[Any], what: str) -> list[dict[str, Any]]:
    return [
        {
            "what": what,
            "transition": r.transition,
            "from": r.from_state,
            "to": r.to_state,
            "actor": r.actor_label,
            "reason": r.reason,
            "at": _t(r.at),
        }
        for r in rows
    ]


def call_record(incident: Incident) -> list[dict[str, Any]]:
    return _history(incident.call_transitions.order_by("at", "id"), "call")


def actions_record(incident: Incident) -> dict[str, Any]:
    dispatches = list(Dispatch.objects.filter(incident=incident).select_related("unit"))
    return {
        "incident_transitions": _history(incident.transitions.order_by("at", "id"), "incident"),
        "dispatches": [
            {
                "unit": d.unit.call_sign,
                "status": d.status,
                "eta_s": d.eta_s,
                "assigned_at": _t(d.assigned_at),
                "en_route_at": _t(d.en_route_at),
                "on_scene_at": _t(d.on_scene_at),
                "cleared_at": _t(d.cleared_at),
                "history": _history(
                    DispatchTransition.objects.filter(subject=d).order_by("at", "id"), "dispatch"
                ),
            }
            for d in dispatches
        ],
        "notes": [
            {"author": n.author_label, "at": _t(n.at), "text": n.text}
            for n in IncidentNote.objects.filter(incident=incident).order_by("at", "id")
        ],
        # the audit trail's rows about the incident: their seq and hash tie the bundle to the
        # centre's chain (msa audit verify)
        "audit": [
            {
                "seq": a.seq,
                "at": _t(a.at),
                "actor": a.actor_label,
                "action": a.action,
                "reason": a.reason,
                "row_hash": a.row_hash,
            }
            for a in AuditEntry.objects.filter(
                subject_type=subject_type_of(incident), subject_id=str(incident.pk)
            ).order_by("seq")
        ],
    }


def timeline_record(incident: Incident) -> list[dict[str, Any]]:
    """Everything that happened, in time order: the centre's event log and every history."""
    rows: list[dict[str, Any]] = [
        {"at": _t(e.at), "what": "event", "type": e.type, "seq": e.seq, "payload": e.payload}
        for e in incident.events.order_by("at", "seq")
    ]
    rows += _history(incident.transitions.all(), "incident")
    rows += _history(incident.call_transitions.all(), "call")
    rows += _history(
        DispatchTransition.objects.filter(subject__incident=incident).select_related("subject"),
        "dispatch",
    )
    rows += [
        {"at": _t(n.at), "what": "note", "actor": n.author_label}
        for n in IncidentNote.objects.filter(incident=incident)
    ]
    rows.sort(key=lambda r: (r["at"] or "", r["what"]))
    return rows


# --- building, signing --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bundle:
    data: bytes
    filename: str
    manifest_sha256: str


def _zip(files: list[tuple[str, bytes]], at: datetime) -> bytes:
    out = io.BytesIO()
    stamp = at.timetuple()[:6]
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)
    return out.getvalue()


def _report_html(
    records: dict[str, Any], *, now: datetime, actor: Actor, reason: str, key: Ed25519PrivateKey
) -> str:
    incident = records["incident.json"]
    labels = {key: str(label) for key, label in MILESTONE_LABELS}
    milestones = [
        (labels.get(key, key.replace("_", " ")), at)
        for key, at in [*incident["milestones"].items(), *incident["escalations"].items()]
        if at is not None and key != "backup_centre"
    ]
    return render_to_string(
        "evaluation/evidence_report.html",
        {
            "incident": incident,
            "milestones": milestones,
            "timeline": records["timeline.json"],
            "positions": records["positions.json"],
            "call": records["call.json"],
            "actions": records["actions.json"],
            "exported_at": now,
            "exported_by": actor.label,
            "reason": reason,
            "fingerprint": public_key_fingerprint(key.public_key()),
        },
    )


@transaction.atomic(durable=True)
def bundle_export(*, incident: Incident, actor: Actor, reason: str, language: str = "") -> Bundle:
    """Build and sign the bundle of ``incident``; audited with the reader's reason (the caller
    has checked that the reader may: ``msa.evaluation.selectors.evidence_incident_get``)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            gettext_noop("state why the bundle is exported"), fields={"reason": "required"}
        )
    if len(reason) > MAX_REASON:
        raise ValidationError(gettext_noop("the reason is too long"), fields={"reason": "too long"})
    key = signing_key()
    now = clock.now()
    incident = Incident.objects.select_related(
        "centre", "case__police_zone", "device", "backup_centre"
    ).get(pk=incident.pk)
    records = {
        "incident.json": incident_record(incident),
        "timeline.json": timeline_record(incident),
        "positions.json": positions_record(incident),
        "call.json": call_record(incident),
        "actions.json": actions_record(incident),
    }
    files = [(name, _json(records[name])) for name in CONTENT]
    with translation.override(language or None):
        html = _report_html(records, now=now, actor=actor, reason=reason, key=key)
    files.append((REPORT, render_pdf(html)))
    files.append((PUBLIC_KEY, public_key_pem(key.public_key())))
    manifest = _json(
        {
            "format": FORMAT,
            "incident": incident.reference,
            "centre": incident.centre.code,
            "exported_at": now.isoformat(),
            "exported_by": actor.label,
            "reason": reason,
            "hash": "sha256",
            "signature": {
                "algorithm": "Ed25519",
                "file": SIGNATURE,
                "signs": MANIFEST,
                "public_key_sha256": public_key_fingerprint(key.public_key()),
            },
            "files": [
                {"name": name, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}
                for name, content in files
            ],
        }
    )
    signature = key.sign(manifest)
    digest = hashlib.sha256(manifest).hexdigest()
    audit_record(
        actor=actor,
        action="evidence.export",
        subject=incident,
        new={"manifest_sha256": digest, "files": len(files) + 2},
        reason=reason,
        at=now,
    )
    data = _zip([*files, (MANIFEST, manifest), (SIGNATURE, signature)], now)
    return Bundle(data=data, filename=f"evidence-{incident.reference}.zip", manifest_sha256=digest)


# --- verifying (no Django) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


def _read_members(zf: zipfile.ZipFile) -> tuple[list[str], dict[str, bytes], list[Problem]]:
    names = [i.filename for i in zf.infolist()]
    problems = [
        Problem(name, "appears more than once")
        for name in sorted({n for n in names if names.count(n) > 1})
    ]
    contents: dict[str, bytes] = {}
    for name in dict.fromkeys(names):
        try:
            contents[name] = zf.read(name)
        except Exception as exc:  # noqa: BLE001 - a bad CRC, header or deflate stream: damaged
            problems.append(Problem(name, f"damaged in the ZIP: {exc}"))
    return names, contents, problems


def _check_files(
    names: list[str], contents: dict[str, bytes], expected: dict[str, tuple[int, str]]
) -> list[Problem]:
    problems = []
    for name, (size, sha) in expected.items():
        content = contents.get(name)
        if content is None:
            if name not in names:
                problems.append(Problem(name, "listed in the manifest but missing"))
        elif len(content) != size or hashlib.sha256(content).hexdigest() != sha:
            problems.append(Problem(name, "changed: its SHA-256 is not the manifest's"))
    problems += [
        Problem(name, "not listed in the manifest (added)")
        for name in dict.fromkeys(names)
        if name not in expected and name not in {MANIFEST, SIGNATURE}
    ]
    return problems


def _check_bundled_key(contents: dict[str, bytes], public_key: Ed25519PublicKey) -> list[Problem]:
    key_file = contents.get(PUBLIC_KEY)
    if key_file is None:
        return []
    try:
        bundled = public_key_load(key_file)
    except (TypeError, ValueError):
        return [Problem(PUBLIC_KEY, "not an Ed25519 public key")]
    if public_key_fingerprint(bundled) != public_key_fingerprint(public_key):
        return [Problem(PUBLIC_KEY, "not the key this bundle is checked with")]
    return []


def bundle_verify(data: bytes, public_key: Ed25519PublicKey) -> list[Problem]:
    """Every reason not to trust the bundle (empty: untouched and signed by ``public_key``)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        return [Problem("(bundle)", f"not a readable ZIP file: {exc}")]
    names, contents, problems = _read_members(zf)
    manifest, signature = contents.get(MANIFEST), contents.get(SIGNATURE)
    if manifest is None:
        return [*problems, Problem(MANIFEST, "missing or damaged")]
    if signature is None:
        return [*problems, Problem(SIGNATURE, "missing or damaged")]
    try:
        public_key.verify(signature, manifest)
    except InvalidSignature:
        problems.append(
            Problem(
                MANIFEST,
                f"the signature in {SIGNATURE} does not verify with the centre's key "
                "(the manifest or its signature changed, or another key signed it)",
            )
        )
    try:
        listed = json.loads(manifest)["files"]
        expected = {str(f["name"]): (int(f["bytes"]), str(f["sha256"])) for f in listed}
    except (ValueError, KeyError, TypeError) as exc:
        return [*problems, Problem(MANIFEST, f"unreadable: {exc}")]
    return (
        problems
        + _check_files(names, contents, expected)
        + _check_bundled_key(contents, public_key)
    )
