"""The occupancy version of every office-day: triggers on the appointments give the row of the
(office, day) an appointment lies on a new number in the transaction of each change that can free or
take time there (insert, delete; an update of its status, times, counter, office, hold or
cancellation, or home administration), so that a search can tell from one query which office-days
changed since it last looked (appointments.domain.occupancy) and a client can be answered
`304 Not Modified`.

A plain table, not a model: only these triggers write it and one query reads it. The number comes
from a sequence (PostgreSQL) or at random (SQLite), never by counting up, so that a rolled back
change cannot leave an old number standing for other data. Row `office_id = 0` is a generation that
every reader includes: a TRUNCATE (no row triggers fire) renews it.

PostgreSQL keys a row by the day in Europe/Berlin. SQLite knows no time zones: it renews the UTC
date of the start and the day after, which together always include the day in Berlin (Berlin is one
or two hours ahead of UTC), so a reader of a Berlin day reads the row of that date on both.
"""

from django.db import migrations

TABLE = "appointments_occupancyversion"
# The columns whose change can free or take time (or change the local reserve's count).
WATCHED = ["status", "start", '"end"', "counter_id", "office_id", "hold_expires_at", "cancelled_at"]
WATCHED += ["home_administration_id"]

POSTGRES = [
    "CREATE SEQUENCE IF NOT EXISTS appointments_occupancyversion_seq",
    (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (office_id bigint NOT NULL, day date NOT NULL, "
        "version bigint NOT NULL, PRIMARY KEY (office_id, day))"
    ),
    f"""
CREATE OR REPLACE FUNCTION appointments_bump_occupancy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO {TABLE} (office_id, day, version)
        VALUES (OLD.office_id, (OLD.start AT TIME ZONE 'Europe/Berlin')::date,
                nextval('appointments_occupancyversion_seq'))
        ON CONFLICT (office_id, day) DO UPDATE SET version = EXCLUDED.version;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO {TABLE} (office_id, day, version)
        VALUES (NEW.office_id, (NEW.start AT TIME ZONE 'Europe/Berlin')::date,
                nextval('appointments_occupancyversion_seq'))
        ON CONFLICT (office_id, day) DO UPDATE SET version = EXCLUDED.version;
    END IF;
    RETURN NULL;
END
$$
""",
    f"""
CREATE OR REPLACE FUNCTION appointments_bump_occupancy_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (office_id, day, version)
    VALUES (0, DATE '2000-01-01', nextval('appointments_occupancyversion_seq'))
    ON CONFLICT (office_id, day) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END
$$
""",
    (
        "CREATE TRIGGER appointments_occupancy_write AFTER INSERT OR DELETE ON appointments_appointment "
        "FOR EACH ROW EXECUTE FUNCTION appointments_bump_occupancy()"
    ),
    "CREATE TRIGGER appointments_occupancy_update AFTER UPDATE ON appointments_appointment FOR EACH ROW "
    "WHEN (" + " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED) + ") "
    "EXECUTE FUNCTION appointments_bump_occupancy()",
    (
        "CREATE TRIGGER appointments_occupancy_truncate AFTER TRUNCATE ON appointments_appointment "
        "FOR EACH STATEMENT EXECUTE FUNCTION appointments_bump_occupancy_generation()"
    ),
]


def sqlite_bump(row: str) -> str:
    """Statements renewing the rows of `row` (OLD or NEW): its start's UTC date and the day after."""
    days = f"(SELECT date({row}.start) AS day UNION SELECT date({row}.start, '+1 day'))"
    return (
        # An UPDATE and an INSERT of the missing rows, not INSERT OR REPLACE: the conflict clause of
        # the statement that fires a trigger overrides the clauses inside it.
        f"UPDATE {TABLE} SET version = abs(random() / 2) WHERE office_id = {row}.office_id "
        f"AND day IN (date({row}.start), date({row}.start, '+1 day')); "
        f"INSERT INTO {TABLE} (office_id, day, version) SELECT {row}.office_id, d.day, abs(random() / 2) "
        f"FROM {days} AS d WHERE NOT EXISTS "
        f"(SELECT 1 FROM {TABLE} v WHERE v.office_id = {row}.office_id AND v.day = d.day); "
    )


SQLITE = [
    (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (office_id integer NOT NULL, day date NOT NULL, "
        "version integer NOT NULL, PRIMARY KEY (office_id, day))"
    ),
    "CREATE TRIGGER appointments_occupancy_insert AFTER INSERT ON appointments_appointment BEGIN "
    + sqlite_bump("NEW")
    + "END",
    "CREATE TRIGGER appointments_occupancy_delete AFTER DELETE ON appointments_appointment BEGIN "
    + sqlite_bump("OLD")
    + "END",
    "CREATE TRIGGER appointments_occupancy_update AFTER UPDATE ON appointments_appointment WHEN "
    + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    + " BEGIN "
    + sqlite_bump("OLD")
    + sqlite_bump("NEW")
    + "END",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = POSTGRES if vendor == "postgresql" else SQLITE if vendor == "sqlite" else []
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for trigger in ("write", "update", "truncate"):
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS appointments_occupancy_{trigger} ON appointments_appointment"
            )
        schema_editor.execute("DROP FUNCTION IF EXISTS appointments_bump_occupancy()")
        schema_editor.execute("DROP FUNCTION IF EXISTS appointments_bump_occupancy_generation()")
        schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        schema_editor.execute("DROP SEQUENCE IF EXISTS appointments_occupancyversion_seq")
    elif vendor == "sqlite":
        for trigger in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS appointments_occupancy_{trigger}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("appointments", "0012_visit_outcome")]

    operations = [migrations.RunPython(create, drop)]
