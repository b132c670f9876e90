"""Playwright against pytest-django's live server, on Debian's system Chromium.

One browser per test module; a fresh context (cookies, viewport) per test. Playwright's sync
API runs an event loop in this thread, so Django's async-safety guard is relaxed while the
browser is open (the ORM calls in these tests are plain synchronous test setup).
"""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aftersales.tests import factories as kernel
from orders.models import Order
from orders.tests.factories_pages import page_order, ship_with_trajectory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pass-1234"
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", "/tmp"))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(width=1280)`` → a page in a fresh context; CSP reports are collected on
    ``page.csp_errors``."""
    contexts = []

    def make(width=1280, height=900):
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=live_server.url, locale="zh-CN"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.csp_errors = []
        page.on(
            "console",
            lambda msg: "Content Security Policy" in msg.text and page.csp_errors.append(msg.text),
        )
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page, username, password=PASSWORD):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit].button-primary")
    page.wait_for_load_state("domcontentloaded")


def _user(username, **kwargs):
    user = kernel.UserFactory(username=username, **kwargs)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def shop(transactional_db):
    """Two merchants, two consumers and a handful of orders in every shipping state."""
    merchant = kernel.MerchantFactory(code="bw-shop", name="优品数码旗舰店")
    other = kernel.MerchantFactory(code="bw-other", name="家居生活馆")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰")
    bob = kernel.ConsumerFactory(user=_user("bob"), name="李四")
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    base = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    delivered = page_order(
        consumer=alice,
        merchant=merchant,
        product_name="降噪蓝牙耳机 Pro",
        spec="曜石黑",
        unit_price=Decimal("1299.00"),
        discount=Decimal("100.00"),
        status=Order.Status.DELIVERED,
        placed_at=base,
        tenders=(("coupon", "100.00"), ("card", None)),
    )
    # 2026-11-18 16:30 UTC = 2026-11-19 00:30 Shanghai: the first trajectory node.
    ship_with_trajectory(
        delivered, start=datetime(2026, 11, 18, 16, 30, tzinfo=UTC), signer="张三丰"
    )
    shipped = page_order(
        consumer=alice,
        merchant=merchant,
        product_name="智能手表 S3",
        status=Order.Status.SHIPPED,
        placed_at=base + timedelta(days=2),
    )
    ship_with_trajectory(shipped, events=3)
    page_order(
        consumer=alice,
        merchant=other,
        product_name="电饭煲 5L",
        unit_price=Decimal("459.00"),
        placed_at=base + timedelta(days=3),
    )
    page_order(
        consumer=alice,
        merchant=merchant,
        product_name="机械键盘",
        status=Order.Status.CANCELLED,
        placed_at=base - timedelta(days=10),
    )
    bobs = page_order(
        consumer=bob,
        merchant=merchant,
        product_name="4K 显示器 27 英寸",
        ship_name="李四",
        ship_phone="13900001111",
        unit_price=Decimal("2199.00"),
        status=Order.Status.PAID,
        placed_at=base + timedelta(days=4),
    )
    return {"merchant": merchant, "delivered": delivered, "shipped": shipped, "bobs": bobs}


def no_horizontal_overflow(page):
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


# -- accessibility (issue 14) --------------------------------------------------------------------

# axe-core as shipped by the axe-playwright-python package (the ``test`` extra of pyproject.toml).
# Evaluated through Playwright's protocol, not as a <script> of the page, so the pages' CSP (no
# inline script, no string evaluation) stays as in production.
AXE_IMPACTS = ("serious", "critical")
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def axe_violations(page, *, impacts=AXE_IMPACTS):
    """axe-core's findings of ``impacts`` on the page as it is now, as short readable lines."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("(options) => window.axe.run(document, options)", AXE_OPTIONS)
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in impacts:
            continue
        for node in violation["nodes"]:
            found.append(
                f"{violation['id']} ({violation['impact']}): {' '.join(map(str, node['target']))}"
                f" — {node.get('failureSummary', '').splitlines()[-1].strip()}"
            )
    return found


def assert_accessible(page, label=None):
    """No serious or critical axe-core finding on ``page`` (WCAG 2.1 A/AA and best practice)."""
    found = axe_violations(page)
    assert not found, f"{label or page.url}:\n  " + "\n  ".join(found)
