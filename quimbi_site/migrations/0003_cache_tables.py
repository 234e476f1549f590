from django.core.management import call_command
from django.db import migrations


def cache_tables_create(apps, schema_editor):
    # The throttle counters' table (settings.CACHES["throttle"]) belongs to no model, so a
    # deployment that only runs `migrate` would answer every throttled API request with a 500.
    # `createcachetable` creates the tables that are missing and leaves the others alone.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("quimbi_site", "0002_auditevent"),
    ]

    operations = [
        migrations.RunPython(cache_tables_create, migrations.RunPython.noop),
    ]
