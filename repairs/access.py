"""Who may read and change the repairs (三包) endpoints (``aftersales.matrix``).

The catalog is shared reference data: everyone signed in reads it, platform writers change it.
Warranty cards, repair orders and escalations belong to their merchant and consumer; repair
providers' staff see the repair orders assigned to them through django-guardian grants (the
matrix has no provider role: ``repairs/tests/test_api_provider.py`` checks them).
"""

from aftersales.matrix import (
    PLATFORM_READ,
    PLATFORM_WRITE,
    SIGNED_IN,
    Read,
    Target,
    Write,
    register,
)

from .models import SanbaoCatalogChange, SanbaoCatalogEntry

CATALOG_TOUCHES = (SanbaoCatalogEntry, SanbaoCatalogChange)


# -- the 三包 catalog -----------------------------------------------------------------------------
def _catalog_entry(w, side):
    entry, _ = SanbaoCatalogEntry.objects.get_or_create(
        code=f"matrix-{side.code}",
        defaults={"name": f"矩阵三包类目-{side.code}", "whole_unit_months": 12},
    )
    return Target(kwargs={"pk": entry.pk}, row=entry.pk)


register(
    "sanbao-catalog-entry-list",
    setup=_catalog_entry,
    get=Read(SIGNED_IN),
    post=Write(
        PLATFORM_WRITE,
        touches=CATALOG_TOUCHES,
        body={
            "code": "matrix-new",
            "name": "矩阵新类目",
            "whole_unit_months": 12,
            "main_parts": [{"name": "主板", "months": 24}],
            "daily_depreciation_rate": "0.100",
        },
    ),
)
register(
    "sanbao-catalog-entry-detail",
    setup=_catalog_entry,
    get=Read(SIGNED_IN),
    patch=Write(
        PLATFORM_WRITE,
        touches=CATALOG_TOUCHES,
        body={"daily_depreciation_rate": "0.050", "note": "矩阵"},
    ),
)
register("sanbao-catalog-entry-changes", setup=_catalog_entry, get=Read(PLATFORM_READ))


from . import access_pages  # noqa: E402,F401
