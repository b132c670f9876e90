"""Walk the consumer pages and the merchant portal in a real Chromium (issue 2).

Waits use locator assertions (``expect``), not ``wait_for_function``: the pages' CSP forbids
the string evaluation that the latter needs.
"""

import re

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS, no_horizontal_overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_consumer_walks_list_filter_detail_and_timeline(new_page, shop):
    page = new_page()
    sign_in(page, "alice")
    assert page.url.endswith("/my/orders/")
    assert page.locator("h1").inner_text() == "我的订单"
    rows = page.locator("[data-testid=order-row]")
    assert rows.count() == 4
    assert "优品数码旗舰店" in page.content()
    assert shop["bobs"].number not in page.content()
    page.screenshot(path=SCREENSHOTS / "portal_my_orders.png", full_page=True)

    # Filter by status: htmx swaps the results in place and pushes the URL.
    page.select_option("#id_status", "delivered")
    page.wait_for_url(re.compile(r"status=delivered"))
    expect(page.locator("[data-testid=order-row]")).to_have_count(1)
    assert shop["delivered"].number in page.locator("#order-results").inner_text()

    # The language switch comes back to the filtered list, not the bare one.
    expect(page.locator(".lang-switch input[name=next]")).to_have_value(
        re.compile(r"status=delivered")
    )

    # Search by product name with the filter button.
    page.select_option("#id_status", "")
    page.fill("#id_q", "手表")
    page.click("[data-testid=filter-submit]")
    page.wait_for_url(re.compile(r"q=%E6%89%8B%E8%A1%A8|q=手表"))
    expect(page.locator("[data-testid=order-row]")).to_have_count(1)
    assert shop["shipped"].number in page.locator("#order-results").inner_text()

    # Back to everything, then open the delivered order.
    page.goto("/my/orders/")
    page.click(f"text={shop['delivered'].number}")
    page.wait_for_url(re.compile(rf"/my/orders/{shop['delivered'].pk}/$"))
    assert page.locator("[data-testid=order-status]").inner_text() == "已签收"
    events = page.locator("[data-testid=tracking-event]")
    assert events.count() == 5
    # Newest first, times in Shanghai: the first node (16:30 UTC) shows as 00:30 next day.
    assert "已签收" in events.first.inner_text()
    assert "2026-11-19 00:30:00" in events.last.inner_text()
    assert "杭州市" in events.last.inner_text()
    assert "张三丰" in page.locator("[data-testid=sign-off]").inner_text()
    assert page.locator("[data-testid=tender]").count() == 2
    page.screenshot(path=SCREENSHOTS / "portal_my_order_detail.png", full_page=True)
    assert page.csp_errors == []


def test_merchant_walks_the_portal_with_masked_consumers(new_page, shop):
    page = new_page()
    sign_in(page, "shop-staff")
    assert page.url.endswith("/merchant/")  # merchants land on their workbench (issue 14)
    page.click(".main-nav >> text=订单管理")
    page.wait_for_url(re.compile(r"/merchant/orders/$"))
    assert page.locator("h1").inner_text() == "订单管理"
    assert "优品数码旗舰店" in page.locator(".site-header").inner_text()
    results = page.locator("#order-results").inner_text()
    assert page.locator("[data-testid=order-row]").count() == 4
    assert "电饭煲" not in results  # another merchant's order
    assert "张*丰" in results and "李*" in results and "139******11" in results
    assert "张三丰" not in page.content() and "13900001111" not in page.content()
    page.screenshot(path=SCREENSHOTS / "portal_merchant_orders.png", full_page=True)

    page.fill("#id_q", "显示器")
    page.click("[data-testid=filter-submit]")
    expect(page.locator("[data-testid=order-row]")).to_have_count(1)
    page.click(f"text={shop['bobs'].number}")
    page.wait_for_url(re.compile(rf"/merchant/orders/{shop['bobs'].pk}/$"))
    ship_to = page.locator("[data-testid=ship-to]").inner_text()
    assert "李*" in ship_to and "139******11" in ship_to and "1201" not in ship_to

    page.goto(f"/merchant/orders/{shop['delivered'].pk}/")
    assert page.locator("[data-testid=tracking-event]").count() == 5
    assert "张*丰" in page.locator("[data-testid=sign-off]").inner_text()
    page.screenshot(path=SCREENSHOTS / "portal_merchant_order_detail.png", full_page=True)

    # The consumer pages are not the merchant's: the page says so and links to the workbench.
    response = page.goto("/my/orders/")
    assert response.status == 403
    expect(page.locator("[data-testid=own-place]")).to_have_attribute("href", "/merchant/")
    assert page.csp_errors == []


def test_switch_to_english_and_back(new_page, shop):
    page = new_page()
    page.goto("/accounts/login/")
    page.screenshot(path=SCREENSHOTS / "portal_login.png", full_page=True)
    page.click("[data-testid=lang-en]")
    assert page.locator("h1").inner_text() == "After-sales Service Platform"
    sign_in(page, "alice")
    assert page.locator("h1").inner_text() == "My orders"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"/my/orders/{shop['delivered'].pk}/")
    assert page.locator("[data-testid=order-status]").inner_text() == "Delivered"
    assert "Tracking" in page.content()
    page.screenshot(path=SCREENSHOTS / "portal_my_order_detail_en.png", full_page=True)
    page.click("[data-testid=lang-zh-hans]")
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("[data-testid=order-status]").inner_text() == "已签收"
    assert re.search(rf"/my/orders/{shop['delivered'].pk}/$", page.url)


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_phone_width_has_no_horizontal_overflow(new_page, shop, lang):
    page = new_page(width=375, height=812)
    page.goto("/accounts/login/")
    if lang == "en":
        page.click("[data-testid=lang-en]")
    assert no_horizontal_overflow(page), "login"
    sign_in(page, "alice")
    for path in [
        "/my/orders/",
        f"/my/orders/{shop['delivered'].pk}/",
        "/my/orders/?status=delivered&placed_from=2026-11-01",
    ]:
        page.goto(path)
        assert no_horizontal_overflow(page), path
    if lang == "zh-hans":
        page.goto(f"/my/orders/{shop['delivered'].pk}/")
        page.screenshot(path=SCREENSHOTS / "portal_my_order_detail_375.png", full_page=True)
        page.goto("/my/orders/")
        page.screenshot(path=SCREENSHOTS / "portal_my_orders_375.png", full_page=True)
    page.click("[data-testid=logout]")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    sign_in(page, "shop-staff")
    for path in ["/merchant/orders/", f"/merchant/orders/{shop['delivered'].pk}/"]:
        page.goto(path)
        assert no_horizontal_overflow(page), path
    if lang == "zh-hans":
        page.screenshot(path=SCREENSHOTS / "portal_merchant_order_detail_375.png", full_page=True)
