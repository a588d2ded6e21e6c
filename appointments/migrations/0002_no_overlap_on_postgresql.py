"""No two live appointments may overlap on one counter: an exclusion constraint on PostgreSQL.

It is created here rather than in Model.Meta because SQLite (the embedded default) has no exclusion
constraints; there the booking service serialises writers and re-checks inside its transaction.
The status list must match appointments.models.LIVE_STATUSES.
"""

from django.db import migrations

LIVE = "'held', 'unconfirmed', 'confirmed', 'checked_in', 'completed', 'no_show'"

ADD_CONSTRAINT = f"""
ALTER TABLE appointments_appointment ADD CONSTRAINT appointment_no_overlap_per_counter
    EXCLUDE USING gist (counter_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN ({LIVE}));
"""
DROP = "ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS appointment_no_overlap_per_counter;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist;")
        schema_editor.execute(ADD_CONSTRAINT)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
