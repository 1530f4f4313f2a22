"""The evidence bundle: exported with its reason (audited), verified, and refused — naming the
file — once any byte of any file, the manifest or its signature changed, a file is missing or
added, or another key is used."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from msa.accounts.models import User
from msa.alarms.models import AmlPosition, Incident
from msa.alarms.services.tracking import FixInput, alarm_locations_add
from msa.alarms.states import Outcome
from msa.audit.models import AuditEntry
from msa.cli import main
from msa.core.actors import Actor
from msa.core.clock import Clock
from msa.core.errors import ValidationError
from msa.dispatch.services.console import (
    incident_acknowledge,
    incident_close,
    incident_note_add,
    incident_outcome_record,
)
from msa.evaluation.evidence import (
    CONTENT,
    MANIFEST,
    PUBLIC_KEY,
    REPORT,
    SIGNATURE,
    bundle_export,
    bundle_verify,
    public_key_load,
    public_key_pem,
    signing_key,
)
from tests.support.factories import press

NOW = datetime(2026, 5, 1, 21, 14, 3, tzinfo=UTC)


def _incident() -> Incident:
    operator = Actor.for_user(User.objects.get(username="operator"))
    incident = press(1, at=NOW).incident
    assert incident.device is not None
    assert incident.alarm_id is not None
    later = NOW + timedelta(seconds=10)
    alarm_locations_add(
        device=incident.device,
        alarm_id=incident.alarm_id,
        fixes=[FixInput(lat=51.051, lon=3.721, accuracy_m=8, fix_at=later, source="gps")],
        actor=Actor.device(incident.device.device_id),
    )
    AmlPosition.objects.create(
        incident=incident,
        lat=51.06,
        lon=3.73,
        radius_m=40,
        fix_at=later,
        method="wifi",
        shape="sms_v1",
        received_at=later + timedelta(seconds=2),
    )
    incident = incident_acknowledge(incident=incident, actor=operator)
    incident_note_add(incident=incident, actor=operator, text="Silent call, breathing heard.")
    incident = incident_outcome_record(
        incident=incident, actor=operator, outcome=Outcome.ARRESTED_ON_SCENE
    )
    return incident_close(incident=incident, actor=operator)


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _rezip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info, content in members:
            zf.writestr(info, content)
    return out.getvalue()


def _changed(data: bytes, name: str) -> bytes:
    """The bundle with one byte of ``name`` changed (a well-formed ZIP around it)."""
    members = []
    for info, content in _members(data):
        flipped = bytearray(content)
        if info.filename == name:
            flipped[len(content) // 2] ^= 0x01
        members.append((info, bytes(flipped)))
    return _rezip(members)


@pytest.fixture
def bundle(demo: None, clock: Clock) -> bytes:
    clock.freeze(NOW)
    incident = _incident()
    clock.advance(timedelta(days=3))
    actor = Actor.for_user(User.objects.get(username="magistrate"))
    with pytest.raises(ValidationError):
        bundle_export(incident=incident, actor=actor, reason="  ")
    made = bundle_export(incident=incident, actor=actor, reason="Case 26/1234, hearing 5 May")
    entry = AuditEntry.objects.get(action="evidence.export")
    assert (entry.reason, entry.actor_label) == ("Case 26/1234, hearing 5 May", "magistrate")
    assert entry.new["manifest_sha256"] == made.manifest_sha256
    return made.data


@pytest.mark.django_db
def test_an_untouched_bundle_verifies_and_holds_what_it_says(bundle: bytes) -> None:
    key = signing_key().public_key()
    assert bundle_verify(bundle, key) == []
    files = {i.filename: c for i, c in _members(bundle)}
    assert set(files) == {*CONTENT, REPORT, PUBLIC_KEY, MANIFEST, SIGNATURE}
    assert files[REPORT].startswith(b"%PDF-")
    incident = json.loads(files["incident.json"])
    assert incident["outcome"]["outcome"] == "arrested_on_scene"
    assert incident["milestones"]["received_at"] == NOW.isoformat()
    positions = json.loads(files["positions.json"])
    assert all(p["received_at"] for p in positions)
    device = [p for p in positions if p["kind"] == "device"]
    assert [(p["source"], p["accuracy_m"], p["fix_at"]) for p in device][-1] == (
        "gps",
        8,
        (NOW + timedelta(seconds=10)).isoformat(),
    )
    aml = [p for p in positions if p["kind"] == "aml"]
    assert [(p["source"], p["accuracy_m"]) for p in aml] == [("aml:wifi", 40)]
    actions = json.loads(files["actions.json"])
    assert [t["transition"] for t in actions["incident_transitions"]][-2:] == [
        "acknowledge",
        "close",
    ]
    assert actions["notes"][0]["text"] == "Silent call, breathing heard."
    assert json.loads(files["call.json"])[0]["to"] == "dialing"
    assert any(t["what"] == "event" for t in json.loads(files["timeline.json"]))
    manifest = json.loads(files[MANIFEST])
    assert manifest["reason"] == "Case 26/1234, hearing 5 May"
    assert {f["name"] for f in manifest["files"]} == {*CONTENT, REPORT, PUBLIC_KEY}


@pytest.mark.django_db
def test_a_changed_byte_anywhere_is_refused_naming_the_file(bundle: bytes) -> None:
    key = signing_key().public_key()
    for name in [*CONTENT, REPORT, PUBLIC_KEY, MANIFEST, SIGNATURE]:
        problems = bundle_verify(_changed(bundle, name), key)
        # a changed signature makes the manifest's signature fail: named as the manifest
        named = MANIFEST if name == SIGNATURE else name
        assert named in {p.file for p in problems}, (name, problems)
    members = _members(bundle)
    without = _rezip([(i, c) for i, c in members if i.filename != "positions.json"])
    assert [str(p) for p in bundle_verify(without, key)] == [
        "positions.json: listed in the manifest but missing"
    ]
    extra = _rezip([*members, (zipfile.ZipInfo("extra.txt"), b"hello")])
    assert [p.file for p in bundle_verify(extra, key)] == ["extra.txt"]
    # a byte flipped in the ZIP itself, inside a file's compressed data
    raw = bytearray(bundle)
    offset = bundle.index(b"incident.json") + len("incident.json") + 20
    raw[offset] ^= 0xFF
    assert "incident.json" in {p.file for p in bundle_verify(bytes(raw), key)}
    other = Ed25519PrivateKey.generate().public_key()
    assert MANIFEST in {p.file for p in bundle_verify(bundle, other)}
    assert bundle_verify(b"not a zip", key)[0].file == "(bundle)"


@pytest.mark.django_db
def test_the_commands_export_verify_and_print_the_key(
    demo: None, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.freeze(NOW)
    reference = _incident().reference
    out = tmp_path / "bundle.zip"
    assert main(["evidence", "export", reference, "-o", str(out), "--reason", "court"]) == 0
    assert AuditEntry.objects.filter(action="evidence.export", reason="court").count() == 1
    assert main(["evidence", "public-key", "-o", str(tmp_path / "centre.pem")]) == 0
    key = tmp_path / "centre.pem"
    assert public_key_load(key.read_bytes()) is not None
    assert key.read_bytes() == public_key_pem()
    capsys.readouterr()
    assert main(["evidence", "verify", str(out), "--public-key", str(key)]) == 0
    assert "intact" in capsys.readouterr().out
    out.write_bytes(_changed(out.read_bytes(), "positions.json"))
    assert main(["evidence", "verify", str(out)]) == 1
    assert "positions.json: changed" in capsys.readouterr().err
    assert main(["evidence", "export", "NO-SUCH", "-o", str(out), "--reason", "x"]) == 2
