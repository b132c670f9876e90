"""Refunds (R7, R15): pro rata over the original tenders, one per request, failed parts retried
with new request ids and never paid twice; the property that refunds never exceed what was paid
for a line, per tender."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales import clock
from aftersales.casefile.models import DomainEvent
from aftersales.errors import PermissionDenied, RuleViolation
from aftersales.money import split_pro_rata
from orders import tasks as order_tasks
from orders.models import GatewayRefund, OrderLine, Tender
from returns import services
from returns.models import Refund, RefundPart
from returns.tests import factories as rf
from returns.tests.conftest import settle_refunds

pytestmark = pytest.mark.django_db


def received(line, quantity=1):
    request, _consumer, merchant = rf.request_at(line, "received", quantity=quantity)
    return request, merchant


def test_mixed_tenders_split_pro_rata_last_absorbs_remainder():
    line = rf.signed_line(
        price="100.00",
        quantity=3,
        tenders=(("card", "150.00"), ("balance", "100.00"), ("points", None)),
    )
    request, merchant = received(line)
    assert request.amount == D("100.00")
    refund = services.return_refund(request=request, actor=merchant)
    parts = {p.tender.kind: p.amount for p in refund.parts.select_related("tender")}
    assert parts == {"card": D("50.00"), "balance": D("33.33"), "points": D("16.67")}
    assert sum(parts.values()) == refund.amount
    assert set(GatewayRefund.objects.values_list("request_id", flat=True)) == {
        p.request_id() for p in refund.parts.all()
    }


def test_refund_amount_bounded_by_the_request():
    line = rf.signed_line()
    request, merchant = received(line)
    with pytest.raises(RuleViolation) as e:
        services.return_refund(request=request, actor=merchant, amount="100.01")
    assert e.value.code == "refund_amount_invalid"
    refund = services.return_refund(request=request, actor=merchant, amount="60.00")
    again = services.return_refund(request=request, actor=merchant, amount="100.00")
    assert again.pk == refund.pk and again.amount == D("60.00")


def test_failed_refund_is_retried_with_a_new_request_and_paid_once(settings):
    # One way of changing settings in this test (the fixture): a decorator undone before the
    # fixture would have the fixture restore the decorator's values for the next tests.
    settings.SANDBOX_PAYMENT_FAIL, settings.SANDBOX_PAYMENT_MAX_ATTEMPTS = "always", 2
    line = rf.signed_line(tenders=(("card", "70.00"), ("balance", None)))
    request, merchant = received(line)
    refund = services.return_refund(request=request, actor=merchant)
    settle_refunds()
    refund.refresh_from_db()
    assert refund.status == "failed"
    assert DomainEvent.objects.filter(name="return.refund_failed").count() == 1
    request.refresh_from_db()
    assert request.status == "refunding"
    settings.SANDBOX_PAYMENT_FAIL = ""
    assert services.refunds_retry_failed() == 1
    refund.refresh_from_db()
    assert (refund.status, refund.retries) == ("pending", 1)
    assert {p.attempt for p in refund.parts.all()} == {2}
    settle_refunds()
    refund.refresh_from_db()
    request.refresh_from_db()
    assert refund.status == "succeeded" and request.status == "refunded"
    assert services.refunds_retry_failed() == 0
    services.refund_retry(refund=refund, actor=rf.SYSTEM)  # nothing failed: nothing sent
    tenders = Tender.objects.filter(payment__order=line.order)
    assert sum(t.refunded_amount for t in tenders) == D("100.00")
    assert GatewayRefund.objects.filter(status="succeeded").count() == 2
    assert GatewayRefund.objects.filter(status="failed").count() == 2
    # Replaying the gateway's tasks changes nothing.
    for pk in GatewayRefund.objects.values_list("pk", flat=True):
        order_tasks.sandbox_refund_process(pk)
    assert sum(t.refunded_amount for t in tenders.all()) == D("100.00")


def test_declined_part_leaves_the_refund_partly_failed_until_staff_act():
    # card 60.44 of 100: its share ends in .44, which the sandbox declines for good
    line = rf.signed_line(tenders=(("card", "60.44"), ("balance", None)))
    request, merchant = received(line)
    refund = services.return_refund(request=request, actor=merchant)
    settle_refunds()
    refund.refresh_from_db()
    assert refund.status == "partly_failed"
    for _ in range(5):
        services.refunds_retry_failed()
        settle_refunds()
    refund.refresh_from_db()
    assert (refund.status, refund.retries) == ("partly_failed", services.MAX_REFUND_RETRIES)
    balance = Tender.objects.get(payment__order=line.order, kind="balance")
    assert balance.refunded_amount == D("39.56")
    with pytest.raises(PermissionDenied):
        services.refund_retry(refund=refund, actor=merchant)


def test_refund_exceeding_tenders_is_refused():
    line = rf.signed_line(quantity=2, price="50.00")
    first, merchant = received(line)
    services.return_refund(request=first, actor=merchant)
    # the second request's tender room was taken by a refund outside returns
    tender = Tender.objects.get(payment__order=line.order)
    from orders.services import gateway_refund_request

    gateway_refund_request(tender=tender, amount="50.00", request_id="outside", actor=rf.SYSTEM)
    second, _m = received(line)
    with pytest.raises(RuleViolation) as e:
        services.return_refund(request=second, actor=merchant)
    assert e.value.code == "refund_exceeds_tenders"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tenders=st.lists(st.integers(min_value=1, max_value=9000), min_size=1, max_size=3),
    quantities=st.lists(st.integers(min_value=1, max_value=4), min_size=2, max_size=2),
    plan=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=1),
            st.integers(min_value=1, max_value=3),
            st.integers(min_value=1, max_value=100),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_property_refunds_never_exceed_what_a_line_paid_per_tender(tenders, quantities, plan):
    """Two lines share the order's tenders; requests of random units refunded in random
    percentages, some settled: per line and tender, refunds never exceed the line's share."""
    first = rf.signed_line(price="33.33", quantity=quantities[0], tenders=[("card", "1.00")])
    order = first.order
    second = OrderLine.objects.create(
        order=order,
        sku=first.sku,
        product_name="第二件",
        quantity=quantities[1],
        unit_price=D("10.01"),
        paid_amount=D("10.01") * quantities[1],
    )
    rf.ship(second, signed_at=clock.now() - timedelta(hours=1))
    total = first.paid_amount + second.paid_amount
    Tender.objects.filter(payment__order=order).delete()
    payment = order.payments.get()
    payment.amount = total
    payment.save()
    shares = split_pro_rata(total, tenders)
    for i, share in enumerate(shares):
        if share > 0:
            Tender.objects.create(
                payment=payment, kind=["card", "balance", "points"][i], amount=share
            )
    lines = [first, second]
    for which, units, percent in plan:
        line = lines[which]
        try:
            request, merchant = received(line, quantity=units)
        except RuleViolation:
            continue  # R15: no units left
        amount = max(D("0.01"), (request.amount * percent / 100).quantize(D("0.01")))
        services.return_refund(request=request, actor=merchant, amount=min(amount, request.amount))
        if percent % 2:
            settle_refunds(order)
    settle_refunds(order)
    live = ["pending", "succeeded"]
    tenders_rows = list(Tender.objects.filter(payment__order=order).order_by("pk"))
    for line in lines:
        line_shares = split_pro_rata(line.paid_amount, [t.amount for t in tenders_rows])
        parts = RefundPart.objects.filter(line=line, status__in=live)
        assert sum(p.amount for p in parts) <= line.paid_amount
        for tender, share in zip(tenders_rows, line_shares, strict=True):
            assert sum(p.amount for p in parts if p.tender_id == tender.pk) <= share
    for tender in tenders_rows:
        assert tender.refunded_amount <= tender.amount
    assert Refund.objects.filter(order=order).count() == len(
        {r for r in Refund.objects.filter(order=order).values_list("request_id", flat=True)}
    )


def test_refunded_event_carries_the_parts():
    line = rf.signed_line(tenders=(("card", "80.00"), ("coupon", None)))
    request, merchant = received(line)
    services.return_refund(request=request, actor=merchant)
    settle_refunds()
    event = DomainEvent.objects.get(name="return.refunded")
    assert event.payload["refund_amount"] == "100.00"
    assert [(p["tender_kind"], p["amount"]) for p in event.payload["parts"]] == [
        ("card", "80.00"),
        ("coupon", "20.00"),
    ]
