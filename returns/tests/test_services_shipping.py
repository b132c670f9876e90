"""R9 (and R8 with "退货免运费"): return shipping the merchant pays is reimbursed with the
refund, capped by the policy ``returns.shipping_reimbursement_max``, as a payout of its own —
so refunds per tender still never exceed what the tender paid (R7). None when the consumer
pays (R8)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales import clock
from aftersales.casefile.models import DomainEvent
from aftersales.errors import InvalidInput
from aftersales.policies import policy_set
from orders.models import GatewayTransfer, Tender
from returns import services
from returns.models import ShippingReimbursement
from returns.services import payments
from returns.tests import factories as rf
from returns.tests.conftest import settle_refunds
from returns.tests.test_services_exchange_difference import settle_transfers

pytestmark = pytest.mark.django_db


def approved(*, reason="quality", kind="return_refund", tenders=(("card", None),), price="100.00"):
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), price=price, tenders=tenders)
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    request = services.return_request_create(
        line=line,
        kind=kind,
        reason=reason,
        quantity=1,
        actor=consumer,
        evidence=[rf.photo()] if reason == "quality" else (),
    )
    services.return_request_approve(request=request, actor=merchant)
    request.refresh_from_db()
    return request, consumer, merchant


def refunded(request, consumer, merchant, fee):
    services.return_ship_back(
        request=request,
        actor=consumer,
        carrier="SF",
        tracking_number=f"RS{request.pk}",
        shipping_fee=fee,
    )
    services.return_receive(request=request, actor=merchant, intact=True)
    refund = services.return_refund(request=request, actor=merchant)
    request.refresh_from_db()
    return request, refund


@pytest.mark.parametrize(
    ("fee", "reimbursed"),
    [("12.00", "12.00"), ("29.99", "29.99"), ("30.00", "30.00"), ("30.01", "30.00")],
)
def test_r9_quality_return_reimburses_the_declared_fee_up_to_the_cap(fee, reimbursed):
    request, consumer, merchant = approved()
    assert (request.shipping_payer, request.shipping_rule) == ("merchant", "R9")
    request, refund = refunded(request, consumer, merchant, fee)
    assert request.return_shipping_fee == D(fee)
    row = ShippingReimbursement.objects.get(request=request)
    assert (row.amount, row.status, row.tender.kind) == (D(reimbursed), "pending", "card")
    assert row.transfer.direction == "payout" and row.transfer.request_id == f"rs-{request.pk}-a1"
    settle_refunds()
    settle_transfers()
    row.refresh_from_db()
    request.refresh_from_db()
    assert row.status == "succeeded" and request.status == "refunded"
    assert DomainEvent.objects.filter(name="return.shipping_reimbursed").count() == 1
    # R7: the whole line went back to the card, the reimbursement on top is no tender refund
    tender = Tender.objects.get()
    assert tender.refunded_amount == tender.amount == refund.amount == D("100.00")


def test_cap_is_a_policy_per_merchant():
    request, consumer, merchant = approved()
    policy_set(
        key=payments.REIMBURSEMENT_MAX,
        value="8.50",
        actor=rf.SYSTEM,
        scope="merchant",
        scope_id=request.merchant_id,
    )
    refunded(request, consumer, merchant, "12.00")
    assert ShippingReimbursement.objects.get().amount == D("8.50")


def test_r8_consumer_pays_no_reimbursement():
    request, consumer, merchant = approved(reason="no_reason")
    assert request.shipping_payer == "consumer"
    refunded(request, consumer, merchant, "12.00")
    assert not ShippingReimbursement.objects.exists()
    assert not GatewayTransfer.objects.exists()


def test_r8_with_free_return_commitment_is_reimbursed():
    line_merchant = rf.order_line().order.merchant
    policy_set(
        key="returns.free_return_shipping",
        value=True,
        actor=rf.SYSTEM,
        scope="merchant",
        scope_id=line_merchant.pk,
    )
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), merchant=line_merchant)
    request, consumer, merchant = rf.request_at(line, "approved")
    assert request.shipping_payer == "merchant"
    refunded(request, consumer, merchant, "10.00")
    assert ShippingReimbursement.objects.get().amount == D("10.00")


def test_no_fee_declared_no_reimbursement_and_bad_fees_refused():
    request, consumer, merchant = approved()
    for bad in ("-0.01", "1000.00", "abc"):
        with pytest.raises(InvalidInput) as e:
            services.return_ship_back(
                request=request, actor=consumer, carrier="SF", tracking_number="T", shipping_fee=bad
            )
        assert e.value.code in ("shipping_fee_invalid", "amount_invalid")
    refunded(request, consumer, merchant, None)
    assert not ShippingReimbursement.objects.exists()


def test_mixed_tenders_reimbursement_goes_to_the_card_and_refund_stays_pro_rata():
    request, consumer, merchant = approved(
        tenders=(("points", "20.00"), ("balance", "30.00"), ("card", None))
    )
    request, refund = refunded(request, consumer, merchant, "15.00")
    parts = {p.tender.kind: p.amount for p in refund.parts.select_related("tender")}
    assert parts == {"points": D("20.00"), "balance": D("30.00"), "card": D("50.00")}
    assert ShippingReimbursement.objects.get().tender.kind == "card"
    settle_refunds()
    settle_transfers()
    for tender in Tender.objects.all():
        assert tender.refunded_amount <= tender.amount
    assert ShippingReimbursement.objects.get().status == "succeeded"


def test_without_card_or_balance_the_reimbursement_goes_to_the_platform_balance():
    request, consumer, merchant = approved(tenders=(("points", "40.00"), ("coupon", None)))
    refunded(request, consumer, merchant, "9.00")
    row = ShippingReimbursement.objects.get()
    assert row.tender is None and row.transfer.method == "balance"


def test_pickup_fee_is_reimbursed():
    request, consumer, merchant = approved()
    slot = clock.now() + timedelta(days=1)
    services.return_pickup_book(
        request=request,
        actor=consumer,
        slot_start=slot,
        slot_end=slot + timedelta(hours=2),
        shipping_fee="18.00",
    )
    request.refresh_from_db()
    assert request.return_shipping_fee == D("18.00")
    services.return_ship_back(request=request, actor=consumer, carrier="SF", tracking_number="P1")
    services.return_receive(request=request, actor=merchant, intact=True)
    services.return_refund(request=request, actor=merchant)
    assert ShippingReimbursement.objects.get().amount == D("18.00")


def test_quality_exchange_reimburses_with_the_replacement():
    request, consumer, merchant = approved(kind="exchange")
    services.return_ship_back(
        request=request, actor=consumer, carrier="SF", tracking_number="E1", shipping_fee="11.00"
    )
    services.return_receive(request=request, actor=merchant, intact=True)
    assert not ShippingReimbursement.objects.exists()
    services.exchange_ship(request=request, actor=merchant, carrier="SF", tracking_number="E2")
    assert ShippingReimbursement.objects.get().amount == D("11.00")


def test_repeated_refund_reimburses_once():
    request, consumer, merchant = approved()
    refunded(request, consumer, merchant, "5.00")
    services.return_refund(request=request, actor=merchant)
    assert GatewayTransfer.objects.filter(direction="payout").count() == 1


def test_failed_reimbursement_is_retried_with_a_new_request(settings):
    settings.SANDBOX_PAYMENT_FAIL, settings.SANDBOX_PAYMENT_MAX_ATTEMPTS = "always", 2
    request, consumer, merchant = approved()
    refunded(request, consumer, merchant, "20.00")
    settle_transfers()
    row = ShippingReimbursement.objects.get()
    assert (row.status, row.failure_reason) == ("failed", "gateway_timeout")
    assert DomainEvent.objects.filter(name="return.shipping_reimbursement_failed").count() == 1
    settings.SANDBOX_PAYMENT_FAIL = ""
    assert payments.extra_payouts_retry_failed() == 1
    row.refresh_from_db()
    assert (row.attempts, row.transfer.request_id) == (2, f"rs-{request.pk}-a2")
    settle_transfers()
    row.refresh_from_db()
    assert row.status == "succeeded"
    assert payments.extra_payouts_retry_failed() == 0
    assert GatewayTransfer.objects.filter(status="succeeded").count() == 1


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(
        st.sampled_from(["card", "balance", "points", "coupon"]), min_size=1, max_size=3
    ),
    cuts=st.lists(st.integers(min_value=1, max_value=98), min_size=2, max_size=2),
    fee_fen=st.integers(min_value=0, max_value=6000),
)
def test_property_reimbursement_never_breaks_the_per_tender_refund_limit(kinds, cuts, fee_fen):
    """Whatever the tenders and the declared fee: a full refund plus the reimbursement leaves
    every tender refunded at most what it paid (R7), and the reimbursement is the fee capped."""
    bounds = sorted(set(cuts))[: len(kinds) - 1]
    kinds = kinds[: len(bounds) + 1]
    amounts = [D(b - a) for a, b in zip([0, *bounds], [*bounds, 100], strict=False)]
    tenders = list(zip(kinds, [str(a) for a in amounts[: len(kinds) - 1]] + [None], strict=False))
    request, consumer, merchant = approved(tenders=tenders)
    fee = D(fee_fen) / 100
    _request, refund = refunded(request, consumer, merchant, fee)
    settle_refunds(request.order)
    settle_transfers()
    for tender in Tender.objects.filter(payment__order=request.order):
        assert tender.refunded_amount <= tender.amount
    assert sum(p.amount for p in refund.parts.all()) == refund.amount == D("100.00")
    row = ShippingReimbursement.objects.filter(request=request).first()
    expected = min(fee, D("30.00"))
    assert (row.amount if row else D("0.00")) == expected
    if row:
        row.refresh_from_db()
        # the sandbox declines amounts ending in .44 for good
        assert row.status == ("failed" if expected % 1 == D("0.44") else "succeeded")
        assert row.tender is None or row.tender.kind in ("card", "balance")
