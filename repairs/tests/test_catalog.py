"""The 三包 catalog: seed values equal RULES.md; changes kept with who and when; Chinese admin."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings

from aftersales.casefile.models import TimelineEvent
from aftersales.errors import InvalidInput, PermissionDenied
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as af
from demo.orders import CATEGORIES
from repairs import rules, services
from repairs.models import SanbaoCatalogChange, SanbaoCatalogEntry, catalog_facts
from repairs.seed import CATALOG_SEED, seed_catalog

RULES_MD = Path(settings.BASE_DIR).parent / "shared" / "RULES.md"
ROW_CODES = {  # RULES.md row label → catalog code (demo/orders.py sanbao codes)
    "bicycle": "bicycle",
    "CRT colour TV": "crt_tv",
    "LCD / plasma TV": "lcd_tv",
    "home video recorder": "video_recorder",
    "mobile phone": "mobile_phone",
    "microcomputer": "microcomputer",
    "home AV": "home_av",
}

# The table of RULES.md, written out (months; parts count; % per day or None; parts limit).
EXPECTED = {
    "bicycle": (12, {24: 2}, Decimal("0.05"), 90),
    "crt_tv": (12, {36: 4}, Decimal("0.10"), 90),
    "lcd_tv": (12, {36: 4}, Decimal("0.10"), 90),
    "video_recorder": (12, {12: 3}, Decimal("0.10"), 90),
    "mobile_phone": (12, {6: 1, 12: 1, 3: 1}, None, 60),
    "microcomputer": (12, {24: 7}, None, 90),
    "home_av": (12, {24: 3}, None, 90),
}


@pytest.fixture
def seeded(db):
    seed_catalog(SanbaoCatalogEntry, SanbaoCatalogChange, now=datetime(2026, 1, 1, tzinfo=UTC))
    return {e.code: e for e in SanbaoCatalogEntry.objects.all()}


def months_of(text):
    m = re.search(r"(\d+)\s*(year|month)", text)
    return int(m.group(1)) * (12 if m.group(2) == "year" else 1)


def parse_rules_md():
    """The seed table of RULES.md as {code: (whole, {months: n parts}, rate, limit)}."""
    text = RULES_MD.read_text(encoding="utf-8")
    table = text.split("### 三包 catalog seed", 1)[1].split("\n\n", 2)[1]
    out = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        label = next(k for k in ROW_CODES if cells[0].startswith(k))
        whole, main, names, rate = cells[1], cells[2], cells[3], cells[4]
        if names == "—":  # mobile phone: parts and their periods in one cell
            parts = {}
            for item in main.split(";"):
                parts[months_of(item)] = parts.get(months_of(item), 0) + 1
        else:
            parts = {months_of(main): len(names.split(","))}
        m = re.match(r"([\d.]+)%", rate)
        limit = re.search(r"parts limit (\d+) days", rate)
        out[ROW_CODES[label]] = (
            months_of(whole),
            parts,
            Decimal(m.group(1)) if m else None,
            int(limit.group(1)) if limit else 90,
        )
    return out


def entry_values(entry):
    parts = {}
    for p in entry.main_parts:
        parts[p["months"]] = parts.get(p["months"], 0) + 1
    return (
        entry.whole_unit_months,
        parts,
        entry.daily_depreciation_rate,
        entry.parts_shortage_limit_days,
    )


def test_seed_equals_the_written_table(seeded):
    assert {code: entry_values(e) for code, e in seeded.items()} == EXPECTED


@pytest.mark.skipif(not RULES_MD.exists(), reason="RULES.md not next to the project")
def test_seed_equals_rules_md(seeded):
    assert {code: entry_values(e) for code, e in seeded.items()} == parse_rules_md()


def test_seed_codes_are_the_category_sanbao_codes():
    demo_codes = {row[5] for row in CATEGORIES if row[5]}
    assert {row["code"] for row in CATALOG_SEED} == demo_codes


def test_seed_is_idempotent_and_records_version_one(seeded):
    assert seed_catalog(SanbaoCatalogEntry, SanbaoCatalogChange, now=datetime.now(UTC)) == []
    assert SanbaoCatalogChange.objects.count() == 7
    change = seeded["lcd_tv"].changes.get()
    assert (change.version, change.actor_label, change.changed_by) == (1, "system", None)
    assert change.snapshot["daily_depreciation_rate"] == "0.100"


def test_unknown_rate_says_so_and_g8_refuses(seeded):
    phone = seeded["mobile_phone"]
    assert not phone.rate_known
    with pytest.raises(rules.RuleViolation) as exc:
        rules.depreciation_refund(Decimal("2000"), catalog_facts(phone).daily_rate, 100, 0)
    assert exc.value.code == "depreciation_rate_unknown"
    facts = catalog_facts(seeded["lcd_tv"])
    assert rules.depreciation_refund(Decimal("3000"), facts.daily_rate, 100, 10) == Decimal(
        "2730.00"
    )


def test_catalog_facts_of_an_entry(seeded):
    facts = catalog_facts(seeded["mobile_phone"])
    assert facts.parts_limit_days == 60 and facts.whole_unit_months == 12
    assert rules.PartPeriod("电池", 6) in facts.parts


# -- changes through the service ----------------------------------------------------------------


@pytest.fixture
def manager(db):
    return af.platform_user(PlatformGroup.MANAGER)


def test_change_records_who_and_when(seeded, manager):
    actor = actor_for_user(manager)
    with time_machine.travel(datetime(2026, 11, 28, 3, 0, tzinfo=UTC), tick=False):
        entry, change = services.catalog_entry_save(
            code="mobile_phone", daily_depreciation_rate="0.08", note="厂商确认", actor=actor
        )
    assert entry.daily_depreciation_rate == Decimal("0.080") and entry.version == 2
    assert change.changed_by == manager and change.actor_label == manager.username
    assert change.changed_at == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert change.changed_fields == {"daily_depreciation_rate": {"from": None, "to": "0.080"}}
    assert change.note == "厂商确认"
    event = TimelineEvent.objects.get(
        subject_type="repairs.sanbaocatalogentry", subject_id=entry.pk
    )
    assert (event.verb, event.actor_user, event.data["version"]) == (
        "sanbao_catalog.updated",
        manager,
        2,
    )
    assert list(entry.changes.values_list("version", flat=True)) == [2, 1]


def test_no_change_no_version(seeded, manager):
    entry, change = services.catalog_entry_save(
        code="lcd_tv", whole_unit_months=12, actor=actor_for_user(manager)
    )
    assert change is None and entry.version == 1


def test_create_new_entry(db, manager):
    entry, change = services.catalog_entry_save(
        code="air_conditioner",
        name="空调器",
        whole_unit_months=12,
        main_parts=[{"name": "压缩机", "months": 36}],
        actor=actor_for_user(manager),
    )
    assert entry.version == 1 and entry.daily_depreciation_rate is None
    assert entry.parts_shortage_limit_days == 90
    assert change.snapshot["main_parts"] == [{"name": "压缩机", "months": 36}]


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"main_parts": [{"name": "", "months": 3}]}, "main_parts_invalid"),
        ({"main_parts": [{"name": "电池", "months": 0}]}, "main_parts_invalid"),
        ({"daily_depreciation_rate": "-1"}, "daily_depreciation_rate_invalid"),
        ({"daily_depreciation_rate": "abc"}, "daily_depreciation_rate_invalid"),
        ({"parts_shortage_limit_days": 0}, "parts_shortage_limit_days_invalid"),
    ],
)
def test_invalid_input(seeded, manager, kwargs, code):
    with pytest.raises(InvalidInput) as exc:
        services.catalog_entry_save(code="lcd_tv", actor=actor_for_user(manager), **kwargs)
    assert exc.value.code == code


@pytest.mark.parametrize("who", ["auditor", "consumer"])
def test_only_platform_writers_change_it(seeded, who):
    user = (
        af.platform_user(PlatformGroup.AUDITOR)
        if who == "auditor"
        else af.ConsumerFactory(user=af.UserFactory(username="c1")).user
    )
    with pytest.raises(PermissionDenied):
        services.catalog_entry_save(code="lcd_tv", whole_unit_months=24, actor=actor_for_user(user))
    assert SanbaoCatalogEntry.objects.get(code="lcd_tv").whole_unit_months == 12


def test_system_may_change(seeded):
    _entry, change = services.catalog_entry_save(
        code="bicycle", special_cases="电动自行车另行规定", actor=SYSTEM
    )
    assert change.actor_label == "system" and change.changed_by is None


# -- admin ---------------------------------------------------------------------------------------


def test_admin_lists_in_chinese(admin_client, seeded):
    page = admin_client.get("/admin/repairs/sanbaocatalogentry/").content.decode()
    assert "液晶/等离子电视" in page and "未知（不计算折旧退货）" in page


def test_admin_edit_goes_through_the_service(admin_client, admin_user, seeded):
    entry = seeded["lcd_tv"]
    page = admin_client.get(f"/admin/repairs/sanbaocatalogentry/{entry.pk}/change/")
    assert "显示屏 36" in page.content.decode()
    r = admin_client.post(
        f"/admin/repairs/sanbaocatalogentry/{entry.pk}/change/",
        {
            "name": entry.name,
            "whole_unit_months": 12,
            "parts_text": "显示屏 48\n逻辑板 36",
            "daily_depreciation_rate": "0.120",
            "parts_shortage_limit_days": 90,
            "special_cases": "",
            "service_standard": entry.service_standard,
            "note": "调整",
            "changes-TOTAL_FORMS": 0,
            "changes-INITIAL_FORMS": 1,
            "changes-MIN_NUM_FORMS": 0,
            "changes-MAX_NUM_FORMS": 1000,
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    entry.refresh_from_db()
    assert entry.main_parts == [{"name": "显示屏", "months": 48}, {"name": "逻辑板", "months": 36}]
    assert entry.daily_depreciation_rate == Decimal("0.120") and entry.version == 2
    change = entry.changes.first()
    assert change.changed_by == admin_user and change.note == "调整"


def test_admin_rejects_bad_parts_line(admin_client, seeded):
    entry = seeded["lcd_tv"]
    r = admin_client.post(
        f"/admin/repairs/sanbaocatalogentry/{entry.pk}/change/",
        {
            "name": entry.name,
            "whole_unit_months": 12,
            "parts_text": "显示屏",
            "parts_shortage_limit_days": 90,
            "changes-TOTAL_FORMS": 0,
            "changes-INITIAL_FORMS": 1,
            "changes-MIN_NUM_FORMS": 0,
            "changes-MAX_NUM_FORMS": 1000,
        },
    )
    assert r.status_code == 200 and "部件名称 月数" in r.content.decode()
    assert SanbaoCatalogEntry.objects.get(pk=entry.pk).version == 1
