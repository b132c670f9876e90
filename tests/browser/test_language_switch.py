"""The language switch on every portal and in the staff console (issue 14): a signed-in user
clicks EN, stays on the page they were on, and reads it in English (no Chinese in the page's
chrome: header, navigation, headings, buttons); 中文 brings Chinese back. Data (product and shop
names) stays as entered, so the fixtures here use English names."""

import re

import pytest

from aftersales.tenancy.models import User
from aftersales.tests import factories as kernel
from orders.models import Order
from orders.tests.factories_pages import page_order
from repairs.tests import factories_pages as fp

from .conftest import PASSWORD, SCREENSHOTS, _user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CJK = re.compile(r"[\u3400-\u9fff]")
CHROME = "header, nav, h1, h2, h3, th, label, button, .button, legend, #header, #user-tools"


@pytest.fixture
def world(transactional_db):
    merchant = kernel.MerchantFactory(code="ls-shop", name="Good Things Store")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="Alice Wang")
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    tech = _user("tech")
    fp.provider(name="Fix It Centre", licence="LIC-LANG", staff=[tech])
    order = page_order(
        consumer=alice,
        merchant=merchant,
        product_name="Noise-cancelling headphones",
        spec="Black",
        status=Order.Status.PAID,
    )
    admin = User.objects.create_superuser("console", "console@example.com", PASSWORD)
    return {"order": order, "admin": admin}


def _chrome_text(page):
    """The text of the page's chrome, without what is not read as text (the logo glyph, marked
    aria-hidden) and the language switch itself (each language named in its own)."""
    return page.evaluate(
        """(selector) => Array.from(document.querySelectorAll(selector), (el) => {
            if (el.closest('[aria-hidden="true"], .lang-switch')) return "";
            const copy = el.cloneNode(true);
            copy.querySelectorAll('[aria-hidden="true"], .lang-switch').forEach((n) => n.remove());
            return copy.textContent;
        }).join("\\n")""",
        CHROME,
    )


@pytest.mark.parametrize(
    ("username", "start", "heading_en"),
    [
        ("alice", "/my/orders/", "My orders"),
        ("shop-staff", "/merchant/orders/", None),
        ("tech", "/provider/repairs/", None),
        ("console", "/admin/", None),
    ],
)
def test_switch_to_english_and_back_on_every_portal(new_page, world, username, start, heading_en):
    page = new_page()
    sign_in(page, username)
    page.goto(start)
    zh = _chrome_text(page)
    assert CJK.search(zh), f"{start} should read in Chinese first"
    page.click("[data-testid=lang-en]")
    page.wait_for_load_state("domcontentloaded")
    assert page.url.endswith(start), "the switch keeps the page"
    assert page.locator("html").get_attribute("lang") == "en"
    english = _chrome_text(page)
    assert not CJK.search(english), f"Chinese left on {start} in English:\n{english}"
    if heading_en:
        assert page.locator("h1").first.inner_text() == heading_en
    page.screenshot(path=SCREENSHOTS / f"lang_en_{username}.png", full_page=True)
    page.click("[data-testid=lang-zh-hans]")
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert CJK.search(_chrome_text(page))
