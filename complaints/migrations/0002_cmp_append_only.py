"""The records of complaints are append-only in the database itself (RULES.md C6): UPDATE and
DELETE on the hash chain, the log's leaves and nodes and the signed checkpoints are refused by
triggers, on PostgreSQL and on SQLite (the embedded default). The grading matrix gets its
starting rows (RULES.md C1) and the log its head row."""

from django.db import migrations

TABLES = (
    "complaints_complaintrecord",
    "complaints_logleaf",
    "complaints_lognode",
    "complaints_checkpoint",
)

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION complaints_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'complaint records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def _postgres_sql(table):
    return (
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION complaints_append_only();"
    )


def _sqlite_sql(table):
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'complaint records are append-only: UPDATE on {table} refused'); "
        f"END;",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, 'complaint records are append-only: DELETE on {table} refused'); "
        f"END;",
    ]


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table in TABLES:
            schema_editor.execute(_postgres_sql(table))
    elif vendor == "sqlite":
        for table in TABLES:
            for sql in _sqlite_sql(table):
                schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS complaints_append_only();")
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete;")


def seed(apps, schema_editor):
    from complaints.seed import seed_grading

    seed_grading(apps.get_model("complaints", "GradingRule"), apps.get_model("complaints", "LogHead"))


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_cmp_initial")]

    operations = [
        migrations.RunPython(add_triggers, drop_triggers),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
