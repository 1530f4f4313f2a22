"""On PostgreSQL the database itself refuses UPDATE, DELETE and TRUNCATE of audit entries.

TRUNCATE is let through only when the session sets ``msa.audit_truncate = 'allow'``: the
test harness does so for flushing its throw-away databases (conftest.py). The application
never sets it. (A table owner can drop the trigger; the hash chain shows what happened then.)
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION msa_audit_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND current_setting('msa.audit_truncate', true) = 'allow' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_append_only_row ON audit_auditentry;
CREATE TRIGGER audit_append_only_row BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION msa_audit_refuse_change();
DROP TRIGGER IF EXISTS audit_append_only_truncate ON audit_auditentry;
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION msa_audit_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_append_only_row ON audit_auditentry;
DROP TRIGGER IF EXISTS audit_append_only_truncate ON audit_auditentry;
DROP FUNCTION IF EXISTS msa_audit_refuse_change();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_hash_chain")]

    operations = [migrations.RunPython(create, drop)]
