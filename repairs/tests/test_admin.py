"""The repairs console: providers (review and suspension with a reason, qualifications shown),
warranty cards (search, end dates per part, the entitlement panel), repair orders (filters,
timeline, actions through the services) and the escalation queue (oldest first, resolve). The
catalog admin keeps working."""

from datetime import timedelta

import pytest

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.tenancy.actors import SYSTEM
from repairs import services
from repairs.models import RepairOrder, RepairProvider, SanbaoCatalogEntry, WarrantyEscalation
from repairs.tests.factories import provider_with_staff, signed_card

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
BASE = "/admin/repairs"


@pytest.fixture
def agent(client, roles):
    client.force_login(roles["after_sales_agent"])
    return client


@pytest.fixture
def auditor(client, roles):
    client.force_login(roles["auditor"])
    return client


@pytest.fixture
def case(merchant_a, roles):
    provider, (tech,) = provider_with_staff(staff=("adm-tech",))
    card = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - 20 * DAY)
    card.serial_number = "SN-ADMIN-42"
    card.save(update_fields=["serial_number"])
    repair = services.repair_request(actor=SYSTEM, card=card, fault_description="无法开机")
    return provider, card, repair


def _act(client, url, action, ids, **extra):
    return client.post(
        url, {"action": action, "_selected_action": [str(i) for i in ids], **extra}, follow=True
    )


def test_every_page_of_the_console_loads(agent, case):
    provider, card, repair = case
    pages = [
        f"{BASE}/repairprovider/",
        f"{BASE}/repairprovider/{provider.pk}/change/",
        f"{BASE}/repairprovider/add/",
        f"{BASE}/warrantycard/",
        f"{BASE}/warrantycard/{card.pk}/change/",
        f"{BASE}/repairorder/",
        f"{BASE}/repairorder/{repair.pk}/change/",
        f"{BASE}/warrantyescalation/",
        f"{BASE}/sanbaocatalogentry/",
        f"{BASE}/sanbaocatalogentry/{SanbaoCatalogEntry.objects.get(code='lcd_tv').pk}/change/",
    ]
    for page in pages:
        assert agent.get(page).status_code == 200, page


def test_provider_qualifications_and_review_with_reason(agent, roles):
    applied = services.provider_apply(
        actor=SYSTEM,
        name="待审维修站",
        licence_number="LIC-ADMIN-1",
        categories=["lcd_tv"],
        regions=["上海市"],
    )
    page = agent.get(f"{BASE}/repairprovider/{applied.pk}/change/").content.decode()
    assert "LIC-ADMIN-1" in page and "上海市" in page and "液晶" in page

    url = f"{BASE}/repairprovider/"
    refused = _act(agent, url, "reject", [applied.pk])  # no reason: the service refuses
    assert "驳回须说明原因" in refused.content.decode()
    assert RepairProvider.objects.get(pk=applied.pk).status == "applied"
    _act(agent, url, "approve", [applied.pk], reason="资质齐全")
    applied.refresh_from_db()
    assert applied.status == "approved" and applied.review_note == "资质齐全"
    assert applied.reviewed_by == roles["after_sales_agent"]
    _act(agent, url, "suspend", [applied.pk], reason="投诉较多")
    applied.refresh_from_db()
    assert applied.status == "suspended" and applied.status_reason == "投诉较多"
    assert TimelineEvent.objects.filter(
        subject_type="repairs.repairprovider",
        subject_id=applied.pk,
        verb="repair_provider.suspended",
    ).exists()


def test_adding_a_provider_records_an_application(agent):
    entry = SanbaoCatalogEntry.objects.get(code="lcd_tv")
    response = agent.post(
        f"{BASE}/repairprovider/add/",
        {
            "name": "新维修站",
            "licence_number": "LIC-ADMIN-NEW",
            "categories": [entry.pk],
            "regions_text": "上海市，浙江省",
        },
        follow=True,
    )
    assert response.status_code == 200
    provider = RepairProvider.objects.get(licence_number="LIC-ADMIN-NEW")
    assert provider.status == "applied" and provider.regions == ["上海市", "浙江省"]
    assert list(provider.categories.all()) == [entry]


def test_auditors_see_but_cannot_review(auditor):
    applied = services.provider_apply(
        actor=SYSTEM, name="审计看", licence_number="LIC-ADMIN-2", categories=["lcd_tv"]
    )
    assert auditor.get(f"{BASE}/repairprovider/{applied.pk}/change/").status_code == 200
    _act(auditor, f"{BASE}/repairprovider/", "approve", [applied.pk], reason="x")
    assert RepairProvider.objects.get(pk=applied.pk).status == "applied"


def test_card_search_end_dates_and_entitlement_panel(agent, case):
    _provider, card, _repair = case
    found = agent.get(f"{BASE}/warrantycard/", {"q": "SN-ADMIN-42"}).content.decode()
    assert card.number in found
    order = agent.get(f"{BASE}/warrantycard/", {"q": card.order_line.order.number})
    assert card.number in order.content.decode()
    page = agent.get(f"{BASE}/warrantycard/{card.pk}/change/").content.decode()
    assert "签收后第 20 天" in page and "只能免费维修" in page and "G3" in page
    assert "显示屏" in page and "高频调谐器" in page  # each main part with its end date


def test_repair_actions_go_through_the_services(agent, case):
    provider, _card, repair = case
    url = f"{BASE}/repairorder/"
    missing = _act(agent, url, "assign", [repair.pk])
    assert "请先在动作旁选择服务商" in missing.content.decode()
    _act(agent, url, "assign", [repair.pk], provider=provider.pk, reason="就近派单")
    repair.refresh_from_db()
    assert repair.status == "assigned" and repair.provider == provider
    page = agent.get(f"{url}{repair.pk}/change/").content.decode()
    assert "repair.assigned" in page and "就近派单" in page
    _act(agent, url, "cancel", [repair.pk], reason="消费者撤回")
    assert RepairOrder.objects.get(pk=repair.pk).status == "cancelled"


def test_repair_list_filters_by_overdue_status_and_provider(agent, case):
    provider, card, repair = case
    repair = services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
    WarrantyEscalation.objects.create(
        card=card, repair=repair, merchant=card.merchant, consumer=card.consumer, rule="G6"
    )
    url = f"{BASE}/repairorder/"
    assert repair.number in agent.get(url, {"overdue": "yes"}).content.decode()
    assert repair.number not in agent.get(url, {"overdue": "no"}).content.decode()
    assert repair.number in agent.get(url, {"provider__id__exact": provider.pk}).content.decode()
    assert repair.number not in agent.get(url, {"status__exact": "requested"}).content.decode()


def test_escalation_queue_oldest_first_and_resolve(agent, case, merchant_a, roles):
    _provider, card, repair = case
    other = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - DAY)
    newer = WarrantyEscalation.objects.create(
        card=card, merchant=merchant_a, consumer=card.consumer, rule="G4", raised_at=clock.now()
    )
    older = WarrantyEscalation.objects.create(
        card=other,
        merchant=merchant_a,
        consumer=other.consumer,
        rule="G6",
        raised_at=clock.now() - 3 * DAY,
    )
    url = f"{BASE}/warrantyescalation/"
    queue = agent.get(url)
    assert [e.pk for e in queue.context["cl"].result_list] == [older.pk, newer.pk]
    missing = _act(agent, url, "resolve", [older.pk])
    assert "请先在动作旁选择处理结果" in missing.content.decode()
    _act(agent, url, "resolve", [older.pk], resolution="exchange", reason="已安排换货")
    older.refresh_from_db()
    assert older.status == "resolved" and older.resolution == "exchange"
    assert older.resolution_note == "已安排换货"
    assert [e.pk for e in agent.get(url).context["cl"].result_list] == [newer.pk]


def test_the_catalog_admin_still_saves_versions(agent):
    entry = SanbaoCatalogEntry.objects.get(code="mobile_phone")
    data = {
        "code": entry.code,
        "name": entry.name,
        "whole_unit_months": entry.whole_unit_months,
        "parts_text": "电池 6\n充电器 12\n有线耳机 3",
        "daily_depreciation_rate": "0.050",
        "parts_shortage_limit_days": 60,
        "special_cases": "",
        "service_standard": "",
        "note": "补充折旧率",
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
    }
    response = agent.post(f"{BASE}/sanbaocatalogentry/{entry.pk}/change/", data, follow=True)
    assert response.status_code == 200
    entry.refresh_from_db()
    assert str(entry.daily_depreciation_rate) == "0.050" and entry.version == 2
