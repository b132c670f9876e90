"""return_request_create: the entitlement check at its boundaries (R1–R4, R10), quantities and
amounts (R15), evidence, shipping payer (R8, R9), insurance (R17), exchanges (R18), scope."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine

from aftersales.deadlines.models import Deadline
from aftersales.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.policies import policy_set
from aftersales.tests import factories as af
from orders import services as order_services
from orders.models import OrderLine
from orders.tests import factories as of
from returns import services
from returns.models import ReturnRequest
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db

# Signed 2026-11-21 00:30 Shanghai (= 11-20 16:30 UTC): the 7-day window is open until
# 2026-11-28 24:00 Shanghai = 2026-11-28 16:00 UTC (RULES.md "Time").
SIGNED = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
LAST_MINUTE = datetime(2026, 11, 28, 15, 59, tzinfo=UTC)
FIRST_AFTER = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)


def create(line, *, at, kind="return_refund", reason="no_reason", quantity=1, **kw):
    with time_machine.travel(at, tick=False):
        return services.return_request_create(
            line=line,
            kind=kind,
            reason=reason,
            quantity=quantity,
            actor=rf.consumer_actor(line.order.consumer),
            **kw,
        )


def refused(line, *, at, **kw):
    with pytest.raises(RuleViolation) as err:
        create(line, at=at, **kw)
    return err.value


@pytest.fixture
def line():
    with time_machine.travel(SIGNED - timedelta(days=2), tick=False):
        return rf.signed_line(signed_at=SIGNED, quantity=3, price="33.34")


def test_r1_open_in_the_last_minute_of_the_shanghai_window(line):
    request = create(line, at=LAST_MINUTE)
    assert request.status == "requested"
    assert (request.option, request.rule) == ("no_reason_return", "R1")
    assert "2026-11-28 24:00" in request.explanation
    assert request.number == f"TH20261128{request.pk:05d}"


def test_r1_closed_from_the_first_minute_after(line):
    err = refused(line, at=FIRST_AFTER)
    assert err.code == "no_reason_window_closed"
    assert err.fields["rule"] == "R1"
    assert datetime.fromisoformat(err.fields["decided_by"]) == FIRST_AFTER


def test_r1_a_utc_date_count_would_close_a_day_early():
    # Signed 2026-11-21 07:59 Shanghai = 11-20 23:59 UTC: a UTC-date count would start on the
    # 20th and close at 11-27 24:00 UTC; the Shanghai count runs to 11-28 24:00 Shanghai.
    signed = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
    with time_machine.travel(signed - timedelta(days=1), tick=False):
        line = rf.signed_line(signed_at=signed)
    assert create(line, at=datetime(2026, 11, 28, 15, 59, tzinfo=UTC)).status == "requested"


def test_number_uses_the_shanghai_date(line):
    # 2026-11-27 16:30 UTC is already the 28th in Shanghai.
    request = create(line, at=datetime(2026, 11, 27, 16, 30, tzinfo=UTC))
    assert request.number.startswith("TH20261128")


def test_r10_quality_return_counts_from_receipt_and_needs_evidence(line):
    err = refused(line, at=LAST_MINUTE, reason="quality")
    assert err.code == "evidence_required"
    request = create(line, at=LAST_MINUTE, reason="quality", evidence=[rf.photo()])
    assert (request.option, request.rule) == ("quality_return", "R10")
    assert request.reason_kind == "quality"
    assert request.evidence.get().kind == "photo"
    err = refused(line, at=FIRST_AFTER, reason="damaged", evidence=[rf.photo()])
    assert err.code == "quality_window_closed"


@pytest.mark.parametrize(
    "cls, reason, confirmed, no_reason_ok, code",
    [
        ("allowed", "", False, True, None),
        ("excluded_by_law", "perishable", False, False, "no_reason_excluded_by_law"),
        ("excluded_by_law", "custom_made", True, False, "no_reason_excluded_by_law"),
        ("excludable", "health_safety", True, False, "no_reason_excluded_confirmed"),
        ("excludable", "health_safety", False, True, None),
    ],
)
def test_r2_r3_r4_category_classes(cls, reason, confirmed, no_reason_ok, code):
    category = of.CategoryFactory(no_reason_class=cls, exclusion_reason=reason)
    with time_machine.travel(SIGNED - timedelta(days=2), tick=False):
        line = rf.signed_line(
            signed_at=SIGNED,
            category=category,
            exclusion_confirmed_at=SIGNED - timedelta(days=2) if confirmed else None,
        )
    if no_reason_ok:
        request = create(line, at=LAST_MINUTE)
        assert request.rule == ("R4" if cls == "excludable" else "R1")
    else:
        assert refused(line, at=LAST_MINUTE).code == code
        # Quality claims stay open whatever the category (R2/R3 "quality claims still allowed").
        request = create(line, at=LAST_MINUTE, reason="quality", evidence=[rf.photo()])
        assert request.rule == "R10"


def test_r2_digital_goods_refused_once_the_consumer_confirms_unsealing():
    from orders import services as order_services

    category = of.CategoryFactory(no_reason_class="excluded_by_law", exclusion_reason="digital")
    with time_machine.travel(SIGNED - timedelta(days=2), tick=False):
        line = rf.signed_line(signed_at=SIGNED, category=category, quantity=2)
    sealed = create(line, at=LAST_MINUTE)  # not downloaded nor unsealed: R1 applies
    assert (sealed.rule, sealed.option) == ("R1", "no_reason_return")
    unsealed_at = LAST_MINUTE - timedelta(hours=1)
    with time_machine.travel(unsealed_at, tick=False):
        line = order_services.line_unsealed_record(
            line=line, actor=rf.consumer_actor(line.order.consumer)
        )
    assert (line.unsealed_at, line.unsealed_via) == (unsealed_at, "consumer_confirmation")
    err = refused(line, at=LAST_MINUTE)
    assert err.code == "no_reason_excluded_by_law" and err.fields["rule"] == "R2"
    request = create(line, at=LAST_MINUTE, reason="quality", evidence=[rf.photo()])
    assert request.rule == "R10"


def test_r2_download_event_by_the_merchant_and_other_categories_refused():
    from orders import services as order_services

    digital = of.CategoryFactory(no_reason_class="excluded_by_law", exclusion_reason="digital")
    with time_machine.travel(SIGNED - timedelta(days=2), tick=False):
        line = rf.signed_line(signed_at=SIGNED, category=digital)
        plain = rf.signed_line(signed_at=SIGNED)
    merchant = rf.merchant_actor(line.order.merchant)
    with time_machine.travel(LAST_MINUTE, tick=False):
        line = order_services.line_unsealed_record(line=line, actor=merchant)
        assert line.unsealed_via == "download"
        again = order_services.line_unsealed_record(
            line=line, actor=rf.consumer_actor(line.order.consumer)
        )
        assert again.unsealed_via == "download"  # the first record stands
        with pytest.raises(RuleViolation) as err:
            order_services.line_unsealed_record(
                line=plain, actor=rf.merchant_actor(plain.order.merchant)
            )
    assert err.value.code == "unseal_not_applicable"


def test_r15_quantity_and_amounts_add_up_exactly(line):
    # 3 units paid 100.02 → 33.34 each; the request taking the last unit absorbs nothing extra
    first = create(line, at=LAST_MINUTE, quantity=2)
    assert first.amount == D("66.68")
    err = refused(line, at=LAST_MINUTE, quantity=2)
    assert (err.code, err.fields["quantity"]) == ("quantity_exceeds_refundable", 1)
    assert refused(line, at=LAST_MINUTE, quantity=0).code == "quantity_not_positive"
    last = create(line, at=LAST_MINUTE, quantity=1)
    assert first.amount + last.amount == line.paid_amount
    assert refused(line, at=LAST_MINUTE, quantity=1).code == "quantity_exhausted"


def test_r15_cumulative_rounding_the_rules_example():
    # RULES.md R15: ¥100.00 for 3 units: 2 units → 66.67, then 1 unit → 33.33
    with time_machine.travel(SIGNED - timedelta(days=2), tick=False):
        line = rf.signed_line(signed_at=SIGNED, quantity=3, paid="100.00", price="33.34")
    first = create(line, at=LAST_MINUTE, quantity=2)
    last = create(line, at=LAST_MINUTE, quantity=1)
    assert (first.amount, last.amount) == (D("66.67"), D("33.33"))


def test_r15_cancelled_requests_free_their_units_without_overpaying():
    with time_machine.travel(SIGNED - timedelta(days=2), tick=False):
        line = rf.signed_line(signed_at=SIGNED, quantity=3, paid="1.00", price="1.00")
    a = create(line, at=LAST_MINUTE, quantity=1)
    b = create(line, at=LAST_MINUTE, quantity=2)
    assert (a.amount, b.amount) == (D("0.33"), D("0.67"))
    with time_machine.travel(LAST_MINUTE, tick=False):
        services.return_request_cancel(request=a, actor=rf.consumer_actor(line.order.consumer))
    c = create(line, at=LAST_MINUTE, quantity=1)
    assert b.amount + c.amount == D("1.00")


def test_r8_r9_shipping_payer_and_r17_insurance(line):
    no_reason = create(line, at=LAST_MINUTE)
    assert (no_reason.shipping_payer, no_reason.shipping_rule) == ("consumer", "R8")
    quality = create(line, at=LAST_MINUTE, reason="not_as_described", evidence=[rf.photo()])
    assert (quality.shipping_payer, quality.shipping_rule) == ("merchant", "R9")
    assert not quality.insured
    policy_set(
        key="returns.free_return_shipping",
        value=True,
        actor=rf.SYSTEM,
        scope="merchant",
        scope_id=line.order.merchant_id,
    )
    committed = create(line, at=LAST_MINUTE)
    assert committed.shipping_payer == "merchant" and "退货免运费" in committed.shipping_explanation


def test_r17_high_value_lines_are_insured():
    with time_machine.travel(SIGNED - timedelta(days=2), tick=False):
        line = rf.signed_line(signed_at=SIGNED, price="5000.00")
        cheap = rf.signed_line(signed_at=SIGNED, price="4999.99")
    assert create(line, at=LAST_MINUTE).insured
    assert not create(cheap, at=LAST_MINUTE).insured


def test_r18_spec_exchange_same_product_in_stock_with_price_difference(line):
    product = line.sku.product
    bigger = of.SkuFactory(product=product, price=D("40.00"), stock=1)
    other = of.SkuFactory(price=D("10.00"))
    err = refused(line, at=LAST_MINUTE, kind="spec_exchange", exchange_sku=other)
    assert err.code == "exchange_other_product"
    err = refused(line, at=LAST_MINUTE, kind="spec_exchange", quantity=2, exchange_sku=bigger)
    assert err.code == "exchange_out_of_stock"
    request = create(line, at=LAST_MINUTE, kind="spec_exchange", exchange_sku=bigger)
    assert (request.rule, request.price_difference) == ("R18", D("6.66"))
    with pytest.raises(InvalidInput) as e:
        create(line, at=LAST_MINUTE, kind="spec_exchange")
    assert e.value.code == "exchange_sku_required"


def test_auto_approve_deadline_is_scheduled(line):
    request = create(line, at=LAST_MINUTE)
    deadline = Deadline.objects.get(subject_id=request.pk, kind="returns.auto_approve")
    assert deadline.due_at == LAST_MINUTE + timedelta(hours=48)


def test_scope_other_consumer_not_found_merchant_forbidden(line):
    stranger = rf.consumer_actor(af.ConsumerFactory())
    with pytest.raises(NotFound), time_machine.travel(LAST_MINUTE, tick=False):
        services.return_request_create(
            line=line, kind="return_refund", reason="no_reason", quantity=1, actor=stranger
        )
    with pytest.raises(PermissionDenied), time_machine.travel(LAST_MINUTE, tick=False):
        services.return_request_create(
            line=line,
            kind="return_refund",
            reason="no_reason",
            quantity=1,
            actor=rf.merchant_actor(line.order.merchant),
        )


def test_invalid_input_codes(line):
    for kw, code in [
        ({"kind": "swap"}, "kind_invalid"),
        ({"reason": "boredom"}, "reason_invalid"),
        ({"reason": "quality", "evidence": [rf.photo("x.exe")]}, "upload_unsupported_type"),
    ]:
        with pytest.raises(InvalidInput) as e:
            create(line, at=LAST_MINUTE, **kw)
        assert e.value.code == code
    assert not ReturnRequest.objects.exists()


def test_evidence_size_is_checked(line, settings):
    big = rf.photo()
    big.size = 11 * 1024**2  # what the upload handler measured
    with pytest.raises(InvalidInput) as e:
        create(line, at=LAST_MINUTE, reason="quality", evidence=[big])
    assert e.value.code == "upload_too_large"


def test_not_shipped_line_offers_only_the_instant_refund():
    line = rf.order_line()
    err = refused(line, at=LAST_MINUTE)
    assert err.code == "not_shipped"


def test_holiday_extension_policy_moves_a_weekend_end(line):
    # 2026-11-28 is a Saturday: with art. 203 extension on, the window runs to Monday 24:00.
    policy_set(key="calendar.holiday_extension", value=True, actor=rf.SYSTEM)
    request = create(line, at=FIRST_AFTER)
    assert "2026-11-30 24:00" in request.explanation
    err = refused(line, at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    assert err.code == "no_reason_window_closed"


def test_refund_only_on_a_parcel_under_way_is_already_shipped():
    line = rf.order_line()
    rf.ship(line)  # shipped, not signed for yet
    err = refused(line, at=LAST_MINUTE, kind="refund_only", reason="changed_mind")
    assert (err.code, err.fields["rule"]) == ("already_shipped", "R11")


def test_r11_an_instant_refund_takes_the_whole_remaining_line():
    """R11: an unshipped line is refunded whole (what is left of it), never in part."""
    line = rf.order_line(quantity=2, price="30.00")
    err = refused(line, at=LAST_MINUTE, kind="refund_only", reason="changed_mind", quantity=1)
    assert (err.code, err.fields["quantity"]) == ("instant_refund_whole_line", 2)
    assert not ReturnRequest.objects.filter(line=line).exists()


def test_r11_an_instant_refund_over_mixed_tenders_pays_each_its_share():
    """R11 with R7: the instant refund goes back to every tender of the order, pro rata to what
    each paid, one refund part and one gateway request per tender, adding up to the request."""
    from orders.models import GatewayRefund

    line = rf.order_line(quantity=1, price="100.00", tenders=(("card", "70.00"), ("balance", None)))
    request = create(line, at=LAST_MINUTE, kind="refund_only", reason="changed_mind")
    parts = sorted(
        (p.tender.kind, p.amount, p.status) for p in request.refund.parts.select_related("tender")
    )
    assert parts == [("balance", D("30.00"), "pending"), ("card", D("70.00"), "pending")]
    gateway = sorted(
        (g.tender.kind, g.amount) for g in GatewayRefund.objects.select_related("tender")
    )
    assert gateway == [("balance", D("30.00")), ("card", D("70.00"))]
    assert sum(p[1] for p in parts) == request.amount == D("100.00")


def test_r11_after_the_instant_refund_the_line_can_no_longer_ship():
    line = rf.order_line(quantity=2, price="30.00")
    other = OrderLine.objects.create(
        order=line.order,
        sku=line.sku,
        product_name="另一件",
        quantity=1,
        unit_price=D("1.00"),
        paid_amount=D("0.00"),
    )
    request = create(line, at=LAST_MINUTE, kind="refund_only", reason="changed_mind", quantity=2)
    assert (request.status, request.rule, request.amount) == ("refunding", "R11", D("60.00"))
    assert request.refund.amount == D("60.00")
    merchant = rf.merchant_actor(line.order.merchant)
    with pytest.raises(RuleViolation) as e:
        order_services.shipment_create(
            line=line, carrier="SF", tracking_number="N1", actor=merchant
        )
    assert e.value.code == "line_cancelled"
    order_services.shipment_create(line=other, carrier="SF", tracking_number="N2", actor=merchant)
    err = refused(line, at=LAST_MINUTE, kind="refund_only", reason="changed_mind")
    assert err.code == "line_cancelled"


def test_locked_line_carries_the_same_facts_as_separate_reads():
    """``with_line_facts`` (one statement under the order lock) gives what the separate reads of
    ``line_held_quantities`` and ``line_facts`` give: held units split open/completed, the held
    amount and the outbound parcel's dates."""
    from orders.models import OrderLine
    from returns.services.entitlement import line_facts, line_held_quantities, with_line_facts

    line = rf.signed_line(quantity=4)
    for quantity, status in ((1, "refunded"), (2, "requested"), (1, "cancelled")):
        request, _consumer, _merchant = rf.request_at(line, "requested", quantity=quantity)
        ReturnRequest.objects.filter(pk=request.pk).update(status=status)
    plain = OrderLine.objects.select_related("order", "sku__product__category").get(pk=line.pk)
    annotated = with_line_facts(
        OrderLine.objects.select_related("order", "sku__product__category")
    ).get(pk=line.pk)
    assert line_held_quantities(annotated) == line_held_quantities(plain)
    assert line_held_quantities(annotated)[:2] == (2, 1)
    assert line_facts(annotated) == line_facts(plain)
    assert line_facts(annotated).signed_at is not None

    unshipped = with_line_facts(OrderLine.objects.select_related("sku__product__category")).get(
        pk=rf.order_line().pk
    )
    assert line_held_quantities(unshipped) == (0, 0, 0)
    assert line_facts(unshipped).shipped_at is None


def test_a_message_that_cannot_be_rendered_does_not_fail_the_create(monkeypatch):
    """notify_parties is quiet about rendering: the request is created, its timeline written,
    and nobody is told."""
    from aftersales.casefile.models import TimelineEvent
    from aftersales.messaging import notifications
    from aftersales.messaging.models import Notification

    def broken(**kwargs):
        raise ValueError("template broken")

    monkeypatch.setattr(notifications, "notification_render", broken)
    line = rf.signed_line()
    request, _consumer, _merchant = rf.request_at(line, "requested")
    assert request.status == "requested"
    verbs = set(
        TimelineEvent.objects.filter(
            subject_id=request.pk, subject_type="returns.returnrequest"
        ).values_list("verb", flat=True)
    )
    assert "return.requested" in verbs and "notification.sent" not in verbs
    assert not Notification.objects.filter(subject_id=request.pk).exists()
