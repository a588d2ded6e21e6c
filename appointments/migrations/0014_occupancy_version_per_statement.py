"""The occupancy triggers on PostgreSQL once per statement instead of once per row: a statement
renews each (office, day) it touched once, from its transition tables, so that a bulk load (COPY,
a bulk update) costs one upsert per office-day instead of one per appointment. Same numbers, same
transaction; SQLite keeps its row triggers (it has no transition tables).
"""

from django.db import migrations

TABLE = "appointments_occupancyversion"
WATCHED = ["status", "start", '"end"', "counter_id", "office_id", "hold_expires_at", "cancelled_at"]
WATCHED += ["home_administration_id"]
BERLIN_DAY = "(start AT TIME ZONE 'Europe/Berlin')::date"


def upsert(select: str) -> str:
    # In a fixed order: two statements renewing the same rows take their locks in the same order.
    return (
        f"INSERT INTO {TABLE} (office_id, day, version) "
        f"SELECT office_id, day, nextval('appointments_occupancyversion_seq') FROM ({select}) AS touched "
        "ORDER BY office_id, day "
        "ON CONFLICT (office_id, day) DO UPDATE SET version = EXCLUDED.version;"
    )


CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in WATCHED)
FORWARD = [
    "DROP TRIGGER IF EXISTS appointments_occupancy_write ON appointments_appointment",
    "DROP TRIGGER IF EXISTS appointments_occupancy_update ON appointments_appointment",
    f"""
CREATE OR REPLACE FUNCTION appointments_bump_occupancy_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {upsert(f"SELECT DISTINCT office_id, {BERLIN_DAY} AS day FROM changed_rows")}
    RETURN NULL;
END
$$
""",
    f"""
CREATE OR REPLACE FUNCTION appointments_bump_occupancy_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {
        upsert(
            f"SELECT o.office_id, (o.start AT TIME ZONE 'Europe/Berlin')::date AS day "
            f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {CHANGED} "
            f"UNION SELECT n.office_id, (n.start AT TIME ZONE 'Europe/Berlin')::date "
            f"FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {CHANGED}"
        )
    }
    RETURN NULL;
END
$$
""",
    (
        "CREATE TRIGGER appointments_occupancy_insert AFTER INSERT ON appointments_appointment "
        "REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION appointments_bump_occupancy_rows()"
    ),
    (
        "CREATE TRIGGER appointments_occupancy_delete AFTER DELETE ON appointments_appointment "
        "REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION appointments_bump_occupancy_rows()"
    ),
    (
        "CREATE TRIGGER appointments_occupancy_update AFTER UPDATE ON appointments_appointment "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION appointments_bump_occupancy_updated()"
    ),
    "DROP FUNCTION IF EXISTS appointments_bump_occupancy()",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS appointments_occupancy_insert ON appointments_appointment",
    "DROP TRIGGER IF EXISTS appointments_occupancy_delete ON appointments_appointment",
    "DROP TRIGGER IF EXISTS appointments_occupancy_update ON appointments_appointment",
    "DROP FUNCTION IF EXISTS appointments_bump_occupancy_rows()",
    "DROP FUNCTION IF EXISTS appointments_bump_occupancy_updated()",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from importlib import import_module

    earlier = import_module("appointments.migrations.0013_occupancy_version")
    for sql in BACKWARD:
        schema_editor.execute(sql)
    for sql in earlier.POSTGRES:
        if ("CREATE TRIGGER" in sql and "truncate" not in sql) or "FUNCTION appointments_bump_occupancy()" in sql:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0013_occupancy_version")]

    operations = [migrations.RunPython(forward, backward)]
