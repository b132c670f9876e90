"""Returns in a real Chromium (issue 4): the consumer asks for a return from an order line (sees
the window explanation, fills the form, uploads a photo for a quality reason) and follows it;
the merchant approves it in the portal; the consumer sees the new status and ships it back.

Waits use locator assertions (``expect``): the pages' CSP forbids string evaluation.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from aftersales import clock
from aftersales.tests import factories as kernel
from returns import rules
from returns.models import ReturnRequest
from returns.tests.factories_pages import png, signed_line

from .conftest import SCREENSHOTS, _user, no_horizontal_overflow, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# The machine is shared: give a slow first response (cold caches, a busy CPU) time to arrive.
expect.set_options(timeout=15_000)


@pytest.fixture
def returns_shop(transactional_db):
    merchant = kernel.MerchantFactory(code="rt-shop", name="优品数码旗舰店")
    other = kernel.MerchantFactory(code="rt-other", name="家居生活馆")
    alice = kernel.ConsumerFactory(user=_user("alice"), name="张三丰")
    kernel.ConsumerFactory(user=_user("bob"), name="李四")
    kernel.MerchantMemberFactory(merchant=merchant, user=_user("shop-staff"))
    kernel.MerchantMemberFactory(merchant=other, user=_user("other-staff"))
    signed_at = clock.now() - timedelta(days=1)
    line = signed_line(
        consumer=alice,
        merchant=merchant,
        signed_at=signed_at,
        product_name="降噪蓝牙耳机 Pro",
        spec="曜石黑",
        unit_price=Decimal("1299.00"),
        ship_name="张三丰",
        ship_phone="13812345678",
    )
    closes = rules.display_instant(rules.no_reason_closes_at(signed_at))
    return {"line": line, "closes": closes, "merchant": merchant}


def _upload():
    return [{"name": "broken.png", "mimeType": "image/png", "buffer": png()}]


def test_consumer_requests_a_return_and_the_merchant_approves_it(new_page, returns_shop):
    line = returns_shop["line"]
    consumer = new_page()
    sign_in(consumer, "alice")

    # From the order line to its after-sales options: the window and the rule that decide.
    consumer.goto(f"/my/orders/{line.order_id}/")
    consumer.click("[data-testid=after-sales-link]")
    consumer.wait_for_url(re.compile(rf"/my/lines/{line.pk}/after-sales/$"))
    why = consumer.locator("[data-testid=option-no_reason_return] [data-testid=option-why]")
    expect(why).to_contain_text(f"七天无理由退货可申请至 {returns_shop['closes']}")
    expect(why).to_contain_text("《消费者权益保护法》第二十五条")  # the law by name, not R1
    expect(consumer.locator("[data-testid=option-quality_return]")).to_contain_text(
        "《消费者权益保护法》第二十四条"
    )
    expect(consumer.locator("[data-testid=shipping]")).to_contain_text(
        "运费由商家承担，随退款一并返还（《消费者权益保护法》第二十四条）"
    )

    # A quality reason without a photo is refused on the form, with the field named.
    consumer.click("[data-testid=kind-return_refund]")
    consumer.select_option("#id_reason", "quality")
    consumer.fill("#id_description", "右耳没有声音")
    consumer.click("[data-testid=request-submit]")
    expect(consumer.locator("[data-testid=error-evidence]")).to_contain_text("照片或视频")
    consumer.screenshot(path=SCREENSHOTS / "returns_my_line_error.png", full_page=True)
    assert not ReturnRequest.objects.exists()

    # With the photo it goes through.
    expect(consumer.locator("#id_reason")).to_have_value("quality")
    consumer.set_input_files("#id_evidence", files=_upload())
    consumer.click("[data-testid=request-submit]")
    consumer.wait_for_url(re.compile(r"/my/returns/\d+/$"))
    request = ReturnRequest.objects.get()
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("待商家处理")
    expect(consumer.locator("[data-testid=deadlines]")).to_contain_text(
        "自动同意售后申请（平台规则《商家处理时限》）"
    )
    expect(consumer.locator("[data-testid=deadlines] [data-testid=countdown]")).to_contain_text(
        "剩余 1 天"
    )
    expect(consumer.locator("[data-testid=evidence]")).to_contain_text("broken.png")
    thumb = consumer.locator("[data-testid=evidence] img.evidence-thumb")
    expect(thumb).to_have_count(1)
    expect(thumb).to_have_js_property("naturalWidth", 48)  # the photo is served, in scope
    expect(consumer.locator("[data-testid=shipping-payer]")).to_contain_text(
        "《消费者权益保护法》第二十四条"
    )
    consumer.screenshot(path=SCREENSHOTS / "returns_my_detail_requested.png", full_page=True)
    consumer.goto("/my/returns/")
    expect(consumer.locator("[data-testid=return-row]")).to_have_count(1)
    expect(consumer.locator("[data-testid=return-row]")).to_contain_text("降噪蓝牙耳机 Pro")

    # The merchant's queue shows it with its countdown and the consumer masked.
    merchant = new_page()
    sign_in(merchant, "shop-staff")
    merchant.click("[data-testid=nav-returns]")
    merchant.wait_for_url(re.compile(r"/merchant/returns/$"))
    row = merchant.locator("[data-testid=return-row]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(request.number)
    expect(row).to_contain_text("张*丰")
    expect(row.locator("[data-testid=countdown]")).to_contain_text("剩余")
    assert "张三丰" not in merchant.content() and "13812345678" not in merchant.content()
    merchant.screenshot(path=SCREENSHOTS / "returns_merchant_queue.png", full_page=True)
    # Filtering swaps the results in place (htmx); portal.js then re-renders the countdowns
    # from their seconds with the translated formats: the same text as the server's.
    errors = []
    merchant.on("pageerror", lambda exc: errors.append(str(exc)))
    merchant.select_option("#id_status", "requested")
    merchant.wait_for_url(re.compile(r"status=requested"))
    expect(row).to_have_count(1)
    countdown = row.locator("[data-testid=countdown]")
    expect(countdown.locator("time[data-countdown-at]")).to_have_count(1)  # portal.js ticked
    expect(countdown).to_contain_text(re.compile(r"剩余 1 天 2\d 小时"))
    assert errors == []
    merchant.click(f"text={request.number}")
    merchant.wait_for_url(re.compile(rf"/merchant/returns/{request.pk}/$"))
    expect(merchant.locator("[data-testid=consumer-name]")).to_have_text("张*丰")
    # Rejecting asks first: the form opens only on demand.
    expect(merchant.locator("[data-testid=reject-submit]")).to_be_hidden()
    merchant.click("[data-testid=reject] summary")
    expect(merchant.locator("[data-testid=reject-submit]")).to_be_visible()
    merchant.click("[data-testid=approve-submit]")
    merchant.wait_for_url(re.compile(rf"/merchant/returns/{request.pk}/$"))
    expect(merchant.locator("[data-testid=return-status]")).to_have_text("已同意，待寄回")
    merchant.screenshot(path=SCREENSHOTS / "returns_merchant_detail.png", full_page=True)

    # The consumer sees the approval and ships the parcel back.
    consumer.goto(f"/my/returns/{request.pk}/")
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("已同意，待寄回")
    expect(consumer.locator("[data-testid=deadlines]")).to_contain_text(
        "自动关闭（平台规则《退货寄回时限》）"
    )
    consumer.screenshot(path=SCREENSHOTS / "returns_my_detail_approved.png", full_page=True)
    consumer.select_option("#id_carrier", "顺丰速运")
    consumer.fill("#id_tracking_number", "SF1234567890")
    consumer.click("[data-testid=ship-submit]")
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("买家已寄回")
    expect(consumer.locator("[data-testid=return-tracking]")).to_have_text("SF1234567890")
    expect(consumer.locator("[data-testid=timeline-event]").first).to_contain_text("买家已寄回")
    assert consumer.csp_errors == [] and merchant.csp_errors == []

    # Another merchant's staff cannot open it.
    stranger = new_page()
    sign_in(stranger, "other-staff")
    assert stranger.goto(f"/merchant/returns/{request.pk}/").status == 404


def test_consumer_cancels_after_confirming(new_page, returns_shop):
    line = returns_shop["line"]
    page = new_page()
    sign_in(page, "alice")
    page.goto(f"/my/lines/{line.pk}/after-sales/")
    page.click("[data-testid=kind-return_refund]")
    page.select_option("#id_reason", "changed_mind")
    page.click("[data-testid=request-submit]")
    page.wait_for_url(re.compile(r"/my/returns/\d+/$"))
    expect(page.locator("[data-testid=cancel-submit]")).to_be_hidden()
    page.click("[data-testid=cancel] summary")
    page.click("[data-testid=cancel-submit]")  # without ticking the box: the browser refuses
    expect(page.locator("#id_confirm:invalid")).to_have_count(1)
    expect(page.locator("[data-testid=return-status]")).to_have_text("待商家处理")
    assert ReturnRequest.objects.get().status == "requested"
    page.check("#id_confirm")
    page.click("[data-testid=cancel-submit]")
    expect(page.locator("[data-testid=return-status]")).to_have_text("已撤销")
    assert ReturnRequest.objects.get().status == "cancelled"


def test_phone_width_has_no_horizontal_overflow(new_page, returns_shop):
    line = returns_shop["line"]
    page = new_page(width=375, height=812)
    sign_in(page, "alice")
    page.goto(f"/my/lines/{line.pk}/after-sales/")
    assert no_horizontal_overflow(page), "line page"
    page.screenshot(path=SCREENSHOTS / "returns_my_line_375.png", full_page=True)
    page.click("[data-testid=kind-return_refund]")
    page.select_option("#id_reason", "changed_mind")
    page.click("[data-testid=request-submit]")
    page.wait_for_url(re.compile(r"/my/returns/\d+/$"))
    assert no_horizontal_overflow(page), "detail"
    page.screenshot(path=SCREENSHOTS / "returns_my_detail_375.png", full_page=True)
    page.goto("/my/returns/")
    assert no_horizontal_overflow(page), "list"
    page.click("[data-testid=logout]")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    sign_in(page, "shop-staff")
    for path in ["/merchant/returns/", f"/merchant/returns/{ReturnRequest.objects.get().pk}/"]:
        page.goto(path)
        assert no_horizontal_overflow(page), path
    page.screenshot(path=SCREENSHOTS / "returns_merchant_detail_375.png", full_page=True)


def test_untracked_return_is_refunded_when_the_merchant_never_confirms(new_page, returns_shop):
    """R20 (issue 13): a parcel shipped back with a carrier that reports nothing still has a
    deadline; both sides see it, and at its end the platform refunds as if received."""
    from aftersales.deadlines.engine import deadline_sweep
    from aftersales.deadlines.models import Deadline
    from aftersales.tenancy.actors import SYSTEM
    from returns import services
    from returns.tests.factories import consumer_actor

    line = returns_shop["line"]
    request = services.return_request_create(
        line=line,
        kind="return_refund",
        reason="no_reason",
        quantity=1,
        actor=consumer_actor(line.order.consumer),
    )
    services.return_request_approve(request=request, actor=SYSTEM)
    consumer = new_page()
    sign_in(consumer, "alice")
    consumer.goto(f"/my/returns/{request.pk}/")
    consumer.select_option("#id_carrier", "中通快递")
    consumer.fill("#id_tracking_number", "ZT7700112233")
    consumer.click("[data-testid=ship-submit]")
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("买家已寄回")
    due = Deadline.objects.get(subject_id=request.pk, kind="returns.receipt_confirm").due_at
    expect(consumer.locator("[data-testid=deadlines]")).to_contain_text(
        "平台规则《商家确认收货时限》"
    )
    expect(consumer.locator("[data-testid=deadlines]")).to_contain_text(rules.display_instant(due))
    merchant = new_page()
    sign_in(merchant, "shop-staff")
    merchant.goto(f"/merchant/returns/{request.pk}/")
    expect(merchant.locator("[data-testid=deadlines]")).to_contain_text(
        "平台规则《商家确认收货时限》"
    )

    deadline_sweep(now=due - timedelta(minutes=1))
    consumer.reload()
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("买家已寄回")
    deadline_sweep(now=due)
    consumer.reload()
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("退款中")
    consumer.screenshot(path=SCREENSHOTS / "returns_r20_refunded.png", full_page=True)
    assert consumer.csp_errors == [] and merchant.csp_errors == []


def test_arbitration_answer_window_is_shown_to_both_sides(new_page, returns_shop):
    """R21 (issue 13): after the consumer escalates, both sides see the date after which the
    platform decides; the merchant's answer opens the decision at once."""
    from aftersales.tenancy.actors import SYSTEM
    from returns import services
    from returns.models import Arbitration
    from returns.tests.factories import consumer_actor

    line = returns_shop["line"]
    request = services.return_request_create(
        line=line,
        kind="return_refund",
        reason="no_reason",
        quantity=1,
        actor=consumer_actor(line.order.consumer),
    )
    services.return_request_reject(request=request, actor=SYSTEM, reason="商品已拆封使用")
    consumer = new_page()
    sign_in(consumer, "alice")
    consumer.goto(f"/my/returns/{request.pk}/")
    consumer.fill("#id_statement", "仅拆封检查，未使用")
    consumer.click("[data-testid=escalate-submit]")
    expect(consumer.locator("[data-testid=return-status]")).to_have_text("平台仲裁中")
    until = rules.display_instant(Arbitration.objects.get(request=request).answer_due_at)
    expect(consumer.locator("[data-testid=answer-due]")).to_contain_text(until)
    expect(consumer.locator("[data-testid=answer-due]")).to_contain_text("平台规则《仲裁答辩时限》")

    merchant = new_page()
    sign_in(merchant, "shop-staff")
    merchant.goto(f"/merchant/returns/{request.pk}/")
    expect(merchant.locator("[data-testid=answer-due]")).to_contain_text(until)
    merchant.fill("#id_statement", "包装已拆，配件缺失")
    merchant.click("[data-testid=answer-submit]")
    expect(merchant.locator("[data-testid=merchant-statement]")).to_have_text("包装已拆，配件缺失")
    consumer.reload()
    expect(consumer.locator("[data-testid=answer-due]")).to_contain_text("商家已答辩")
    consumer.screenshot(path=SCREENSHOTS / "returns_r21_answered.png", full_page=True)
    assert consumer.csp_errors == [] and merchant.csp_errors == []
