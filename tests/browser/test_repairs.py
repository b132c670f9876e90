"""三包 repairs in a real Chromium (issue 5): the consumer reads a card's entitlements ("为什么只能
维修？") and requests a repair with a photo; the provider's staff record receipt (送修, its own
time) and the result. Screenshots go to ``BROWSER_SCREENSHOTS`` (default /tmp)."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from aftersales import clock
from aftersales.deadlines.rules import SHANGHAI
from aftersales.tests import factories as kernel
from aftersales.tests.uploads import png_bytes
from repairs.models import RepairOrder
from repairs.tests import factories_pages as fp

from .conftest import PASSWORD, SCREENSHOTS, _user, no_horizontal_overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = png_bytes()


@pytest.fixture
def repairs_world(transactional_db):
    merchant = kernel.MerchantFactory(code="rp-shop", name="优品家电旗舰店")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰")
    tech = _user("tech")
    provider = fp.provider(name="顺达家电维修中心", licence="LIC-BROWSER", staff=[tech])
    tv = fp.card(
        consumer=alice,
        merchant=merchant,
        signed_days_ago=40,
        serials=["SN-55-0001"],
        product_name="液晶电视 55 英寸",
    )
    return {"merchant": merchant, "alice": alice, "tech": tech, "provider": provider, "tv": tv}


def test_consumer_reads_entitlements_and_requests_a_repair(new_page, repairs_world, tmp_path):
    tv = repairs_world["tv"]
    page = new_page()
    sign_in(page, "alice")
    page.click("text=我的三包")
    page.wait_for_url(re.compile(r"/my/warranties/$"))
    expect(page.locator("[data-testid=card-row]")).to_have_count(1)
    assert "SN-55-0001" in page.locator("[data-testid=card-row]").inner_text()
    page.click("[data-testid=card-link]")
    page.wait_for_url(re.compile(rf"/my/warranties/{tv.pk}/$"))

    # Day 40 of an LCD TV: only a free repair (G3); the page says why, rule by rule.
    remedies = page.locator("[data-testid=remedy]")
    expect(remedies).to_have_count(1)
    assert remedies.first.get_attribute("data-rule") == "G3"
    why = page.locator("[data-testid=why-only]").inner_text()
    # Consumers read the law by name, not the platform's codes (issue 14).
    law = "《部分商品修理更换退货责任规定》"
    assert "为什么只能维修？" in why and f"{law}第九条" in why and f"{law}第十条" in why
    assert f"{law}第十一条" in why and "G1" not in why
    expect(page.locator("[data-testid=coverage-row]")).to_have_count(5)
    page.screenshot(path=SCREENSHOTS / "repairs_my_card_entitlements.png", full_page=True)

    page.click("[data-testid=request-repair]")
    page.wait_for_url(re.compile(rf"/my/warranties/{tv.pk}/repair/$"))
    # An empty description is refused with a clear error, nothing is created.
    page.click("[data-testid=submit-repair]")
    expect(page.locator("[data-testid=form-errors]")).to_be_visible()
    assert not RepairOrder.objects.exists()

    photo = tmp_path / "fault.png"
    photo.write_bytes(PNG)
    page.fill("#id_fault_description", "开机后黑屏，有声音无图像")
    page.check("input[name=service_mode][value=send_in]")
    page.set_input_files("#id_photos", str(photo))
    page.screenshot(path=SCREENSHOTS / "repairs_my_request_form.png", full_page=True)
    page.click("[data-testid=submit-repair]")
    page.wait_for_url(re.compile(r"/my/repairs/\d+/$"))
    repair = RepairOrder.objects.get(card=tv)
    expect(page.locator("[data-testid=repair-status]")).to_have_text("已申请")
    assert repair.number in page.content()
    assert "提交维修申请" in page.locator("[data-testid=timeline-event]").first.inner_text()
    assert repair.evidence.count() == 1
    page.screenshot(path=SCREENSHOTS / "repairs_my_repair_detail.png", full_page=True)
    assert page.csp_errors == []


def test_provider_records_receipt_and_result(new_page, repairs_world):
    repair = fp.repair(
        card=repairs_world["tv"], provider=repairs_world["provider"], ago=timedelta(days=1)
    )
    page = new_page()
    sign_in(page, "tech", PASSWORD)
    page.wait_for_url(re.compile(r"/provider/repairs/$"))
    assert "顺达家电维修中心" in page.locator(".site-header").inner_text()
    expect(page.locator("[data-testid=repair-row]")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS / "repairs_provider_list.png", full_page=True)
    page.click(f"text={repair.number}")
    page.wait_for_url(re.compile(rf"/provider/repairs/{repair.pk}/$"))
    # The consumer is masked for the provider.
    assert "张*丰" in page.locator("[data-testid=consumer-name]").inner_text()

    received = (clock.now() - timedelta(hours=3)).astimezone(SHANGHAI)
    page.fill("#id_receive_occurred_at", received.strftime("%Y-%m-%dT%H:%M"))
    page.click("[data-testid=submit-receive]")
    expect(page.locator("[data-testid=repair-status]")).to_have_text("已送修")
    assert (
        received.strftime("%Y-%m-%d %H:%M")
        in page.locator("[data-testid=received-at]").inner_text()
    )
    deadlines = page.locator("[data-testid=deadlines]").inner_text()
    assert "30 日" in deadlines and "剩余" in deadlines

    form = page.locator("[data-testid=action-result]")
    form.locator("input[name=result][value=fixed]").check()
    form.locator("textarea[name=parts_replaced]").fill("背光板 × 1")
    form.locator("textarea[name=result_note]").fill("更换背光板，测试正常")
    page.click("[data-testid=submit-result]")
    expect(page.locator("[data-testid=repair-status]")).to_have_text("已修好")
    result = page.locator("[data-testid=repair-result]").inner_text()
    assert "背光板 × 1" in result and "免费（三包）" in result

    # Returning the unit needs the confirmation tick.
    page.click("[data-testid=submit-return]")
    expect(page.locator("[data-testid=action-return] .field-error")).to_contain_text("请先勾选确认")
    page.check("[data-testid=action-return] input[name=confirm]")
    page.click("[data-testid=submit-return]")
    expect(page.locator("[data-testid=repair-status]")).to_have_text("已返还")
    page.screenshot(path=SCREENSHOTS / "repairs_provider_detail.png", full_page=True)
    repair.refresh_from_db()
    assert repair.status == "returned" and repair.received_at == received.replace(
        second=0, microsecond=0
    )
    assert page.csp_errors == []


def test_provider_pages_fit_a_phone(new_page, repairs_world):
    fp.repair(card=repairs_world["tv"], provider=repairs_world["provider"])
    page = new_page(width=375, height=812)
    sign_in(page, "tech", PASSWORD)
    page.wait_for_url(re.compile(r"/provider/repairs/$"))
    assert no_horizontal_overflow(page)
    page.screenshot(path=SCREENSHOTS / "repairs_provider_list_phone.png", full_page=True)


def test_merchant_sees_overdue_repairs_with_countdowns(new_page, repairs_world):
    merchant = repairs_world["merchant"]
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    late = fp.repair(
        card=repairs_world["tv"], provider=repairs_world["provider"], received_days_ago=35
    )
    other = fp.card(
        consumer=repairs_world["alice"], merchant=merchant, product_name="卧室电视 43 英寸"
    )
    fresh = fp.repair(card=other, provider=repairs_world["provider"], received_days_ago=2)
    page = new_page()
    sign_in(page, "shop-staff")
    page.click("text=维修管理")
    page.wait_for_url(re.compile(r"/merchant/repairs/$"))
    rows = page.locator("[data-testid=repair-row]")
    expect(rows).to_have_count(2)
    overdue = page.locator("tr.is-overdue")
    expect(overdue).to_have_count(1)
    assert late.number in overdue.inner_text() and "已超时" in overdue.inner_text()
    assert "剩余" in page.locator("tr", has_text=fresh.number).inner_text()
    assert "张*丰" in page.locator("#repair-results").inner_text()
    page.screenshot(path=SCREENSHOTS / "repairs_merchant_list.png", full_page=True)

    # Filter to the overdue ones: htmx swaps the results and pushes the URL.
    page.select_option("#id_overdue", "overdue")
    page.wait_for_url(re.compile(r"overdue=overdue"))
    expect(page.locator("[data-testid=repair-row]")).to_have_count(1)
    assert page.csp_errors == []


def test_day_10_out_of_stock_exchange_takes_another_spec(new_page, repairs_world):
    """G2 + G7 (issue 13): on day 10 the same model is out of stock, so no same-model exchange
    is offered; the consumer takes another spec (or could take a full refund), and the merchant
    sees the exchange to that spec in its returns queue."""
    from orders.tests.factories import SkuFactory
    from returns.models import ReturnRequest

    merchant = repairs_world["merchant"]
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    card = fp.card(
        consumer=repairs_world["alice"],
        merchant=merchant,
        signed_days_ago=10,
        product_name="客厅电视 65 英寸",
        stock=0,
    )
    other = SkuFactory(product=card.sku.product, price=card.unit_price, stock=3, spec="75 英寸")
    page = new_page()
    sign_in(page, "alice")
    page.goto(f"/my/warranties/{card.pk}/remedy/")
    expect(page.locator("[data-testid=alternative-hint]")).to_be_visible()
    labels = page.locator("[data-testid=remedy-form] .choice-list").inner_text()
    assert "换其他型号或规格（《部分商品修理更换退货责任规定》第十三条）" in labels
    assert "可退 ¥3000.00" in labels
    page.check("input[name=remedy][value=exchange]")
    page.select_option("#id_exchange_sku", str(other.pk))
    page.check("#id_confirm")
    page.screenshot(path=SCREENSHOTS / "repairs_g7_alternative.png", full_page=True)
    page.click("[data-testid=submit-remedy]")
    page.wait_for_url(re.compile(rf"/my/warranties/{card.pk}/$"))
    expect(page.locator("[data-testid=pending-remedy]")).to_be_visible()
    request = ReturnRequest.objects.get(line=card.order_line)
    assert (request.kind, request.rule, request.exchange_sku_id) == ("exchange", "G7", other.pk)
    assert page.csp_errors == []

    shop = new_page()
    sign_in(shop, "shop-staff")
    shop.goto(f"/merchant/returns/{request.pk}/")
    assert request.number in shop.content() and "G7" in shop.content()
