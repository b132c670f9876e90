"""axe-core on every page type (issue 14, "Accessibility"): no serious or critical finding.

One data set for the module, built once; each page type is visited once, the portals' main pages
in Chinese and in English. A failing run lists every page with its findings, not only the first.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from aftersales import clock
from aftersales.tests import factories as kernel
from orders.models import Order
from orders.tests.factories_pages import page_order, ship_with_trajectory
from repairs.tests import factories_pages as fp
from returns.tests.factories_pages import page_evidence, page_request, signed_line

from .conftest import PASSWORD, _user, axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    merchant = kernel.MerchantFactory(code="ax-shop", name="优品数码旗舰店")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰")
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    agent = kernel.platform_user("after_sales_agent", username="agent")
    agent.set_password(PASSWORD)
    agent.save()
    tech = _user("tech")
    provider = fp.provider(name="顺达家电维修中心", licence="LIC-AXE", staff=[tech])
    order = page_order(
        consumer=alice,
        merchant=merchant,
        product_name="降噪蓝牙耳机 Pro",
        unit_price=Decimal("1299.00"),
        status=Order.Status.DELIVERED,
        tenders=(("coupon", "100.00"), ("card", None)),
    )
    ship_with_trajectory(order, signer="张三丰")
    line = signed_line(
        consumer=alice,
        merchant=merchant,
        signed_at=clock.now() - timedelta(days=1),
        product_name="智能手表 S3",
    )
    request = page_request(line, status="requested")
    page_evidence(request)
    arbitrated = page_request(
        signed_line(consumer=alice, merchant=merchant, product_name="机械键盘"),
        status="arbitration",
        reason="quality",
    )
    tv = fp.card(consumer=alice, merchant=merchant, signed_days_ago=40, product_name="液晶电视")
    fresh = fp.card(consumer=alice, merchant=merchant, signed_days_ago=3, product_name="冰箱")
    repair = fp.repair(card=tv, provider=provider, received_days_ago=2)
    return {
        "order": order,
        "line": line,
        "request": request,
        "arbitrated": arbitrated,
        "tv": tv,
        "fresh": fresh,
        "repair": repair,
    }


def _in(page, language):
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": page.url}]
    )


def test_every_page_type_has_no_serious_or_critical_finding(new_page, world, live_server):
    findings = {}

    def check(page, path, *, languages=("zh-hans",), status=200):
        for language in languages:
            _in(page, language)
            response = page.goto(path)
            page.wait_for_load_state("domcontentloaded")
            if response.status != status:
                findings[f"{path} [{language}]"] = [f"answered {response.status}, not {status}"]
                continue
            found = axe_violations(page)
            if found:
                findings[f"{path} [{language}]"] = found
        _in(page, "zh-hans")

    both = ("zh-hans", "en")
    r, tv, repair = world["request"], world["tv"], world["repair"]

    anonymous = new_page()
    anonymous.goto("/accounts/login/")
    check(anonymous, "/accounts/login/", languages=both)
    check(anonymous, "/admin/login/")
    check(anonymous, "/no-such-page/", languages=both, status=404)  # the 404 page, signed out
    # The 500 page is rendered without a request; served here through a route of the browser.
    with translation.override("zh-hans"):
        body = render_to_string("500.html")
    anonymous.route(
        "**/__server_error__",
        lambda route: route.fulfill(status=500, body=body, content_type="text/html"),
    )
    check(anonymous, "/__server_error__", status=500)

    consumer = new_page()
    sign_in(consumer, "alice")
    check(consumer, "/my/orders/", languages=both)
    check(consumer, f"/my/orders/{world['order'].pk}/", languages=both)
    check(consumer, f"/my/lines/{world['line'].pk}/after-sales/", languages=both)
    check(consumer, "/my/returns/")
    check(consumer, f"/my/returns/{r.pk}/", languages=both)
    check(consumer, "/my/warranties/")
    check(consumer, f"/my/warranties/{tv.pk}/", languages=both)
    check(consumer, f"/my/warranties/{tv.pk}/repair/")
    check(consumer, f"/my/warranties/{world['fresh'].pk}/remedy/", languages=both)
    check(consumer, "/my/repairs/")
    check(consumer, f"/my/repairs/{repair.pk}/")
    check(consumer, "/my/messages/", languages=both)
    check(consumer, "/my/messages/preferences/")
    check(consumer, "/my/orders/999999/", languages=both, status=404)  # 404 inside the portal
    check(consumer, "/merchant/", languages=both, status=403)  # no access to the merchant portal

    merchant = new_page()
    sign_in(merchant, "shop-staff")
    check(merchant, "/merchant/", languages=both)
    check(merchant, "/merchant/orders/", languages=both)
    check(merchant, f"/merchant/orders/{world['order'].pk}/")
    check(merchant, "/merchant/returns/", languages=both)
    check(merchant, f"/merchant/returns/{r.pk}/", languages=both)
    check(merchant, f"/merchant/returns/{world['arbitrated'].pk}/")
    check(merchant, "/merchant/returns/analytics/")
    check(merchant, "/merchant/return-addresses/")
    check(merchant, "/merchant/repairs/")
    check(merchant, f"/merchant/repairs/{repair.pk}/")
    check(merchant, "/merchant/warranties/")
    check(merchant, f"/merchant/warranties/{tv.pk}/")
    check(merchant, "/merchant/escalations/")
    check(merchant, "/merchant/messages/")
    check(merchant, "/merchant/messages/preferences/")

    provider = new_page()
    sign_in(provider, "tech")
    check(provider, "/provider/repairs/", languages=both)
    check(provider, f"/provider/repairs/{repair.pk}/", languages=both)

    staff = new_page()
    staff.goto("/admin/login/")
    staff.fill("#id_username", "agent")
    staff.fill("#id_password", PASSWORD)
    staff.click("input[type=submit]")
    staff.wait_for_url(f"{live_server.url}/admin/")
    check(staff, "/admin/", languages=both)
    check(staff, "/admin/returns/returnrequest/", languages=both)
    check(staff, f"/admin/returns/returnrequest/{r.pk}/change/", languages=both)

    # A CSRF failure: the sign-in form posted without its cookie.
    csrf = new_page()
    csrf.goto("/accounts/login/")
    csrf.context.clear_cookies()
    csrf.fill("#id_username", "alice")
    csrf.fill("#id_password", PASSWORD)
    csrf.click("button[type=submit].button-primary")
    csrf.wait_for_load_state("domcontentloaded")
    found = axe_violations(csrf)
    if found:
        findings["CSRF failure"] = found

    report = "\n".join(f"{page}:\n  " + "\n  ".join(lines) for page, lines in findings.items())
    assert not findings, f"axe-core findings (serious or critical):\n{report}"
