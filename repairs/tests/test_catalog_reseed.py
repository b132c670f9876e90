"""The 三包 catalog survives a ``flush`` (RULES.md catalog seed; repairs/apps.py)."""

import pytest
from django.core.management import call_command

from repairs.models import SanbaoCatalogEntry
from repairs.seed import CATALOG_SEED


@pytest.mark.django_db(transaction=True)
def test_flush_reseeds_an_emptied_catalog():
    call_command("flush", interactive=False, verbosity=0)
    codes = set(SanbaoCatalogEntry.objects.values_list("code", flat=True))
    assert codes == {row["code"] for row in CATALOG_SEED}


@pytest.mark.django_db
def test_post_migrate_leaves_an_edited_catalog_alone():
    from django.apps import apps

    from repairs.apps import _seed_empty_catalog

    before = SanbaoCatalogEntry.objects.count()
    SanbaoCatalogEntry.objects.exclude(code=CATALOG_SEED[0]["code"]).delete()
    _seed_empty_catalog(apps.get_app_config("repairs"))
    assert SanbaoCatalogEntry.objects.count() == 1 < before
