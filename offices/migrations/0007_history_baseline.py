"""A first history row for each piece of configuration that exists when the audit trail is switched
on, so that its first recorded change shows the value it changed from (what
`manage.py populate_history --auto` would do, but on every deployment by itself)."""

from django.db import migrations
from django.utils import timezone

TRACKED = {
    # model: its many-to-many fields with a history
    "Administration": [],
    "Municipality": [],
    "Office": [],
    "Counter": ["services"],
    "OpeningHours": [],
    "Closure": [],
    "Membership": [],
    "AdministrationManager": [],
    "HolidayOpening": [],
    "Document": [],
    "Service": ["documents", "offices"],
    "CooperationRule": ["services"],
}


def baseline(apps, schema_editor):
    now = timezone.now()
    for name, m2m_fields in TRACKED.items():
        model = apps.get_model("offices", name)
        history = apps.get_model("offices", f"Historical{name}")
        columns = [f.attname for f in history._meta.concrete_fields if not f.name.startswith("history")]
        recorded = set(history.objects.values_list("id", flat=True))
        for obj in model.objects.exclude(pk__in=recorded).iterator():
            record = history.objects.create(
                history_date=now,
                history_type="+",
                history_change_reason="baseline",
                **{column: getattr(obj, column) for column in columns},
            )
            for field_name in m2m_fields:
                m2m_history = apps.get_model("offices", f"Historical{name}_{field_name}")
                through = getattr(model, field_name).through
                source = through._meta.get_field(name.lower()).attname
                target = next(f.attname for f in through._meta.concrete_fields if f.is_relation and f.attname != source)
                m2m_history.objects.bulk_create(
                    m2m_history(history=record, id=row_id, **{source: obj.pk, target: target_id})
                    for row_id, target_id in through.objects.filter(**{source: obj.pk}).values_list("id", target)
                )


class Migration(migrations.Migration):
    dependencies = [("offices", "0006_audit_trail_and_administration_managers")]

    operations = [migrations.RunPython(baseline, migrations.RunPython.noop)]
