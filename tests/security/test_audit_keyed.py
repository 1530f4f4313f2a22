"""The audit chain is keyed (issue 11): someone who can write to the database but has no
``MSA_AUDIT_KEY`` cannot delete a row and re-seal the chain; places are gapless; a signed
checkpoint kept outside the database shows rows cut off the end; the re-sealing migration
is itself audited; the production trigger has no TRUNCATE switch."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from msa.audit import chain
from msa.audit.models import AuditChainHead, AuditEntry
from msa.audit.services import audit_key, audit_record
from msa.audit.verify import CheckpointError, audit_checkpoint, audit_verify, checkpoints_read
from msa.core.actors import Actor

pytestmark = pytest.mark.django_db

ON_PG = connection.vendor == "postgresql"
KEYED = import_module("msa.audit.migrations.0004_keyed_chain")


def write(n: int) -> list[AuditEntry]:
    rows = []
    for i in range(n):
        with transaction.atomic():
            rows.append(
                audit_record(
                    actor=Actor.system("test"),
                    action=f"test.{i}",
                    subject_type="test.thing",
                    subject_id=str(i),
                    new={"i": i},
                )
            )
    return rows


def raw(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        if params is None:
            cursor.execute(sql)  # a function body's own % signs are not placeholders
        else:
            cursor.execute(sql, params)


@pytest.fixture
def triggers_off() -> Iterator[None]:
    """Tampering needs the PostgreSQL triggers out of the way (as a DB superuser could)."""
    if ON_PG:
        raw("SET session_replication_role = replica")
    yield
    if ON_PG:
        raw("SET session_replication_role = origin")


def plain_sha256(prev: str, row: AuditEntry) -> str:
    """What anyone can compute without the key: the unkeyed chain of before issue 11."""
    return hashlib.sha256(prev.encode() + b"\x00" + chain.content_of(row)).hexdigest()


def reseal_after(deleted: AuditEntry, hasher: Any, *, renumber: bool) -> None:
    """The attack: delete a row, then recompute every later row's link and hash and the head."""
    raw("DELETE FROM audit_auditentry WHERE id = %s", [deleted.pk])
    prev = chain.GENESIS
    count = 0
    last_id = 0
    for row in AuditEntry.objects.order_by("id"):
        count += 1
        if renumber:
            row.seq = count
        digest = hasher(prev, row)
        raw(
            "UPDATE audit_auditentry SET seq = %s, prev_hash = %s, row_hash = %s WHERE id = %s",
            [row.seq, prev, digest, row.pk],
        )
        prev, last_id = digest, row.pk
    raw(
        "UPDATE audit_auditchainhead SET last_hash = %s, last_id = %s, count = %s WHERE id = 1",
        [prev, last_id, count],
    )


def test_a_deleted_row_resealed_with_plain_sha256_no_longer_verifies(triggers_off: None) -> None:
    rows = write(4)
    assert audit_verify().ok
    reseal_after(rows[1], plain_sha256, renumber=True)
    result = audit_verify()
    assert not result.ok
    assert any("content does not match its hash" in p for p in result.problems)


def test_a_reseal_with_the_wrong_key_no_longer_verifies(triggers_off: None) -> None:
    rows = write(4)
    wrong = b"k" * 32
    reseal_after(
        rows[2], lambda prev, row: chain.row_hash(wrong, prev, chain.content_of(row)), renumber=True
    )
    assert not audit_verify().ok


def test_places_are_gapless_even_where_the_links_were_mended(triggers_off: None) -> None:
    """Relinked with the key but not renumbered: the missing place shows."""
    rows = write(4)
    key = audit_key()
    reseal_after(
        rows[1], lambda prev, row: chain.row_hash(key, prev, chain.content_of(row)), renumber=False
    )
    result = audit_verify()
    assert not result.ok
    assert any(
        f"entry {rows[2].pk}: at place 3 of the chain, expected 2" in p for p in result.problems
    )


def test_a_checkpoint_shows_rows_cut_off_the_end_with_the_head_rewound(
    triggers_off: None, tmp_path: Path
) -> None:
    rows = write(3)
    path = tmp_path / "checkpoints.jsonl"
    path.write_text(audit_checkpoint().as_json() + "\n")
    assert audit_verify(checkpoints=checkpoints_read(path)).ok
    # Cut the last row and rewind the (unsigned) head to the row before: the chain alone holds.
    raw("DELETE FROM audit_auditentry WHERE id = %s", [rows[-1].pk])
    before = rows[-2]
    raw(
        "UPDATE audit_auditchainhead SET last_hash = %s, last_id = %s, count = count - 1 "
        "WHERE id = 1",
        [before.row_hash, before.pk],
    )
    assert audit_verify().ok
    result = audit_verify(checkpoints=checkpoints_read(path))
    assert not result.ok
    assert any("entries were removed" in p for p in result.problems)


def test_a_forged_checkpoint_is_refused(tmp_path: Path) -> None:
    write(2)
    point = json.loads(audit_checkpoint().as_json())
    point["seq"] += 5
    path = tmp_path / "forged.jsonl"
    path.write_text(json.dumps(point) + "\n")
    with pytest.raises(CheckpointError, match="signature"):
        checkpoints_read(path)
    path.write_text("not json\n")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        checkpoints_read(path)


def test_the_key_is_not_in_the_database() -> None:
    write(1)
    key = audit_key()
    assert len(key) >= chain.KEY_MIN_BYTES
    encoded = {key.hex(), os.environ["MSA_AUDIT_KEY"]}
    for head in AuditChainHead.objects.values_list("last_hash", flat=True):
        assert head not in encoded
    assert not AuditEntry.objects.filter(new__icontains=os.environ["MSA_AUDIT_KEY"]).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_reseals_an_existing_chain_once_and_audits_it() -> None:
    """A chain of the unkeyed kind (migration 0003's state) is checked, re-sealed under the key,
    and the re-sealing is the next entry of the new chain."""
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0003_append_only_triggers")])
    old_apps = executor.loader.project_state(("audit", "0003_append_only_triggers")).apps
    entry_model = old_apps.get_model("audit", "AuditEntry")
    head_model = old_apps.get_model("audit", "AuditChainHead")
    prev = chain.GENESIS
    legacy = import_module("msa.audit.migrations.0002_hash_chain")
    ids = []
    for i in range(3):
        row = entry_model(
            at=datetime(2026, 1, 1, 12, i, tzinfo=UTC),
            actor_kind="system",
            actor_label="old",
            action=f"old.{i}",
            subject_type="t",
            subject_id=str(i),
            old={},
            new={},
            reason="",
            correlation_id="",
            prev_hash=prev,
        )
        row.row_hash = legacy.legacy_hash(prev, legacy.legacy_content(row))
        row.save()
        prev = row.row_hash
        ids.append(row.pk)
    head_model.objects.update_or_create(
        pk=1, defaults={"last_hash": prev, "last_id": ids[-1], "count": 3}
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0004_keyed_chain")])
    if ON_PG:  # 0004 installed the production trigger: give the test database its switch back
        raw(KEYED.WITH_TEST_SWITCH)
    result = audit_verify()
    assert result.ok, result.problems
    assert result.checked == 4
    resealed = AuditEntry.objects.filter(action="audit.chain_resealed").get()
    assert resealed.seq == 4
    assert resealed.new == {"entries": 3, "old_chain_intact": True, "keyed": True}
    assert resealed.old == {"head": prev, "count": 3}
    assert list(AuditEntry.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3, 4]


@pytest.mark.postgres_only
def test_the_production_trigger_refuses_truncate_even_with_the_switch() -> None:
    write(1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(KEYED.REFUSE_ALWAYS)  # the production function (rolled back with the transaction)
        raw("SET LOCAL msa.audit_truncate = 'allow'")
        raw("TRUNCATE audit_auditentry")
    assert AuditEntry.objects.exists()


def test_the_migration_installs_no_truncate_switch() -> None:
    """The function production gets names no session setting that would let TRUNCATE through."""
    assert "current_setting" not in KEYED.REFUSE_ALWAYS
    assert "audit_truncate" not in KEYED.REFUSE_ALWAYS


@pytest.mark.django_db(transaction=True)
def test_msa_audit_checkpoint_and_verify_against_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MSA_DEMO": "0",
        "MSA_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "msa.settings",
    }
    env.pop("DATABASE_URL", None)  # its own SQLite file, in either test pass
    env.pop("REDIS_URL", None)
    run = [sys.executable, "-m", "msa.cli"]
    subprocess.run([*run, "manage", "migrate", "-v", "0"], env=env, check=True)
    code = (
        "from msa.cli import setup_django; setup_django()\n"
        "from django.db import transaction\n"
        "from msa.audit.services import audit_record\n"
        "from msa.core.actors import Actor\n"
        "for i in range(3):\n"
        "    with transaction.atomic():\n"
        "        audit_record(actor=Actor.system('t'), action=f'a{i}', subject_type='t')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    points = tmp_path / "points.jsonl"

    def msa(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run, *args], env={**env, **extra}, capture_output=True, text=True, check=False
        )

    assert msa("audit", "checkpoint", str(points)).returncode == 0
    printed = msa("audit", "checkpoint")
    assert json.loads(printed.stdout)["seq"] == 3
    ok = msa("audit", "verify", "--checkpoint", str(points))
    assert ok.returncode == 0, ok.stderr
    assert "intact: 3 entries, 1 checkpoint(s) matched" in ok.stdout
    with sqlite3.connect(tmp_path / "msa.sqlite3") as db:
        db.execute("DELETE FROM audit_auditentry WHERE action = 'a2'")
        db.execute(
            "UPDATE audit_auditchainhead SET count = 2, last_id = (SELECT id FROM "
            "audit_auditentry WHERE action = 'a1'), last_hash = (SELECT row_hash FROM "
            "audit_auditentry WHERE action = 'a1')"
        )
    assert msa("audit", "verify").returncode == 0  # the chain alone cannot see a cut end
    bad = msa("audit", "verify", "--checkpoint", str(points))
    assert bad.returncode == 1
    assert "entries were removed" in bad.stderr
    # Another key (a forger's) cannot write a checkpoint this trail accepts.
    assert (
        msa("audit", "verify", "--checkpoint", str(points), MSA_AUDIT_KEY="Z" * 43).returncode == 2
    )
    missing = msa("audit", "verify", "--checkpoint", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def test_a_production_start_without_the_key_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "MSA_DEMO": "0", "MSA_DATA_DIR": str(tmp_path)}
    env.pop("MSA_AUDIT_KEY")
    env["DJANGO_SETTINGS_MODULE"] = "msa.settings"
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode != 0
    assert "MSA_AUDIT_KEY must be set" in out.stderr
    env["MSA_AUDIT_KEY"] = "c2hvcnQ"  # "short"
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "at least 32 bytes" in out.stderr
