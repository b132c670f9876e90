"""Return pages (issue 4): the consumer's after-sales options and request form on an order line,
their requests (follow, ship back, pickup, cancel, escalate), and the merchant portal (queue,
masked detail, approve, reject, receipt with inspection, replacement, arbitration answer).

Scope: another consumer's or merchant's request answers 404, a signed-out visitor the login
page; the merchant queue runs a fixed number of queries whatever its size.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales import clock
from aftersales.deadlines.models import Deadline
from orders.models import Category, Order, PickupBooking, Shipment
from orders.tests.factories_pages import page_order
from returns import rules, services
from returns.models import Arbitration, ReturnEvidence, ReturnRequest
from returns.tests import factories as rf
from returns.tests.factories import consumer_actor

from .factories_pages import JPEG, page_evidence, page_request, signed_line

pytestmark = pytest.mark.django_db

# Signed 2026-11-21 00:30 Shanghai (= 11-20 16:30 UTC): the no-reason window closes at
# 2026-11-28 24:00 Shanghai (RULES.md "Time").
SIGNED = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
LAST_MINUTE = datetime(2026, 11, 28, 15, 59, tzinfo=UTC)  # 23:59 Shanghai
FIRST_AFTER = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # 24:00 Shanghai


@pytest.fixture
def client_as(client, roles):
    def login(name):
        client.logout()
        client.force_login(roles[name])
        return client

    return login


@pytest.fixture
def alice(roles):
    return roles["consumer_a"].consumer


@pytest.fixture
def bob(roles):
    return roles["consumer_b"].consumer


def photo(name="broken.jpg"):
    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def text(response):
    return response.content.decode()


def section(body, testid):
    return body.split(f'data-testid="{testid}"', 1)[1].split("</section>", 1)[0]


def create(line, **kw):
    """A request made by the line's consumer through the service."""
    fields = {"kind": "return_refund", "reason": "no_reason", "quantity": 1, **kw}
    return services.return_request_create(
        line=line, actor=consumer_actor(line.order.consumer), **fields
    )


# -- the line's options: what the consumer can do right now and why -----------------------------


@pytest.mark.parametrize(
    ("now", "open_until"),
    [(LAST_MINUTE, True), (FIRST_AFTER, False)],
    ids=["last-minute", "first-minute-after"],
)
def test_line_page_names_the_rule_and_the_deciding_date(
    client_as, alice, merchant_a, now, open_until
):
    line = signed_line(consumer=alice, merchant=merchant_a, signed_at=SIGNED)
    with time_machine.travel(now, tick=False):
        body = text(client_as("consumer_a").get(f"/my/lines/{line.pk}/after-sales/"))
    options = section(body, "options")
    no_reason = options.split('data-testid="option-no_reason_return"', 1)[1].split("</li>", 1)[0]
    if open_until:
        assert "七天无理由退货可申请至 2026-11-28 24:00" in no_reason and "可申请" in no_reason
        # Quality claims are open for 7 days after receipt too (R10).
        assert "质量问题可申请退货或换货至 2026-11-28 24:00" in options
        assert "七天无理由退货，运费由消费者承担（《消费者权益保护法》第二十五条）" in options
        assert 'data-testid="request-form"' in body
    else:
        assert "七天无理由退货已于 2026-11-28 24:00 截止" in no_reason
        assert "不可申请" in no_reason
        assert "质量问题退换货已于 2026-11-28 24:00 截止" in options
        assert "仍可按三包规定申请换货或维修" in options
        assert 'data-testid="request-form"' not in body
        assert 'data-testid="nothing-open"' in body


def test_line_page_of_a_perishable_excludes_no_reason_but_allows_quality(
    client_as, alice, merchant_a
):
    line = signed_line(consumer=alice, merchant=merchant_a)
    Category.objects.filter(pk=line.sku.product.category_id).update(
        no_reason_class="excluded_by_law", exclusion_reason="perishable"
    )
    body = text(client_as("consumer_a").get(f"/my/lines/{line.pk}/after-sales/"))
    assert (
        "鲜活易腐的商品依法不适用七天无理由退货（《网络购买商品七日无理由退货暂行办法》第六条）"
        in body
    )
    assert 'data-code="no_reason_excluded_by_law"' in body
    assert 'data-code="quality_open"' in body
    # Only quality reasons are offered, and the shipping is the merchant's (R9).
    assert 'value="quality"' in body and 'value="changed_mind"' not in body
    assert "质量问题退货，运费由商家承担" in body


def test_unshipped_line_offers_the_instant_refund_only(client_as, alice, merchant_a):
    order = page_order(consumer=alice, merchant=merchant_a, quantity=2, unit_price=Decimal("50"))
    line = order.lines.get()
    body = text(client_as("consumer_a").get(f"/my/lines/{line.pk}/after-sales/"))
    assert "申请仅退款将立即原路退款，无需商家审核" in body
    assert 'data-testid="kind-refund_only"' in body
    assert 'data-testid="kind-return_refund"' not in body
    assert 'name="quantity" value="2"' in body  # R11 takes the whole remaining line


def test_high_value_line_says_the_parcel_is_insured(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a, unit_price=Decimal("6999.00"))
    body = text(client_as("consumer_a").get(f"/my/lines/{line.pk}/after-sales/"))
    assert "退货和换货包裹均保价（平台规则《高价值商品保价》）" in section(body, "options")
    cheap = signed_line(consumer=alice, merchant=merchant_a, unit_price=Decimal("99.00"))
    body = text(client_as("consumer_a").get(f"/my/lines/{cheap.pk}/after-sales/"))
    assert "退货包裹不保价" in section(body, "options")


def test_order_detail_links_each_line_to_its_after_sales(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    body = text(client_as("consumer_a").get(f"/my/orders/{line.order_id}/"))
    assert f'href="/my/lines/{line.pk}/after-sales/"' in body
    body = text(client_as("merchant_a").get(f"/merchant/orders/{line.order_id}/"))
    assert "after-sales" not in body


# -- the request form -----------------------------------------------------------------------------


def test_consumer_requests_a_no_reason_return_and_follows_it(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a, product_name="降噪耳机 Pro")
    client = client_as("consumer_a")
    response = client.post(
        f"/my/lines/{line.pk}/after-sales/",
        {
            "kind": "return_refund",
            "reason": "changed_mind",
            "quantity": 1,
            "description": "不想要了",
        },
    )
    request = ReturnRequest.objects.get()
    assert response.status_code == 302 and response.url == f"/my/returns/{request.pk}/"
    body = text(client.get(response.url))
    assert "已提交" in body and request.number in body
    assert "待商家处理" in section(body, "return-status")
    # R13: the merchant answers within 48 h or the request is approved; the countdown shows it.
    deadlines = section(body, "deadlines")
    assert 'data-testid="countdown"' in deadlines and "剩余 1 天 23 小时" in deadlines
    assert "七天无理由退货，运费由消费者承担（《消费者权益保护法》第二十五条）" in body
    assert "提交售后申请" in section(body, "timeline")
    listing = text(client.get("/my/returns/"))
    assert request.number in listing and "降噪耳机 Pro" in listing


def test_quality_reason_needs_a_photo(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    client = client_as("consumer_a")
    url = f"/my/lines/{line.pk}/after-sales/"
    response = client.post(url, {"kind": "return_refund", "reason": "damaged", "quantity": 1})
    assert response.status_code == 400
    assert "该原因需要上传商品问题的照片或视频" in text(response)
    assert 'data-testid="error-evidence"' in text(response)
    assert not ReturnRequest.objects.exists()
    response = client.post(
        url,
        {"kind": "return_refund", "reason": "damaged", "quantity": 1, "evidence": [photo()]},
    )
    assert response.status_code == 302
    request = ReturnRequest.objects.get()
    assert request.reason_kind == "quality" and request.shipping_payer == "merchant"
    evidence = request.evidence.get()
    assert evidence.party == "consumer" and evidence.kind == "photo"
    body = text(client.get(response.url))
    assert "质量问题退货，运费由商家承担" in body
    assert f"/my/returns/{request.pk}/evidence/{evidence.pk}/" in body


def test_a_video_of_the_wrong_type_is_a_form_error(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    bad = SimpleUploadedFile("clip.exe", b"MZ", content_type="application/octet-stream")
    response = client_as("consumer_a").post(
        f"/my/lines/{line.pk}/after-sales/",
        {"kind": "return_refund", "reason": "quality", "quantity": 1, "evidence": [bad]},
    )
    assert response.status_code == 400
    assert 'data-testid="error-evidence"' in text(response)
    assert not ReturnRequest.objects.exists()


def test_window_closed_between_page_and_post_is_a_clear_error(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a, signed_at=SIGNED)
    client = client_as("consumer_a")
    with time_machine.travel(FIRST_AFTER, tick=False):
        response = client.post(
            f"/my/lines/{line.pk}/after-sales/",
            {"kind": "return_refund", "reason": "no_reason", "quantity": 1},
        )
    body = text(response)
    assert response.status_code == 400
    # Nothing is open any more; the page says which rule closed it and when.
    assert 'data-testid="nothing-open"' in body
    assert "七天无理由退货已于 2026-11-28 24:00 截止" in body
    assert not ReturnRequest.objects.exists()


def test_rule_violation_code_becomes_the_quantity_error(client_as, alice, merchant_a):
    """R15: a unit taken by another request meanwhile is refused by the service; its code
    lands on the quantity field."""
    line = signed_line(consumer=alice, merchant=merchant_a, quantity=2, unit_price=Decimal("80"))
    client = client_as("consumer_a")
    page = text(client.get(f"/my/lines/{line.pk}/after-sales/"))
    assert 'data-testid="refundable">2<' in page
    create(line, quantity=1)  # e.g. from the app, while the page is open
    response = client.post(
        f"/my/lines/{line.pk}/after-sales/",
        {"kind": "return_refund", "reason": "no_reason", "quantity": 2},
    )
    assert response.status_code == 400
    assert 'data-testid="error-quantity"' in text(response)
    assert ReturnRequest.objects.count() == 1
    create(line, quantity=1)
    body = text(client.get(f"/my/lines/{line.pk}/after-sales/"))
    assert (
        "均已在售后申请中或已退（平台规则《部分退货》）" in body
        and 'data-testid="nothing-open"' in body
    )


def test_spec_exchange_shows_and_records_the_price_difference(client_as, alice, merchant_a):
    line = signed_line(
        consumer=alice,
        merchant=merchant_a,
        spec="黑色 128GB",
        unit_price=Decimal("2999.00"),
        extra_specs=[("黑色 256GB", "3299.00", 5), ("白色 128GB", "2899.00", 3), ("金色", "1", 0)],
    )
    client = client_as("consumer_a")
    body = text(client.get(f"/my/lines/{line.pk}/after-sales/?kind=spec_exchange"))
    assert "黑色 256GB · ¥3299.00 · 补差价 ¥300.00/件" in body
    assert "白色 128GB · ¥2899.00 · 退差价 ¥100.00/件" in body
    assert "金色" not in body  # out of stock (R18)
    sku = line.sku.product.skus.get(spec="黑色 256GB")
    response = client.post(
        f"/my/lines/{line.pk}/after-sales/",
        {"kind": "spec_exchange", "reason": "wrong_size", "quantity": 1, "exchange_sku": sku.pk},
    )
    assert response.status_code == 302
    request = ReturnRequest.objects.get()
    assert request.exchange_sku == sku and request.price_difference == Decimal("300.00")
    assert "需补差价 ¥300.00" in text(client.get(response.url))


def test_spec_exchange_without_a_spec_is_refused_on_the_field(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a, extra_specs=[("白色", "199.00", 2)])
    response = client_as("consumer_a").post(
        f"/my/lines/{line.pk}/after-sales/",
        {"kind": "spec_exchange", "reason": "wrong_size", "quantity": 1},
    )
    assert response.status_code == 400
    assert 'data-testid="error-exchange_sku"' in text(response)


def test_instant_refund_of_an_unshipped_line(client_as, alice, merchant_a):
    order = page_order(consumer=alice, merchant=merchant_a, unit_price=Decimal("59.90"))
    line = order.lines.get()
    response = client_as("consumer_a").post(
        f"/my/lines/{line.pk}/after-sales/",
        {"kind": "refund_only", "reason": "changed_mind", "quantity": 1},
    )
    assert response.status_code == 302
    request = ReturnRequest.objects.get()
    assert request.status == "refunding"
    body = text(client_as("consumer_a").get(response.url))
    assert "退款中" in section(body, "return-status")
    refund = section(body, "refund")
    assert "¥59.90" in refund and 'data-testid="refund-part"' in refund and "银行卡" in refund


# -- scope ---------------------------------------------------------------------------------------


def test_another_consumers_line_and_request_are_404(client_as, alice, bob, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a)
    request = create(line)
    client = client_as("consumer_b")
    assert client.get(f"/my/lines/{line.pk}/after-sales/").status_code == 404
    assert client.get(f"/my/returns/{request.pk}/").status_code == 404
    response = client.post(f"/my/returns/{request.pk}/cancel/", {"confirm": "on"})
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == "requested"
    assert request.number not in text(client.get("/my/returns/"))
    mine = create(signed_line(consumer=bob, merchant=merchant_a))
    listing = text(client.get("/my/returns/"))
    assert mine.number in listing and request.number not in listing


@pytest.mark.parametrize(
    "path", ["/my/returns/", "/merchant/returns/", "/my/lines/1/after-sales/", "/my/returns/1/"]
)
def test_signed_out_visitors_go_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("merchant_a", "/my/returns/"),
        ("consumer_a", "/merchant/returns/"),
        ("after_sales_agent", "/merchant/returns/"),
    ],
)
def test_a_portal_of_another_role_is_404(client_as, role, path):
    assert client_as(role).get(path).status_code == 404


def test_other_merchant_sees_nothing_and_changes_nothing(client_as, alice, merchant_a):
    request = create(signed_line(consumer=alice, merchant=merchant_a))
    client = client_as("merchant_b")
    assert client.get(f"/merchant/returns/{request.pk}/").status_code == 404
    assert client.post(f"/merchant/returns/{request.pk}/approve/").status_code == 404
    assert request.number not in text(client.get("/merchant/returns/"))
    request.refresh_from_db()
    assert request.status == "requested"


def test_evidence_files_are_served_only_inside_the_scope(client_as, alice, merchant_a):
    request = page_request(signed_line(consumer=alice, merchant=merchant_a))
    item = page_evidence(request)
    url = f"/my/returns/{request.pk}/evidence/{item.pk}/"
    response = client_as("consumer_a").get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == JPEG
    assert response["Cache-Control"] == "private, no-store"
    assert client_as("consumer_b").get(url).status_code == 404
    merchant_url = f"/merchant/returns/{request.pk}/evidence/{item.pk}/"
    assert client_as("merchant_a").get(merchant_url).status_code == 200
    assert client_as("merchant_b").get(merchant_url).status_code == 404


# -- consumer actions ----------------------------------------------------------------------------


def test_cancel_needs_the_confirmation(client_as, alice, merchant_a):
    request = create(signed_line(consumer=alice, merchant=merchant_a))
    client = client_as("consumer_a")
    body = text(client.get(f"/my/returns/{request.pk}/"))
    assert 'data-testid="cancel"' in body and "撤销后本申请关闭，不可恢复" in body
    response = client.post(f"/my/returns/{request.pk}/cancel/")
    assert response.status_code == 400 and "请勾选确认后再提交" in text(response)
    request.refresh_from_db()
    assert request.status == "requested"
    response = client.post(f"/my/returns/{request.pk}/cancel/", {"confirm": "on"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "cancelled"
    body = text(client.get(response.url))
    assert "已撤销" in section(body, "return-status") and 'data-testid="cancel"' not in body
    assert "consumer_cancelled" not in body  # a machine reason is not shown


def test_cancel_of_a_request_that_cannot_be_cancelled_shows_why(client_as, alice, merchant_a):
    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="received")
    response = client_as("consumer_a").post(f"/my/returns/{request.pk}/cancel/", {"confirm": "on"})
    assert response.status_code == 400
    assert "当前状态不能撤销申请" in text(response)


def test_ship_back_with_a_tracking_number(client_as, alice, merchant_a):
    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="approved")
    client = client_as("consumer_a")
    body = text(client.get(f"/my/returns/{request.pk}/"))
    assert 'data-testid="ship-form"' in body and 'data-testid="pickup-form"' in body
    response = client.post(f"/my/returns/{request.pk}/ship/", {"carrier": "顺丰速运"})
    assert response.status_code == 400 and 'data-testid="error-tracking_number"' in text(response)
    response = client.post(
        f"/my/returns/{request.pk}/ship/",
        {"carrier": "顺丰速运", "tracking_number": "SF1234567890"},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "return_shipped"
    body = text(client.get(response.url))
    assert "SF1234567890" in section(body, "return-parcel")
    assert 'data-testid="ship-form"' not in body


def test_book_a_pickup_slot(client_as, alice, merchant_a):
    from returns.forms import pickup_slot_choices

    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="approved")
    client = client_as("consumer_a")
    slot = pickup_slot_choices()[0][0]
    response = client.post(f"/my/returns/{request.pk}/pickup/", {"slot": slot})
    assert response.status_code == 302
    booking = PickupBooking.objects.get()
    assert clock.local(booking.slot_start).strftime("%Y-%m-%dT%H") == slot
    assert booking.slot_end - booking.slot_start == timedelta(hours=2)
    body = text(client.get(response.url))
    assert "上门取件" in section(body, "return-parcel") and "已预约" in body
    assert 'data-testid="pickup-form"' not in body
    # A second booking while this one is open is refused with the service's reason.
    response = client.post(f"/my/returns/{request.pk}/pickup/", {"slot": slot})
    assert response.status_code == 400 and "已有进行中的上门取件预约" in text(response)


def test_r17_consumer_sees_the_insured_pickup(client_as, alice, merchant_a):
    from returns.forms import pickup_slot_choices

    line = signed_line(consumer=alice, merchant=merchant_a)
    request = page_request(line, status="approved", insured=True)
    client = client_as("consumer_a")
    response = client.post(
        f"/my/returns/{request.pk}/pickup/", {"slot": pickup_slot_choices()[0][0]}
    )
    assert response.status_code == 302
    booking = PickupBooking.objects.get()
    assert booking.insured and booking.declared_value == line.paid_amount / line.quantity
    body = text(client.get(response.url))
    assert f"保价 ¥{booking.declared_value}（平台规则《高价值商品保价》）" in section(
        body, "return-parcel"
    )


def test_r8_consumer_sees_the_insurer_pay_the_return_shipping(client_as, alice, merchant_a):
    from orders.models import OrderLine
    from returns import tasks
    from returns.models import ShippingInsuranceClaim

    line = signed_line(consumer=alice, merchant=merchant_a)
    OrderLine.objects.filter(pk=line.pk).update(return_shipping_insured=True)
    line.refresh_from_db()
    request = create(line)
    services.return_request_approve(request=request, actor=rf.SYSTEM)
    services.return_ship_back(
        request=request,
        actor=consumer_actor(alice),
        carrier="SF",
        tracking_number="SF-R8-PAGE",
        shipping_fee="14.00",
    )
    client = client_as("consumer_a")
    body = text(client.get(f"/my/returns/{request.pk}/"))
    assert (
        "订单含运费险，退货运费由保险赔付（《消费者权益保护法》第二十五条）" in body
        and "运费险理赔：理赔中" in body
    )
    tasks.sandbox_insurance_process(ShippingInsuranceClaim.objects.get().pk)
    body = text(client.get(f"/my/returns/{request.pk}/"))
    assert "运费险已赔付 ¥14.00" in body


def test_pickup_slots_are_shanghai_hours_and_skip_the_past():
    from returns.forms import parse_slot, pickup_slot_choices

    # 2026-11-30 10:30 Shanghai: 09–11 has begun, 11–13 starts within the hour, 13–15 is first.
    with time_machine.travel(datetime(2026, 11, 30, 2, 30, tzinfo=UTC), tick=False):
        choices = pickup_slot_choices()
    assert choices[0] == ("2026-11-30T13", "11-30 13:00–15:00")
    start, end = parse_slot("2026-11-30T13")
    assert start == datetime(2026, 11, 30, 5, 0, tzinfo=UTC) and end - start == timedelta(hours=2)


def test_escalate_a_rejection_to_arbitration(client_as, alice, merchant_a):
    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="rejected")
    client = client_as("consumer_a")
    body = text(client.get(f"/my/returns/{request.pk}/"))
    assert 'data-testid="escalate-form"' in body and "平台规则《售后争议仲裁》" in body
    response = client.post(f"/my/returns/{request.pk}/escalate/", {"statement": ""})
    assert response.status_code == 400 and 'data-testid="error-statement"' in text(response)
    response = client.post(
        f"/my/returns/{request.pk}/escalate/",
        {"statement": "商家拒绝理由不成立", "evidence": [photo("scratch.png")]},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "arbitration"
    arbitration = Arbitration.objects.get(request=request)
    assert arbitration.consumer_statement == "商家拒绝理由不成立"
    assert request.evidence.filter(party="consumer", stage="arbitration").count() == 1
    body = text(client.get(response.url))
    assert "平台仲裁中" in section(body, "return-status")
    assert "商家拒绝理由不成立" in section(body, "arbitration")
    # R21: both parties see the date after which the platform decides
    until = rules.display_instant(arbitration.answer_due_at)
    assert until in section(body, "answer-due") and "平台规则《仲裁答辩时限》" in section(
        body, "answer-due"
    )
    merchant = text(client_as("merchant_a").get(f"/merchant/returns/{request.pk}/"))
    assert until in section(merchant, "answer-due")


# -- merchant portal ----------------------------------------------------------------------------


def test_merchant_queue_sorted_by_the_nearest_deadline_with_countdowns(
    client_as, alice, bob, merchant_a
):
    now = clock.now()
    late = create(signed_line(consumer=alice, merchant=merchant_a, product_name="晚到期"))
    soon = create(signed_line(consumer=bob, merchant=merchant_a, product_name="早到期"))
    quiet = page_request(signed_line(consumer=alice, merchant=merchant_a), status="received")
    Deadline.objects.filter(subject_id=soon.pk, kind="returns.auto_approve").update(
        due_at=now + timedelta(hours=3, minutes=30)
    )
    body = text(client_as("merchant_a").get("/merchant/returns/"))
    order = [body.index(r.number) for r in (soon, late, quiet)]
    assert order == sorted(order), "nearest deadline first, no deadline last"
    assert "剩余 3 小时 29 分" in body or "剩余 3 小时 30 分" in body
    assert "剩余 1 天 23 小时" in body
    assert "商家超时未处理，系统自动同意售后申请（平台规则《商家处理时限》）" in body


def test_merchant_queue_filters_and_search(client_as, alice, merchant_a):
    first = create(signed_line(consumer=alice, merchant=merchant_a, product_name="投影仪"))
    second = page_request(
        signed_line(consumer=alice, merchant=merchant_a, product_name="扫地机器人"),
        status="refunded",
    )
    client = client_as("merchant_a")
    body = text(client.get("/merchant/returns/", {"status": "refunded"}))
    assert second.number in body and first.number not in body
    body = text(client.get("/merchant/returns/", {"status": "open"}))
    assert first.number in body and second.number not in body
    body = text(client.get("/merchant/returns/", {"q": "投影"}))
    assert first.number in body and second.number not in body
    body = text(client.get("/merchant/returns/", {"q": first.order.number}))
    assert first.number in body and second.number not in body
    body = text(client.get("/merchant/returns/", {"status": "no-such-status"}))
    assert first.number in body and second.number in body
    response = client.get(
        "/merchant/returns/",
        {"q": "投影"},
        headers={"HX-Request": "true", "HX-Target": "return-results"},
    )
    assert text(response).lstrip().startswith('<section id="return-results"')


def test_merchant_queue_paginates_keeping_the_filters(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a, quantity=30)
    for _ in range(23):
        page_request(line)
    client = client_as("merchant_a")
    first = text(client.get("/merchant/returns/", {"status": "requested"}))
    assert first.count('data-testid="return-row"') == 20
    assert "status=requested&amp;page=2" in first
    second = text(client.get("/merchant/returns/", {"status": "requested", "page": 2}))
    assert second.count('data-testid="return-row"') == 3


@pytest.mark.parametrize("count", [3, 25])
def test_merchant_queue_runs_a_fixed_number_of_queries(
    client_as, alice, merchant_a, django_assert_max_num_queries, count
):
    line = signed_line(consumer=alice, merchant=merchant_a, quantity=30)
    made = [create(line) for _ in range(count)]
    client = client_as("merchant_a")
    # Session, user, groups, member, consumer, count, page, deadlines, the nav's merchant; +1
    # when the sandbox clock's offset (cached for a second) is read again.
    with django_assert_max_num_queries(10):
        body = text(client.get("/merchant/returns/"))
    assert body.count('data-testid="return-row"') == min(count, 20)
    assert body.count('data-testid="countdown"') == min(count, 20)
    with django_assert_max_num_queries(13):
        assert client.get(f"/merchant/returns/{made[0].pk}/").status_code == 200
    consumer = client_as("consumer_a")
    with django_assert_max_num_queries(9):
        assert text(consumer.get("/my/returns/")).count('data-testid="return-row"') == min(
            count, 20
        )


def test_merchant_detail_masks_the_consumer(client_as, alice, merchant_a):
    line = signed_line(
        consumer=alice, merchant=merchant_a, ship_name="张三丰", ship_phone="13812345678"
    )
    request = page_request(line, status="approved")
    services.return_pickup_book(
        request=request,
        actor=consumer_actor(alice),
        slot_start=clock.now() + timedelta(days=1),
        slot_end=clock.now() + timedelta(days=1, hours=2),
    )
    body = text(client_as("merchant_a").get(f"/merchant/returns/{request.pk}/"))
    assert "张*丰" in body and "138******78" in body
    for secret in ("张三丰", "13812345678", "1201", "文三路 90 号", alice.user.username):
        assert secret not in body, secret
    listing = text(client_as("merchant_a").get("/merchant/returns/"))
    assert "张*丰" in listing and "张三丰" not in listing


def test_merchant_approves_and_the_consumer_sees_it(client_as, alice, merchant_a):
    request = create(signed_line(consumer=alice, merchant=merchant_a))
    client = client_as("merchant_a")
    body = text(client.get(f"/merchant/returns/{request.pk}/"))
    assert 'data-testid="approve-form"' in body and 'data-testid="reject"' in body
    response = client.post(f"/merchant/returns/{request.pk}/approve/")
    assert response.status_code == 302
    body = text(client.get(response.url))
    assert "已同意售后申请" in body and "已同意，待寄回" in section(body, "return-status")
    consumer = text(client_as("consumer_a").get(f"/my/returns/{request.pk}/"))
    assert "已同意，待寄回" in section(consumer, "return-status")
    assert "买家超时未寄回商品，售后申请自动关闭（平台规则《退货寄回时限》）" in section(
        consumer, "deadlines"
    )
    assert 'data-testid="ship-form"' in consumer
    # A second approval is a conflict, shown on the page.
    client = client_as("merchant_a")
    response = client.post(f"/merchant/returns/{request.pk}/approve/")
    assert response.status_code == 400 and "不能变更为" in text(response)


def test_merchant_rejects_with_a_reason_and_evidence(client_as, alice, merchant_a):
    request = create(signed_line(consumer=alice, merchant=merchant_a))
    client = client_as("merchant_a")
    response = client.post(f"/merchant/returns/{request.pk}/reject/", {"reason": ""})
    assert response.status_code == 400 and 'data-testid="error-reason"' in text(response)
    assert " open" in text(response).split('data-testid="reject"', 1)[1][:10]
    response = client.post(
        f"/merchant/returns/{request.pk}/reject/",
        {"reason": "商品已拆封使用", "evidence": [photo("used.jpg")]},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "rejected"
    assert request.evidence.filter(party="merchant").count() == 1
    consumer = text(client_as("consumer_a").get(f"/my/returns/{request.pk}/"))
    assert "商品已拆封使用" in consumer and 'data-testid="escalate-form"' in consumer


def test_receipt_not_intact_needs_photos_and_goes_to_dispute(client_as, alice, merchant_a):
    request = page_request(
        signed_line(consumer=alice, merchant=merchant_a), status="return_shipped"
    )
    client = client_as("merchant_a")
    body = text(client.get(f"/merchant/returns/{request.pk}/"))
    assert 'data-testid="receive-form"' in body
    response = client.post(f"/merchant/returns/{request.pk}/receive/", {"intact": "no"})
    assert response.status_code == 400 and "须上传照片或视频作为凭证（R5）" in text(response)
    request.refresh_from_db()
    assert request.status == "return_shipped"
    response = client.post(
        f"/merchant/returns/{request.pk}/receive/",
        {"intact": "no", "note": "屏幕碎裂", "evidence": [photo()]},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "disputed" and request.inspection_intact is False
    consumer = text(client_as("consumer_a").get(f"/my/returns/{request.pk}/"))
    assert 'data-testid="escalate-form"' in consumer


def test_receipt_intact_starts_the_refund_deadline(client_as, alice, merchant_a):
    request = page_request(
        signed_line(consumer=alice, merchant=merchant_a), status="return_shipped"
    )
    response = client_as("merchant_a").post(
        f"/merchant/returns/{request.pk}/receive/", {"intact": "yes"}
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "received" and request.inspection_intact is True
    body = text(client_as("consumer_a").get(f"/my/returns/{request.pk}/"))
    assert "商家收货后逾期未退款，平台自动退款" in section(body, "deadlines")


def test_an_inspection_after_the_carrier_signed_is_a_named_step(client_as, alice, merchant_a):
    """The parcel was signed for (``received``) before the merchant inspected it: the
    inspection is its own step, named on both sides' timelines, never shown as its code."""
    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="received")
    response = client_as("merchant_a").post(
        f"/merchant/returns/{request.pk}/receive/", {"intact": "yes"}
    )
    assert response.status_code == 302
    for who, path in (("consumer_a", "/my"), ("merchant_a", "/merchant")):
        body = text(client_as(who).get(f"{path}/returns/{request.pk}/"))
        assert "商家验收退货" in section(body, "timeline") and "return.inspected" not in body


def test_merchant_ships_the_replacement_of_an_exchange(client_as, alice, merchant_a):
    request = page_request(
        signed_line(consumer=alice, merchant=merchant_a),
        status="received",
        kind="exchange",
        reason="quality",
        inspection_intact=True,
    )
    client = client_as("merchant_a")
    assert 'data-testid="replacement-form"' in text(client.get(f"/merchant/returns/{request.pk}/"))
    response = client.post(
        f"/merchant/returns/{request.pk}/replacement/",
        {"carrier": "顺丰速运", "tracking_number": "SF5555666677"},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "exchange_shipped"
    assert Shipment.objects.filter(purpose="replacement", tracking_number="SF5555666677").exists()


def test_merchant_answers_in_arbitration(client_as, alice, merchant_a):
    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="arbitration")
    client = client_as("merchant_a")
    assert 'data-testid="answer-form"' in text(client.get(f"/merchant/returns/{request.pk}/"))
    response = client.post(
        f"/merchant/returns/{request.pk}/answer/",
        {"statement": "出库时完好，附出库照片", "evidence": [photo("out.jpg")]},
    )
    assert response.status_code == 302
    arbitration = Arbitration.objects.get(request=request)
    assert arbitration.merchant_statement == "出库时完好，附出库照片"
    assert ReturnEvidence.objects.filter(request=request, party="merchant").count() == 1
    consumer = text(client_as("consumer_a").get(f"/my/returns/{request.pk}/"))
    assert "出库时完好，附出库照片" in section(consumer, "arbitration")


def test_consumer_cannot_post_merchant_actions(client_as, alice, merchant_a):
    request = create(signed_line(consumer=alice, merchant=merchant_a))
    response = client_as("consumer_a").post(f"/merchant/returns/{request.pk}/approve/")
    assert response.status_code == 404
    request.refresh_from_db()
    assert request.status == "requested"


def test_pages_render_with_order_statuses_in_every_state(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a, quantity=13)
    for status in ReturnRequest.Status.values:
        request = page_request(line, status=status)
        for who, url in (("consumer_a", "my"), ("merchant_a", "merchant")):
            assert client_as(who).get(f"/{url}/returns/{request.pk}/").status_code == 200, (
                status,
                who,
            )
    assert Order.objects.count() == 1


def test_merchant_refunds_after_an_intact_receipt(client_as, alice, merchant_a):
    line = signed_line(
        consumer=alice,
        merchant=merchant_a,
        unit_price=Decimal("300.00"),
        tenders=(("coupon", "30.00"), ("balance", "70.00"), ("card", None)),
    )
    request = page_request(line, status="received", inspection_intact=True)
    client = client_as("merchant_a")
    body = text(client.get(f"/merchant/returns/{request.pk}/"))
    assert 'data-testid="refund-action"' in body and "¥300.00" in body
    response = client.post(f"/merchant/returns/{request.pk}/refund/")
    assert response.status_code == 400 and "请勾选确认后再提交" in text(response)
    response = client.post(f"/merchant/returns/{request.pk}/refund/", {"confirm": "on"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == "refunding"
    # The consumer follows the refund per original tender (R7): 30 + 70 + 200.
    refund = section(text(client_as("consumer_a").get(f"/my/returns/{request.pk}/")), "refund")
    assert refund.count('data-testid="refund-part"') == 3
    for amount in ("¥30.00", "¥70.00", "¥200.00"):
        assert amount in refund
    assert "退款中" in refund or "处理中" in refund


def test_no_refund_button_for_an_exchange_or_a_disputed_exchange(client_as, alice, merchant_a):
    request = page_request(
        signed_line(consumer=alice, merchant=merchant_a),
        status="received",
        kind="exchange",
        reason="quality",
        inspection_intact=True,
    )
    body = text(client_as("merchant_a").get(f"/merchant/returns/{request.pk}/"))
    assert 'data-testid="refund-action"' not in body
    response = client_as("merchant_a").post(
        f"/merchant/returns/{request.pk}/refund/", {"confirm": "on"}
    )
    assert response.status_code == 400 and "当前状态不能退款" in text(response)


@pytest.mark.parametrize(
    ("code", "fields", "where"),
    [
        ("quantity_exceeds_refundable", {"quantity": 1}, "quantity"),
        ("evidence_type_invalid", {"evidence": {"0": ["jpg"]}}, "evidence"),
        ("exchange_out_of_stock", {"exchange_sku": 3, "stock": 0}, "exchange_sku"),
        ("evidence_required", {}, "evidence"),
        ("no_reason_window_closed", {"rule": "R1", "decided_by": "2026-11-28T16:00:00Z"}, "reason"),
        ("order_not_paid", {}, "__all__"),
        ("invalid_status_transition", {"status": "received", "to": "cancelled"}, "__all__"),
    ],
)
def test_a_service_error_lands_on_the_field_it_concerns(code, fields, where):
    from aftersales.errors import RuleViolation
    from returns.forms import ReturnRequestForm, add_domain_error

    form = ReturnRequestForm({}, kinds=["return_refund"], max_quantity=2)
    form.is_valid()
    form.errors.clear()
    add_domain_error(form, RuleViolation("说明", code=code, fields=fields))
    assert list(form.errors) == [where]
    assert form.errors[where].as_data()[0].code == code


def test_spec_exchange_without_another_spec_in_stock_says_so(client_as, alice, merchant_a):
    line = signed_line(consumer=alice, merchant=merchant_a, extra_specs=[("白色", "199.00", 0)])
    body = text(client_as("consumer_a").get(f"/my/lines/{line.pk}/after-sales/"))
    option = body.split('data-testid="option-spec_exchange"', 1)[1].split("</li>", 1)[0]
    assert (
        'data-code="exchange_out_of_stock"' in option
        and "暂不能在线换规格（平台规则《线上换货》）" in option
    )
    assert 'data-testid="kind-spec_exchange"' not in body
    assert 'data-testid="kind-return_refund"' in body


def test_both_sides_add_evidence_while_the_request_is_open(client_as, alice, merchant_a):
    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="disputed")
    client = client_as("consumer_a")
    assert 'data-testid="evidence-form"' in text(client.get(f"/my/returns/{request.pk}/"))
    response = client.post(f"/my/returns/{request.pk}/evidence/", {"note": "没有照片"})
    assert response.status_code == 400 and 'data-testid="error-evidence"' in text(response)
    response = client.post(
        f"/my/returns/{request.pk}/evidence/", {"evidence": [photo(), photo("b.png")]}
    )
    assert response.status_code == 302
    client = client_as("merchant_a")
    response = client.post(
        f"/merchant/returns/{request.pk}/evidence/",
        {"evidence": [photo("crack.jpg")], "note": "签收时外箱完好"},
    )
    assert response.status_code == 302
    parties = sorted(request.evidence.values_list("party", flat=True))
    assert parties == ["consumer", "consumer", "merchant"]
    body = text(client.get(f"/merchant/returns/{request.pk}/"))
    assert "签收时外箱完好" in section(body, "evidence") and "crack.jpg" in body


def test_no_evidence_form_once_finished(client_as, alice, merchant_a):
    request = page_request(signed_line(consumer=alice, merchant=merchant_a), status="refunded")
    assert 'data-testid="evidence-form"' not in text(
        client_as("consumer_a").get(f"/my/returns/{request.pk}/")
    )
    response = client_as("consumer_a").post(
        f"/my/returns/{request.pk}/evidence/", {"evidence": [photo()]}
    )
    assert response.status_code == 400 and "已结束" in text(response)
