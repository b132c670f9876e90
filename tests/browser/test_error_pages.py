"""Pages when something is wrong, in a real Chromium (issue 14): the 404 and the no-access page
in both languages, the repair provider's status banner, and the merchant's workbench whose
counts open the lists of the cases they count."""

import re

import pytest
from playwright.sync_api import expect

from aftersales.tests import factories as kernel
from repairs.services import provider_suspend
from repairs.tests import factories_pages as fp
from returns import services
from returns.tests.factories import SYSTEM, consumer_actor
from returns.tests.factories_pages import page_request, signed_line

from .conftest import SCREENSHOTS, _user, assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
expect.set_options(timeout=15_000)


@pytest.fixture
def people(transactional_db):
    merchant = kernel.MerchantFactory(code="er-shop", name="优品数码旗舰店")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰")
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    return {"merchant": merchant, "alice": alice}


def test_404_and_another_portal_say_what_is_wrong_in_both_languages(new_page, people):
    page = new_page()
    sign_in(page, "alice")

    response = page.goto("/my/orders/999999/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("页面不存在")
    page.screenshot(path=SCREENSHOTS / "error_404.png", full_page=True)
    assert "portal-merchant" not in page.locator("body").get_attribute("class")
    page.click("[data-testid=lang-en]")  # the language switch works on the error page too
    expect(page.locator("h1")).to_have_text("Page not found")
    assert page.locator("html").get_attribute("lang") == "en"

    response = page.goto("/merchant/")
    assert response.status == 403
    expect(page.locator("[data-testid=no-access]")).to_have_text(
        "Your account has no access to the merchant portal"
    )
    assert "portal-merchant" in page.locator("body").get_attribute("class")
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "error_no_access_en.png", full_page=True)
    page.click("[data-testid=lang-zh-hans]")
    expect(page.locator("[data-testid=no-access]")).to_have_text("您的账号无权访问商家后台")
    expect(page.locator("[data-testid=own-place]")).to_have_text("前往我的订单")

    # An object's URL in another portal: the same words, a 404 (nothing said about the object).
    response = page.goto("/provider/repairs/1/")
    assert response.status == 404
    expect(page.locator("[data-testid=no-access]")).to_have_text("您的账号无权访问维修服务商后台")
    page.click("[data-testid=own-place]")
    page.wait_for_url(re.compile(r"/my/orders/$"))


def test_a_provider_not_admitted_or_suspended_sees_a_banner_on_every_page(new_page, people):
    tech = _user("tech")
    provider = fp.provider(name="顺达家电维修中心", licence="LIC-ERR", staff=[tech])
    card = fp.card(consumer=people["alice"], merchant=people["merchant"], product_name="液晶电视")
    repair = fp.repair(card=card, provider=provider, received_days_ago=1)
    page = new_page()
    sign_in(page, "tech")
    page.wait_for_url(re.compile(r"/provider/repairs/$"))
    expect(page.locator("[data-testid=provider-status-banner]")).to_have_count(0)

    provider_suspend(provider=provider, actor=SYSTEM, reason="资质到期")
    for path in ("/provider/repairs/", f"/provider/repairs/{repair.pk}/"):
        page.goto(path)
        banner = page.locator("[data-testid=provider-status-banner]")
        expect(banner).to_have_attribute("data-status", "suspended")
        expect(banner).to_contain_text("服务已暂停")
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "provider_suspended_banner.png", full_page=True)

    provider.status = provider.Status.APPLIED  # a new applicant's staff, before admission
    provider.save(update_fields=["status"])
    page.click("[data-testid=lang-en]")
    banner = page.locator("[data-testid=provider-status-banner]")
    expect(banner).to_have_attribute("data-status", "applied")
    expect(banner).to_contain_text("Admission under review")


def test_merchant_lands_on_the_workbench_whose_counts_open_their_lists(new_page, people):
    merchant, alice = people["merchant"], people["alice"]

    def line(name):
        return signed_line(consumer=alice, merchant=merchant, product_name=name)

    # One request through the service (its 48-hour answer deadline is due soon), one written
    # directly (no deadline), an arbitration to answer and a parcel sent back.
    services.return_request_create(
        line=line("智能手表 S3"),
        kind="return_refund",
        reason="no_reason",
        quantity=1,
        actor=consumer_actor(alice),
    )
    page_request(line("机械键盘"), status="requested")
    page_request(line("蓝牙音箱"), status="arbitration", reason="quality")
    page_request(line("电动牙刷"), status="return_shipped")
    fp.repair(card=fp.card(consumer=alice, merchant=merchant, product_name="液晶电视"))

    page = new_page()
    sign_in(page, "shop-staff")
    assert page.url.endswith("/merchant/")
    expect(page.locator("[data-testid=nav-workbench]")).to_have_attribute("aria-current", "page")

    def count(key):
        return page.locator(f"[data-testid=workbench-{key}] [data-testid=count]")

    expect(count("returns-to-review")).to_have_text("2")
    expect(count("arbitrations-to-answer")).to_have_text("1")
    expect(count("returns-to-receive")).to_have_text("1")
    expect(count("returns-due-soon")).to_have_text("1")
    expect(count("repairs-to-assign")).to_have_text("1")
    assert "is-urgent" in page.locator("[data-testid=workbench-returns-due-soon]").get_attribute(
        "class"
    )
    assert_accessible(page)
    page.screenshot(path=SCREENSHOTS / "merchant_workbench.png", full_page=True)

    page.click("[data-testid=workbench-returns-to-review] a")
    page.wait_for_url(re.compile(r"/merchant/returns/\?status=requested$"))
    expect(page.locator("[data-testid=return-row]")).to_have_count(2)
    page.go_back()
    page.click("[data-testid=workbench-returns-due-soon] a")
    page.wait_for_url(re.compile(r"due=soon"))
    expect(page.locator("[data-testid=return-row]")).to_have_count(1)
    expect(page.locator("[data-testid=return-row]")).to_contain_text("智能手表 S3")
    page.goto("/merchant/")
    page.click("[data-testid=workbench-repairs-to-assign] a")
    page.wait_for_url(re.compile(r"/merchant/repairs/\?status=requested$"))
    expect(page.locator("[data-testid=repair-row]")).to_have_count(1)

    page.goto("/merchant/")
    page.click("[data-testid=lang-en]")
    expect(page.locator("h1")).to_have_text("Workbench")
    expect(page.locator("[data-testid=workbench-returns-to-review]")).to_contain_text(
        "Requests to review"
    )
