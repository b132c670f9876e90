"""The real 三包 catalog values of RULES.md ("三包 catalog seed"), loaded by migration 0002.

The seed's names, parts and texts are stored in Chinese (the catalog's data, which staff edit);
they are marked with ``gettext_noop`` so the catalogue carries their English, and pages show them
through ``seed_text``: a seeded value in the reader's language, a value staff typed as typed.

``seed_catalog`` takes the model classes as arguments so the data migration can pass its
historical models; it is idempotent (existing codes are left untouched, staff edits win).
"""

from decimal import Decimal

from django.utils.translation import gettext, gettext_noop

SEED_NOTE = gettext_noop("初始数据（RULES.md 三包目录）")


def _parts(months, *names):
    return [{"name": name, "months": months} for name in names]


CATALOG_SEED = [
    {
        "code": "bicycle",
        "name": gettext_noop("自行车"),
        "whole_unit_months": 12,
        "main_parts": _parts(24, gettext_noop("车架"), gettext_noop("变速器")),
        "daily_depreciation_rate": Decimal("0.050"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "crt_tv",
        "name": gettext_noop("彩色电视机（显像管）"),
        "whole_unit_months": 12,
        "main_parts": _parts(
            36,
            gettext_noop("显像管"),
            gettext_noop("行输出变压器"),
            gettext_noop("高频调谐器"),
            gettext_noop("集成电路"),
        ),
        "daily_depreciation_rate": Decimal("0.100"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "lcd_tv",
        "name": gettext_noop("液晶/等离子电视"),
        "whole_unit_months": 12,
        "main_parts": _parts(
            36,
            gettext_noop("显示屏"),
            gettext_noop("驱动/背光板"),
            gettext_noop("逻辑板"),
            gettext_noop("高频调谐器"),
        ),
        "daily_depreciation_rate": Decimal("0.100"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "video_recorder",
        "name": gettext_noop("家用录像机"),
        "whole_unit_months": 12,
        "main_parts": _parts(
            12, gettext_noop("磁鼓"), gettext_noop("主导/加载电机"), gettext_noop("集成电路")
        ),
        "daily_depreciation_rate": Decimal("0.100"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "mobile_phone",
        "name": gettext_noop("移动电话机"),
        "whole_unit_months": 12,
        "main_parts": [
            {"name": gettext_noop("电池"), "months": 6},
            {"name": gettext_noop("充电器"), "months": 12},
            {"name": gettext_noop("有线耳机"), "months": 3},
        ],
        "special_cases": gettext_noop(
            "整机指主机；电池、充电器、有线耳机按各自期限。日折旧率未定，待平台设置。"
        ),
        "daily_depreciation_rate": None,
        "parts_shortage_limit_days": 60,
    },
    {
        "code": "microcomputer",
        "name": gettext_noop("微型计算机"),
        "whole_unit_months": 12,
        "main_parts": _parts(
            24,
            gettext_noop("主板"),
            "CPU",
            gettext_noop("内存"),
            gettext_noop("显示器"),
            gettext_noop("硬盘"),
            gettext_noop("键盘"),
            gettext_noop("电源适配器"),
        ),
        "daily_depreciation_rate": None,
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "home_av",
        "name": gettext_noop("家用视听（影碟机、功放、音箱）"),
        "whole_unit_months": 12,
        "main_parts": _parts(
            24, gettext_noop("主轴/伺服电机"), gettext_noop("激光头"), gettext_noop("集成电路")
        ),
        "daily_depreciation_rate": None,
        "parts_shortage_limit_days": 90,
    },
]

DEFAULT_SERVICE_STANDARD = gettext_noop(
    "按《部分商品修理更换退货责任规定》执行：7 日内可退货，15 日内可换货，三包期内免费修理；"
    "修理占用及等待配件的时间顺延三包期。"
)


def seed_text(value):
    """A catalog text (category name, part name) in the reader's language when it is one of
    the seed's values; anything staff typed comes back as typed."""
    return gettext(value) if value else value


def snapshot_of(entry):
    """The JSON snapshot stored with every change (Decimals as strings)."""
    rate = entry.daily_depreciation_rate
    return {
        "code": entry.code,
        "name": entry.name,
        "whole_unit_months": entry.whole_unit_months,
        "main_parts": list(entry.main_parts or []),
        "special_cases": entry.special_cases,
        "service_standard": entry.service_standard,
        "daily_depreciation_rate": None if rate is None else str(rate),
        "parts_shortage_limit_days": entry.parts_shortage_limit_days,
    }


def seed_catalog(Entry, Change, *, now):
    """Create the missing seed entries, each with its version-1 change (by the system)."""
    created = []
    existing = set(Entry.objects.values_list("code", flat=True))
    for row in CATALOG_SEED:
        if row["code"] in existing:
            continue
        data = {"special_cases": "", "service_standard": DEFAULT_SERVICE_STANDARD, **row}
        entry = Entry.objects.create(version=1, updated_at=now, **data)
        Change.objects.create(
            entry=entry,
            version=1,
            snapshot=snapshot_of(entry),
            changed_fields={},
            note=SEED_NOTE,
            actor_label="system",
            changed_at=now,
        )
        created.append(entry)
    return created
