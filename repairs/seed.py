"""The real 三包 catalog values of RULES.md ("三包 catalog seed"), loaded by migration 0002.

``seed_catalog`` takes the model classes as arguments so the data migration can pass its
historical models; it is idempotent (existing codes are left untouched, staff edits win).
"""

from decimal import Decimal

SEED_NOTE = "初始数据（RULES.md 三包目录）"


def _parts(months, *names):
    return [{"name": name, "months": months} for name in names]


CATALOG_SEED = [
    {
        "code": "bicycle",
        "name": "自行车",
        "whole_unit_months": 12,
        "main_parts": _parts(24, "车架", "变速器"),
        "daily_depreciation_rate": Decimal("0.050"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "crt_tv",
        "name": "彩色电视机（显像管）",
        "whole_unit_months": 12,
        "main_parts": _parts(36, "显像管", "行输出变压器", "高频调谐器", "集成电路"),
        "daily_depreciation_rate": Decimal("0.100"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "lcd_tv",
        "name": "液晶/等离子电视",
        "whole_unit_months": 12,
        "main_parts": _parts(36, "显示屏", "驱动/背光板", "逻辑板", "高频调谐器"),
        "daily_depreciation_rate": Decimal("0.100"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "video_recorder",
        "name": "家用录像机",
        "whole_unit_months": 12,
        "main_parts": _parts(12, "磁鼓", "主导/加载电机", "集成电路"),
        "daily_depreciation_rate": Decimal("0.100"),
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "mobile_phone",
        "name": "移动电话机",
        "whole_unit_months": 12,
        "main_parts": [
            {"name": "电池", "months": 6},
            {"name": "充电器", "months": 12},
            {"name": "有线耳机", "months": 3},
        ],
        "special_cases": "整机指主机；电池、充电器、有线耳机按各自期限。日折旧率未定，待平台设置。",
        "daily_depreciation_rate": None,
        "parts_shortage_limit_days": 60,
    },
    {
        "code": "microcomputer",
        "name": "微型计算机",
        "whole_unit_months": 12,
        "main_parts": _parts(24, "主板", "CPU", "内存", "显示器", "硬盘", "键盘", "电源适配器"),
        "daily_depreciation_rate": None,
        "parts_shortage_limit_days": 90,
    },
    {
        "code": "home_av",
        "name": "家用视听（影碟机、功放、音箱）",
        "whole_unit_months": 12,
        "main_parts": _parts(24, "主轴/伺服电机", "激光头", "集成电路"),
        "daily_depreciation_rate": None,
        "parts_shortage_limit_days": 90,
    },
]

DEFAULT_SERVICE_STANDARD = (
    "按《部分商品修理更换退货责任规定》执行：7 日内可退货，15 日内可换货，三包期内免费修理；"
    "修理占用及等待配件的时间顺延三包期。"
)


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
