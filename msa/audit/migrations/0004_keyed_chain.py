"""The audit chain becomes keyed (HMAC with ``MSA_AUDIT_KEY``) and gapless (``seq``).

An existing chain is checked under its old, unkeyed rule, then re-sealed once under the key,
and the re-sealing is itself the next audit entry (with the old head and whether the old chain
was intact), so that the one moment the chain was rewritten is on record.

On PostgreSQL the append-only trigger loses its TRUNCATE switch (``msa.audit_truncate``): the
production database refuses TRUNCATE always; the test harness installs its own variant of the
function for its throw-away databases (conftest.py).
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime

from django.conf import settings
from django.db import migrations, models

from msa.audit import chain

GENESIS = "0" * 64

REFUSE_ALWAYS = """
CREATE OR REPLACE FUNCTION msa_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

WITH_TEST_SWITCH = """
CREATE OR REPLACE FUNCTION msa_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('msa.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _legacy_hash(prev_hash, row):
    """The unkeyed rule of 0002 (frozen here), to check the chain before re-sealing it."""
    body = {
        "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_kind": row.actor_kind,
        "actor_label": row.actor_label,
        "actor_user_id": row.actor_user_id,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "old": row.old,
        "new": row.new,
        "reason": row.reason,
        "correlation_id": row.correlation_id,
    }
    content = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev_hash.encode() + b"\x00" + content.encode()).hexdigest()


def _triggers(schema_editor, state):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE audit_auditentry {state} TRIGGER audit_append_only_row", params=None
        )


def reseal(apps, schema_editor):
    entry_model = apps.get_model("audit", "AuditEntry")
    head_model = apps.get_model("audit", "AuditChainHead")
    if not entry_model.objects.exists():
        return
    key = chain.decode_key(settings.MSA_AUDIT_KEY)
    head = head_model.objects.filter(pk=1).first()
    old_prev = GENESIS
    old_intact = True
    prev = GENESIS
    seq = 0
    last_id = 0
    _triggers(schema_editor, "DISABLE")
    for row in entry_model.objects.order_by("id").iterator():
        if row.prev_hash != old_prev or not hmac.compare_digest(
            row.row_hash, _legacy_hash(row.prev_hash, row)
        ):
            old_intact = False
        old_prev = row.row_hash
        seq += 1
        row.seq = seq
        digest = chain.row_hash(key, prev, chain.content_of(row))
        entry_model.objects.filter(pk=row.pk).update(seq=seq, prev_hash=prev, row_hash=digest)
        prev, last_id = digest, row.pk
    _triggers(schema_editor, "ENABLE")
    if head is None or head.last_hash != old_prev or head.count != seq:
        old_intact = False
    # The re-sealing, on record as the next entry of the new chain.
    seq += 1
    entry = entry_model(
        seq=seq,
        at=datetime.now(UTC),
        actor_kind="system",
        actor_label="migration",
        action="audit.chain_resealed",
        subject_type="audit.auditentry",
        subject_id="",
        old={"head": head.last_hash if head else "", "count": head.count if head else 0},
        new={"entries": seq - 1, "old_chain_intact": old_intact, "keyed": True},
        reason="audit chain keyed with MSA_AUDIT_KEY (migration audit.0004)",
        correlation_id="",
        prev_hash=prev,
    )
    entry.row_hash = chain.row_hash(key, prev, chain.content_of(entry))
    entry.save()
    head_model.objects.update_or_create(
        pk=1, defaults={"last_hash": entry.row_hash, "last_id": entry.pk, "count": seq}
    )


def refuse_always(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REFUSE_ALWAYS, params=None)


def with_test_switch(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WITH_TEST_SWITCH, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_triggers")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="seq",
            field=models.BigIntegerField(null=True, verbose_name="position in the chain"),
        ),
        migrations.RunPython(reseal, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.BigIntegerField(unique=True, verbose_name="position in the chain"),
        ),
        migrations.RunPython(refuse_always, with_test_switch),
    ]
