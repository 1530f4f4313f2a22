"""The audit trail: append-only (ORM and PostgreSQL), hash-chained, verifiable, viewable."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import zoneinfo
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from msa.accounts.models import User
from msa.audit.models import AppendOnlyError, AuditEntry
from msa.audit.services import audit_record
from msa.audit.verify import audit_verify
from msa.core.actors import Actor

pytestmark = pytest.mark.django_db

ON_PG = connection.vendor == "postgresql"


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
                    new={"i": i, "text": "é"},
                )
            )
    return rows


@pytest.fixture
def triggers_off() -> Iterator[None]:
    """Tampering needs the PostgreSQL triggers out of the way (as a DB superuser could)."""
    if ON_PG:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    yield
    if ON_PG:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")


def raw(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_each_row_carries_the_hash_of_the_one_before() -> None:
    rows = write(3)
    assert rows[1].prev_hash == rows[0].row_hash
    assert rows[2].prev_hash == rows[1].row_hash
    result = audit_verify()
    assert result.ok, result.problems
    assert result.checked == AuditEntry.objects.count()


def test_the_orm_refuses_updates_and_deletes() -> None:
    (row,) = write(1)
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=row.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET action = 'x'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry",
    ],
)
def test_postgresql_refuses_update_delete_and_truncate(sql: str) -> None:
    write(1)
    if not ON_PG:
        # SQLite (the embedded default) has no such triggers: there the ORM refuses, and the
        # hash chain shows what raw SQL did (the tests below).
        assert connection.vendor == "sqlite"
        return
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw("SET LOCAL msa.audit_truncate = 'deny'")
        raw(sql)
    assert AuditEntry.objects.count() >= 1


def test_verify_detects_a_modified_row(triggers_off: None) -> None:
    rows = write(4)
    raw("UPDATE audit_auditentry SET reason = %s WHERE id = %s", ["edited", rows[2].pk])
    result = audit_verify()
    assert not result.ok
    assert any(f"entry {rows[2].pk}: content" in p for p in result.problems)


def test_verify_detects_a_deleted_row(triggers_off: None) -> None:
    rows = write(4)
    raw("DELETE FROM audit_auditentry WHERE id = %s", [rows[1].pk])
    result = audit_verify()
    assert not result.ok
    assert any(f"entry {rows[2].pk}: does not follow" in p for p in result.problems)


def test_verify_detects_rows_cut_off_the_end(triggers_off: None) -> None:
    rows = write(3)
    raw("DELETE FROM audit_auditentry WHERE id = %s", [rows[-1].pk])
    result = audit_verify()
    assert not result.ok
    assert any("removed from the end" in p for p in result.problems)


def test_verify_detects_reordered_rows(triggers_off: None) -> None:
    rows = write(4)
    a, b = rows[1], rows[2]
    # Swap the two rows' places: each keeps its content and hashes, under the other's id.
    raw("UPDATE audit_auditentry SET id = %s WHERE id = %s", [-1, a.pk])
    raw("UPDATE audit_auditentry SET id = %s WHERE id = %s", [a.pk, b.pk])
    raw("UPDATE audit_auditentry SET id = %s WHERE id = %s", [b.pk, -1])
    result = audit_verify()
    assert not result.ok
    assert any("does not follow" in p for p in result.problems)


@pytest.mark.django_db(transaction=True)
def test_msa_audit_verify_command(tmp_path: Any) -> None:
    """The CLI on a file database: intact, then tampered."""
    env = {
        **os.environ,
        "MSA_DEMO": "1",
        "MSA_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "msa.settings",
    }
    env.pop("DATABASE_URL", None)  # its own SQLite file, in either test pass
    env.pop("REDIS_URL", None)
    run = [sys.executable, "-m", "msa.cli"]
    subprocess.run([*run, "manage", "migrate", "-v", "0"], env=env, check=True)
    code = (
        "from msa.cli import setup_django; setup_django(demo=True)\n"
        "from django.db import transaction\n"
        "from msa.audit.services import audit_record\n"
        "from msa.core.actors import Actor\n"
        "for i in range(3):\n"
        "    with transaction.atomic():\n"
        "        audit_record(actor=Actor.system('t'), action=f'a{i}', subject_type='t')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    ok = subprocess.run(
        [*run, "audit", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "intact: 3 entries" in ok.stdout
    with sqlite3.connect(tmp_path / "msa.sqlite3") as db:
        db.execute("UPDATE audit_auditentry SET action = 'forged' WHERE action = 'a1'")
    bad = subprocess.run(
        [*run, "audit", "verify"], env=env, capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert "modified" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_viewer_is_for_supervisors_and_administrators_and_is_audited(
    demo: None, client: Client
) -> None:
    write(60)
    for username in ("operator", "reference", "magistrate", "counsellor", "patrol", "analyst"):
        client.force_login(User.objects.get(username=username))
        assert client.get("/audit/").status_code == 404, username
    for username in ("supervisor", "admin"):
        client.force_login(User.objects.get(username=username))
        before = AuditEntry.objects.filter(action="audit.view").count()
        response = client.get("/audit/", {"action": "test.", "page": "2"})
        assert response.status_code == 200
        assert len(response.context["page"].object_list) == 10  # 60 rows, 50 a page
        assert AuditEntry.objects.filter(action="audit.view").count() == before + 1
        last = AuditEntry.objects.filter(action="audit.view").last()
        assert last is not None
        assert last.actor_label == username
        assert last.new["action"] == "test."
        assert last.new["page"] == 2
    client.force_login(User.objects.get(username="admin"))
    response = client.get("/audit/", {"subject_type": "test.thing", "subject_id": "7"})
    assert [e.subject_id for e in response.context["page"]] == ["7"]
    response = client.get("/audit/", {"actor": "supervisor"})
    assert {e.actor_label for e in response.context["page"]} == {"supervisor"}
    assert 'id="nav-audit"' in response.content.decode()


def test_a_row_written_with_a_local_time_still_verifies() -> None:
    brussels = datetime(2026, 5, 4, 23, 14, 3, 123456, tzinfo=zoneinfo.ZoneInfo("Europe/Brussels"))
    with transaction.atomic():
        audit_record(actor=Actor.system("t"), action="local", subject_type="t", at=brussels)
    assert audit_verify().ok
