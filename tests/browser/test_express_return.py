"""A return with an express refund (R12) in a real Chromium, end to end: the merchant keeps a
return address in the portal and approves with it; the consumer sees where to ship, copies the
address and ships back; the carrier's first scan pays the refund at once from the platform's
funds and its delivery scan makes the goods received; the consumer then sees no deadline to be
refunded; the merchant confirms receipt, which completes the case and recovers the advance from
the merchant's settlement through the payment gateway.

Carrier scans and gateway answers come from the sandbox adapters (their task functions, called
here as the worker would).
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from aftersales import clock
from aftersales.tests import factories as kernel
from orders import tasks as order_tasks
from orders.models import GatewayRefund, GatewayTransfer
from returns import services
from returns.models import ReturnRequest
from returns.tests.factories import SYSTEM, consumer_actor
from returns.tests.factories_pages import signed_line

from .conftest import SCREENSHOTS, _user, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
expect.set_options(timeout=15_000)


def _answer_gateway():
    """The sandbox gateway answers every pending refund and transfer (as its worker would)."""
    for _ in range(6):
        refunds = list(GatewayRefund.objects.filter(status="pending").values_list("pk", flat=True))
        transfers = list(
            GatewayTransfer.objects.filter(status="pending").values_list("pk", flat=True)
        )
        if not refunds and not transfers:
            return
        for pk in refunds:
            order_tasks.sandbox_refund_process(pk)
        for pk in transfers:
            order_tasks.sandbox_transfer_process(pk)


@pytest.fixture
def express_shop(transactional_db):
    merchant = kernel.MerchantFactory(code="ex-shop", name="优品数码旗舰店")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰", credit_score=820)
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    line = signed_line(
        consumer=alice,
        merchant=merchant,
        signed_at=clock.now() - timedelta(days=1),
        product_name="降噪蓝牙耳机 Pro",
        unit_price=Decimal("899.00"),
    )
    request = services.return_request_create(
        line=line,
        kind="return_refund",
        reason="no_reason",
        quantity=1,
        actor=consumer_actor(alice),
    )
    return {"request": request}


def test_express_refund_return_journey(new_page, express_shop, live_server):
    request = express_shop["request"]
    merchant = new_page()
    sign_in(merchant, "shop-staff")

    # The merchant keeps a return address for its warehouse.
    merchant.click("[data-testid=nav-return-addresses]")
    merchant.wait_for_url(re.compile(r"/merchant/return-addresses/$"))
    expect(merchant.locator("[data-testid=no-address]")).to_be_visible()
    merchant.fill("#id_warehouse", "上海仓")
    merchant.fill("#id_contact_name", "王仓管")
    merchant.fill("#id_phone", "021-55550000")
    merchant.fill("#id_province", "上海市")
    merchant.fill("#id_city", "上海市")
    merchant.fill("#id_district", "浦东新区")
    merchant.fill("#id_street", "川沙路 100 号")
    merchant.click("[data-testid=address-submit]")
    expect(merchant.locator("[data-testid=return-address]")).to_contain_text("上海仓")
    expect(merchant.locator("[data-testid=default-address]")).to_be_visible()

    # It approves the return, shipping back to that warehouse.
    merchant.goto(f"/merchant/returns/{request.pk}/")
    expect(merchant.locator("[data-testid=approve-address]")).to_contain_text("上海仓")
    merchant.click("[data-testid=approve-submit]")
    expect(merchant.locator("[data-testid=return-status]")).to_have_text("已同意，待寄回")

    # The consumer sees where to ship, copies the address and ships back.
    consumer = new_page()
    consumer.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=live_server.url
    )
    sign_in(consumer, "alice")
    consumer.goto(f"/my/returns/{request.pk}/")
    address = "王仓管 021-55550000 上海市上海市浦东新区川沙路 100 号"
    expect(consumer.locator("[data-testid=return-address-text]")).to_have_text(address)
    consumer.click("[data-testid=copy-address]")
    expect(consumer.locator("[data-testid=copy-address]")).to_have_text("已复制")
    consumer.screenshot(path=SCREENSHOTS / "express_my_ship_back.png", full_page=True)
    consumer.select_option("#id_carrier", "顺丰速运")
    consumer.fill("#id_tracking_number", "SF2026120700001")
    consumer.click("[data-testid=ship-submit]")
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("买家已寄回")

    # The carrier's first scan: the platform refunds at once (R12); then the delivery scan.
    request = ReturnRequest.objects.get(pk=request.pk)
    now = clock.now()
    services.return_parcel_scan_record(
        request=request, kind="picked_up", occurred_at=now - timedelta(minutes=30), actor=SYSTEM
    )
    _answer_gateway()
    services.return_parcel_scan_record(
        request=request, kind="signed", occurred_at=now - timedelta(minutes=1), actor=SYSTEM
    )
    consumer.reload()
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("商家已收货")
    deadlines = consumer.locator("[data-testid=deadlines]")
    expect(deadlines).to_contain_text("扣回极速退款垫付款")
    expect(deadlines).not_to_contain_text("平台自动退款")

    # The merchant inspects: no refund to make, the receipt completes the case.
    merchant.goto(f"/merchant/returns/{request.pk}/")
    expect(merchant.locator("[data-testid=express-receive-hint]")).to_be_visible()
    expect(merchant.locator("[data-testid=refund-action]")).to_have_count(0)
    merchant.click("[data-testid=intact-yes]")
    merchant.click("[data-testid=receive-submit]")
    expect(merchant.locator("[data-testid=return-status]")).to_have_text("已退款")
    expect(merchant.locator("[data-testid=express-recovery]")).to_contain_text("结算中")
    _answer_gateway()
    merchant.reload()
    expect(merchant.locator("[data-testid=express-recovery]")).to_contain_text("已结算")
    merchant.screenshot(path=SCREENSHOTS / "express_merchant_settled.png", full_page=True)
    assert consumer.csp_errors == [] and merchant.csp_errors == []
