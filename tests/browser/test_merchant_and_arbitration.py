"""In a real Chromium: the merchant ships an order line from the portal (carrier and tracking
number, no API needed) and the consumer sees the parcel; platform staff reviewing an
arbitration see the carrier trajectories of the case's parcels as evidence (standard 6.2.3.2).
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from aftersales import clock
from aftersales.tests import factories as kernel
from orders.models import Order
from orders.tests.factories_pages import page_order
from returns import services
from returns.tests.factories import SYSTEM, consumer_actor, merchant_actor, photo
from returns.tests.factories_pages import signed_line

from .conftest import PASSWORD, SCREENSHOTS, _user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
expect.set_options(timeout=15_000)


@pytest.fixture
def shop(transactional_db):
    merchant = kernel.MerchantFactory(code="mt-shop", name="优品数码旗舰店")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰", credit_score=300)
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    agent = kernel.platform_user("after_sales_agent", username="agent")
    agent.set_password(PASSWORD)
    agent.save()
    return {"merchant": merchant, "alice": alice}


def test_merchant_ships_a_line_in_the_portal(new_page, shop):
    order = page_order(
        consumer=shop["alice"],
        merchant=shop["merchant"],
        product_name="智能手表 S3",
        unit_price=Decimal("899.00"),
        status=Order.Status.PAID,
    )
    merchant = new_page()
    sign_in(merchant, "shop-staff")
    merchant.goto(f"/merchant/orders/{order.pk}/")
    form = merchant.locator("[data-testid=ship-line-form]")
    expect(form).to_be_visible()
    merchant.select_option("#id_carrier", "顺丰速运")
    merchant.fill("#id_tracking_number", "SF2026120711111")
    merchant.click("[data-testid=ship-line-submit]")
    merchant.wait_for_url(re.compile(rf"/merchant/orders/{order.pk}/$"))
    expect(merchant.locator("[data-testid=shipment]")).to_contain_text("SF2026120711111")
    expect(merchant.locator("[data-testid=ship-line-form]")).to_have_count(0)
    consumer = new_page()
    sign_in(consumer, "alice")
    consumer.goto(f"/my/orders/{order.pk}/")
    expect(consumer.locator("[data-testid=shipment]")).to_contain_text("SF2026120711111")
    assert merchant.csp_errors == [] and consumer.csp_errors == []


def test_arbitration_review_shows_the_carrier_trajectories(new_page, shop):
    now = clock.now()
    line = signed_line(
        consumer=shop["alice"],
        merchant=shop["merchant"],
        signed_at=now - timedelta(days=2),
        product_name="降噪蓝牙耳机 Pro",
    )
    consumer, merchant = consumer_actor(shop["alice"]), merchant_actor(shop["merchant"])
    request = services.return_request_create(
        line=line, kind="return_refund", reason="no_reason", quantity=1, actor=consumer
    )
    services.return_request_approve(request=request, actor=merchant)
    services.return_ship_back(
        request=request, actor=consumer, carrier="顺丰速运", tracking_number="SF2026120722222"
    )
    services.return_parcel_scan_record(
        request=request,
        kind="picked_up",
        occurred_at=now - timedelta(hours=20),
        actor=SYSTEM,
        location="上海浦东",
        description="快递员已揽收",
    )
    services.return_parcel_scan_record(
        request=request,
        kind="in_transit",
        occurred_at=now - timedelta(hours=8),
        actor=SYSTEM,
        location="杭州转运中心",
        description="已到达转运中心",
    )
    services.return_receive(
        request=request, actor=merchant, intact=False, note="外壳碎裂", evidence=[photo()]
    )
    services.return_escalate(request=request, actor=consumer, statement="寄出时完好")
    request.refresh_from_db()

    staff = new_page()
    staff.goto("/admin/login/")
    staff.fill("#id_username", "agent")
    staff.fill("#id_password", PASSWORD)
    staff.click("input[type=submit]")
    staff.goto(f"/admin/returns/arbitration/{request.arbitration.pk}/review/")
    trajectories = staff.locator("[data-testid=trajectories]")
    expect(trajectories).to_contain_text("SF2026120722222")
    events = trajectories.locator("[data-testid=trajectory-event]")
    expect(events.last).to_contain_text("杭州转运中心")
    expect(trajectories).to_contain_text("快递员已揽收")
    staff.screenshot(path=SCREENSHOTS / "arbitration_trajectories.png", full_page=True)
