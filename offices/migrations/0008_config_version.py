"""The configuration version: triggers on every configuration table give it a new number in the
transaction of each change, so that processes may keep the configuration in memory (offices.config).

PostgreSQL: one statement-level trigger per table (insert, update, delete, truncate) draws the
number from a sequence, which a rollback never gives back. SQLite (the embedded demo database) has
no sequences and only row-level triggers: a random 63-bit number per change.
"""

from django.db import migrations, models

# Everything that decides when and where a service can be booked, and what a booking shows.
TABLES = [
    "offices_administration",
    "offices_municipality",
    "offices_office",
    "offices_counter",
    "offices_counter_services",
    "offices_openinghours",
    "offices_closure",
    "offices_holidayopening",
    "offices_document",
    "offices_service",
    "offices_service_documents",
    "offices_service_offices",
    "offices_cooperationrule",
    "offices_cooperationrule_services",
]

POSTGRES_SETUP = [
    "CREATE SEQUENCE IF NOT EXISTS offices_configversion_seq",
    """
CREATE OR REPLACE FUNCTION offices_bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO offices_configversion (id, version) VALUES (1, nextval('offices_configversion_seq'))
    ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END
$$
""",
    (
        "INSERT INTO offices_configversion (id, version) VALUES (1, nextval('offices_configversion_seq')) "
        "ON CONFLICT (id) DO NOTHING"
    ),
]


def postgres_trigger(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_config_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION offices_bump_config_version();"
    )


def sqlite_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_config_version_{event.lower()} AFTER {event} ON {table} BEGIN "
        # An UPDATE and an INSERT of a missing row, not INSERT OR REPLACE: the conflict clause of the
        # statement that fires a trigger (Django adds to many-to-many links with INSERT OR IGNORE)
        # overrides the clauses inside the trigger.
        "UPDATE offices_configversion SET version = abs(random() / 2) WHERE id = 1; "
        "INSERT INTO offices_configversion (id, version) SELECT 1, abs(random() / 2) "
        "WHERE NOT EXISTS (SELECT 1 FROM offices_configversion WHERE id = 1); END;"
        for event in ("INSERT", "UPDATE", "DELETE")
    ]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = POSTGRES_SETUP + [postgres_trigger(table) for table in TABLES]
    elif vendor == "sqlite":
        statements = ["INSERT OR IGNORE INTO offices_configversion (id, version) VALUES (1, abs(random() / 2));"]
        statements += [sql for table in TABLES for sql in sqlite_triggers(table)]
    else:  # another database: no triggers, so offices.config must never keep a reading
        statements = ["DELETE FROM offices_configversion"]
    for sql in statements:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_config_version ON {table};")
        elif vendor == "sqlite":
            for event in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_config_version_{event};")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS offices_bump_config_version();")
        schema_editor.execute("DROP SEQUENCE IF EXISTS offices_configversion_seq;")


class Migration(migrations.Migration):
    dependencies = [("offices", "0007_history_baseline")]

    operations = [
        migrations.CreateModel(
            name="ConfigVersion",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField()),
            ],
            options={"verbose_name": "configuration version", "verbose_name_plural": "configuration versions"},
        ),
        migrations.RunPython(create, drop),
    ]
