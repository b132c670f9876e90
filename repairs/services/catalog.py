"""The 三包 catalog (standard 6.5.2): entries kept by the platform, every change versioned."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import InvalidInput, PermissionDenied

from ..models import SanbaoCatalogChange, SanbaoCatalogEntry
from ..seed import snapshot_of

FIELDS = (
    "name",
    "whole_unit_months",
    "main_parts",
    "special_cases",
    "service_standard",
    "daily_depreciation_rate",
    "parts_shortage_limit_days",
)
UNSET = object()


def _clean_parts(parts):
    if not isinstance(parts, list):
        raise InvalidInput(
            _("主要部件应为列表。"), code="main_parts_invalid", fields={"main_parts": "list"}
        )
    cleaned, names = [], set()
    for part in parts:
        name = str((part or {}).get("name", "")).strip() if isinstance(part, dict) else ""
        months = part.get("months") if isinstance(part, dict) else None
        if not name or not isinstance(months, int) or isinstance(months, bool) or months <= 0:
            raise InvalidInput(
                _("每个主要部件需要名称和正整数月数。"),
                code="main_parts_invalid",
                fields={"main_parts": "each part needs a name and months > 0"},
            )
        if name in names:
            raise InvalidInput(
                _("主要部件重复：%(name)s") % {"name": name},
                code="main_parts_invalid",
                fields={"main_parts": name},
            )
        names.add(name)
        cleaned.append({"name": name, "months": months})
    return cleaned


def _clean_rate(rate):
    if rate is None or rate == "":
        return None
    try:
        value = Decimal(str(rate)) if not isinstance(rate, Decimal) else rate
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > 100:
        raise InvalidInput(
            _("日折旧率应为 0–100 之间的百分数。"),
            code="daily_depreciation_rate_invalid",
            fields={"daily_depreciation_rate": "percent 0..100"},
        )
    return value.quantize(Decimal("0.001"))


def _positive(field, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        label = SanbaoCatalogEntry._meta.get_field(field).verbose_name
        raise InvalidInput(
            _("%(field)s应为正整数。") % {"field": label},
            code=f"{field}_invalid",
            fields={field: "> 0"},
        )
    return value


def catalog_entry_save(
    *,
    code,
    actor,
    name=UNSET,
    whole_unit_months=UNSET,
    main_parts=UNSET,
    special_cases=UNSET,
    service_standard=UNSET,
    daily_depreciation_rate=UNSET,
    parts_shortage_limit_days=UNSET,
    note="",
):
    """Create the 三包 catalog entry ``code`` or change it; returns ``(entry, change)``.

    Platform writers only (standard 6.5.2: the platform keeps the catalog). Every save that
    changes something writes a new ``SanbaoCatalogChange`` (full snapshot, changed fields, who,
    when) and a timeline event; a save that changes nothing returns ``change=None``. A rate of
    ``None`` means "unknown" and makes G8 refuse (``depreciation_rate_unknown``).
    """
    if not actor.platform_write:
        if actor.platform_read:
            raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
        raise PermissionDenied(_("只有平台可以维护三包目录。"))
    code = (code or "").strip()
    if not code:
        raise InvalidInput(_("需要编码。"), code="code_required", fields={"code": "required"})
    given = {
        "name": name,
        "whole_unit_months": whole_unit_months,
        "main_parts": main_parts,
        "special_cases": special_cases,
        "service_standard": service_standard,
        "daily_depreciation_rate": daily_depreciation_rate,
        "parts_shortage_limit_days": parts_shortage_limit_days,
    }
    given = {k: v for k, v in given.items() if v is not UNSET}
    if "name" in given:
        given["name"] = (given["name"] or "").strip()
    if "main_parts" in given:
        given["main_parts"] = _clean_parts(given["main_parts"])
    if "daily_depreciation_rate" in given:
        given["daily_depreciation_rate"] = _clean_rate(given["daily_depreciation_rate"])
    for field in ("whole_unit_months", "parts_shortage_limit_days"):
        if field in given:
            _positive(field, given[field])
    for field in ("special_cases", "service_standard"):
        if field in given:
            given[field] = given[field] or ""

    now = clock.now()
    with transaction.atomic():
        entry = SanbaoCatalogEntry.objects.select_for_update().filter(code=code).first()
        created = entry is None
        if created:
            missing = [f for f in ("name", "whole_unit_months") if not given.get(f)]
            if missing:
                raise InvalidInput(
                    _("新条目需要名称和整机三包期。"),
                    code="catalog_entry_incomplete",
                    fields={f: "required" for f in missing},
                )
            entry = SanbaoCatalogEntry(code=code, version=0)
            before = {}
        else:
            before = snapshot_of(entry)
        for field, value in given.items():
            setattr(entry, field, value)
        after = snapshot_of(entry)
        changed = {
            f: {"from": before.get(f), "to": after[f]}
            for f in FIELDS
            if created or before.get(f) != after[f]
        }
        if not changed:
            return entry, None
        entry.version += 1
        entry.updated_at = now
        entry.save()
        fields = actor.timeline_fields()
        change = SanbaoCatalogChange.objects.create(
            entry=entry,
            version=entry.version,
            snapshot=after,
            changed_fields={} if created else changed,
            note=note or "",
            changed_by=fields["actor_user"],
            actor_label=fields["actor_label"],
            changed_at=now,
        )
        timeline_record(
            subject=entry,
            verb="sanbao_catalog.created" if created else "sanbao_catalog.updated",
            actor=actor,
            reason=note or "",
            data={"version": entry.version, "changed": sorted(changed)},
            occurred_at=now,
        )
    return entry, change
