"""Seed the 三包 catalog with the real values of RULES.md (every install has it)."""

from django.db import migrations


def seed(apps, schema_editor):
    from aftersales import clock
    from repairs.seed import seed_catalog

    seed_catalog(
        apps.get_model("repairs", "SanbaoCatalogEntry"),
        apps.get_model("repairs", "SanbaoCatalogChange"),
        now=clock.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("repairs", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
