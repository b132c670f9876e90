"""R18 positive price difference: the consumer pays it through the gateway (asynchronous,
failures and retries, once whatever is repeated) before the merchant may ship the replacement;
a paid difference goes back if the request ends without the exchange."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import override_settings

from aftersales import clock
from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from aftersales.tenancy.actors import SYSTEM
from orders import tasks as order_tasks
from orders.models import GatewayTransfer, Tender
from orders.services import gateway_payout_request
from orders.tests import factories as of
from returns import services
from returns.models import ExchangeDifferencePayment
from returns.services import payments
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


def settle_transfers():
    """Answer every pending gateway charge/payout once per attempt until none is pending."""
    for _ in range(10):
        ids = list(GatewayTransfer.objects.filter(status="pending").values_list("pk", flat=True))
        if not ids:
            return
        for pk in ids:
            order_tasks.sandbox_transfer_process(pk)


def spec_exchange(new_price="120.00", *, paid="100.00", reason="wrong_size"):
    """A spec exchange of a ¥100 line to a spec of ``new_price``; returns
    ``(request, consumer, merchant)``."""
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), price="100.00", paid=paid)
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    other = of.SkuFactory(product=line.sku.product, price=D(new_price), stock=3)
    request = services.return_request_create(
        line=line,
        kind="spec_exchange",
        reason=reason,
        quantity=1,
        actor=consumer,
        exchange_sku=other,
        evidence=[rf.photo()] if reason == "quality" else (),
    )
    return request, consumer, merchant


def received(request, consumer, merchant):
    services.return_request_approve(request=request, actor=merchant)
    services.return_ship_back(
        request=request, actor=consumer, carrier="SF", tracking_number=f"XD{request.pk}"
    )
    services.return_receive(request=request, actor=merchant, intact=True)
    request.refresh_from_db()
    return request


def ship(request, merchant):
    return services.exchange_ship(
        request=request, actor=merchant, carrier="SF", tracking_number=f"SFX{request.pk}"
    )


def test_ship_refused_until_the_difference_is_paid_then_allowed():
    request, consumer, merchant = spec_exchange("120.01")
    assert request.price_difference == D("20.01")
    request = received(request, consumer, merchant)
    with pytest.raises(RuleViolation) as e:
        ship(request, merchant)
    assert e.value.code == "price_difference_unpaid"
    assert "先支付" in e.value.message and e.value.fields == {"price_difference": "20.01"}
    payment = services_pay(request, consumer)
    assert (payment.status, payment.amount) == ("pending", D("20.01"))
    transfer = payment.transfer
    assert (transfer.direction, transfer.request_id) == ("charge", f"xd-{request.pk}-a1")
    with pytest.raises(RuleViolation) as e:  # pending is not paid
        ship(request, merchant)
    assert e.value.code == "price_difference_unpaid"
    settle_transfers()
    payment.refresh_from_db()
    assert payment.status == "succeeded" and payment.gateway_ref.startswith("SBXC")
    assert DomainEvent.objects.filter(name="return.difference_paid").count() == 1
    assert DomainEvent.objects.filter(name="charge.succeeded").count() == 1
    request = ship(request, merchant)
    assert request.status == "exchange_shipped"
    assert not hasattr(request, "refund") or request.refund is None  # nothing refunded
    verbs = set(TimelineEvent.objects.filter(subject_id=request.pk).values_list("verb", flat=True))
    assert {"return.difference_payment_started", "return.difference_paid"} <= verbs


def services_pay(request, actor, **kw):
    return payments.exchange_difference_pay(request=request, actor=actor, **kw)


def test_pay_can_happen_before_approval_and_repeats_return_the_same_payment():
    request, consumer, _merchant = spec_exchange()
    first = services_pay(request, consumer)
    again = services_pay(request, consumer, method="balance")
    assert again.pk == first.pk and again.transfer_id == first.transfer_id
    settle_transfers()
    assert services_pay(request, consumer).status == "succeeded"
    assert GatewayTransfer.objects.filter(direction="charge").count() == 1


@pytest.mark.parametrize(
    ("new_price", "code"),
    [("100.00", "price_difference_not_due"), ("99.99", "price_difference_not_due")],
)
def test_nothing_to_pay_at_or_below_the_paid_price(new_price, code):
    request, consumer, merchant = spec_exchange(new_price)
    assert request.price_difference <= 0
    with pytest.raises(RuleViolation) as e:
        services_pay(request, consumer)
    assert e.value.code == code
    request = received(request, consumer, merchant)
    assert ship(request, merchant).status == "exchange_shipped"  # zero / negative: no charge


def test_smallest_positive_difference_is_charged():
    request, consumer, _merchant = spec_exchange("100.01")
    assert services_pay(request, consumer).amount == D("0.01")


def test_only_the_consumer_pays():
    request, _consumer, merchant = spec_exchange()
    with pytest.raises(PermissionDenied) as e:
        services_pay(request, merchant)
    assert e.value.code == "consumer_only"
    stranger = rf.consumer_actor(of.OrderFactory().consumer)
    with pytest.raises(NotFound):
        services_pay(request, stranger)


def test_refund_only_request_has_no_difference():
    line = rf.signed_line()
    request, consumer, _m = rf.request_at(line, "requested")
    with pytest.raises(RuleViolation) as e:
        services_pay(request, consumer)
    assert e.value.code == "price_difference_not_due"


def test_ended_request_cannot_be_paid():
    request, consumer, _merchant = spec_exchange()
    services.return_request_cancel(request=request, actor=consumer)
    with pytest.raises(Conflict) as e:
        services_pay(request, consumer)
    assert e.value.code == "return_not_open"
    assert not GatewayTransfer.objects.exists()


@override_settings(SANDBOX_PAYMENT_MAX_ATTEMPTS=4)
def test_gateway_timeouts_are_retried_and_charged_once():
    request, consumer, _merchant = spec_exchange("120.43")  # .43: two timeouts, then paid
    payment = services_pay(request, consumer)
    settle_transfers()
    payment.refresh_from_db()
    transfer = payment.transfer
    transfer.refresh_from_db()
    assert (payment.status, transfer.attempts) == ("succeeded", 3)
    assert GatewayTransfer.objects.count() == 1


def test_declined_charge_fails_and_a_new_pay_call_charges_again():
    request, consumer, merchant = spec_exchange("120.44")  # .44: declined for good
    payment = services_pay(request, consumer)
    settle_transfers()
    payment.refresh_from_db()
    assert (payment.status, payment.failure_reason) == ("failed", "account_closed")
    assert DomainEvent.objects.filter(name="return.difference_payment_failed").count() == 1
    request = received(request, consumer, merchant)
    with pytest.raises(RuleViolation):
        ship(request, merchant)
    again = services_pay(request, consumer, method="balance")
    assert (again.pk, again.attempts, again.status) == (payment.pk, 2, "pending")
    assert again.transfer.request_id == f"xd-{request.pk}-a2"
    assert GatewayTransfer.objects.filter(direction="charge").count() == 2


@pytest.mark.parametrize("end", ["cancel", "reject", "close"])
def test_paid_difference_is_given_back_when_the_request_ends(end):
    request, consumer, merchant = spec_exchange("130.00")
    services_pay(request, consumer)
    settle_transfers()
    if end == "cancel":
        services.return_request_cancel(request=request, actor=consumer)
    elif end == "reject":
        services.return_request_reject(request=request, actor=merchant, reason="不符合换货条件")
    else:
        services.return_request_approve(request=request, actor=merchant)
        services.return_close_unshipped(request=request)
    payment = ExchangeDifferencePayment.objects.get(request=request)
    assert payment.status == "refunding"
    give_back = payment.refund_transfer
    assert (give_back.direction, give_back.refund_of_id, give_back.amount) == (
        "payout",
        payment.transfer_id,
        D("30.00"),
    )
    settle_transfers()
    payment.refresh_from_db()
    assert payment.status == "refunded" and payment.refunded_at is not None
    assert DomainEvent.objects.filter(name="return.difference_refunded").count() == 1
    # the original tenders are untouched: a give-back is no refund of them (R7)
    assert set(Tender.objects.values_list("refunded_amount", flat=True)) == {D("0.00")}


def test_charge_pending_at_cancellation_is_given_back_when_it_succeeds():
    request, consumer, _merchant = spec_exchange("125.00")
    services_pay(request, consumer)
    services.return_request_cancel(request=request, actor=consumer)
    assert ExchangeDifferencePayment.objects.get().status == "pending"
    settle_transfers()
    payment = ExchangeDifferencePayment.objects.get()
    assert payment.status == "refunded"
    assert GatewayTransfer.objects.filter(direction="payout", status="succeeded").count() == 1


def test_failed_charge_of_a_cancelled_request_is_cancelled():
    request, consumer, _merchant = spec_exchange("120.44")
    services_pay(request, consumer)
    settle_transfers()
    services.return_request_cancel(request=request, actor=consumer)
    assert ExchangeDifferencePayment.objects.get().status == "cancelled"
    assert not GatewayTransfer.objects.filter(direction="payout").exists()


def test_failed_give_back_is_retried_by_the_beat_and_paid_once(settings):
    request, consumer, _merchant = spec_exchange("130.00")
    services_pay(request, consumer)
    settle_transfers()
    settings.SANDBOX_PAYMENT_FAIL, settings.SANDBOX_PAYMENT_MAX_ATTEMPTS = "always", 2
    services.return_request_cancel(request=request, actor=consumer)
    settle_transfers()
    payment = ExchangeDifferencePayment.objects.get()
    assert payment.status == "succeeded" and payment.failure_reason == "gateway_timeout"
    settings.SANDBOX_PAYMENT_FAIL = ""
    assert payments.extra_payouts_retry_failed() == 1
    settle_transfers()
    payment.refresh_from_db()
    assert payment.status == "refunded"
    assert payments.extra_payouts_retry_failed() == 0
    payouts = GatewayTransfer.objects.filter(direction="payout")
    assert [p.status for p in payouts.order_by("pk")] == ["failed", "succeeded"]
    # never more back than was charged
    with pytest.raises(RuleViolation) as e:
        gateway_payout_request(
            order=request.order,
            amount="0.01",
            request_id="extra",
            actor=SYSTEM,
            refund_of=payment.transfer,
        )
    assert e.value.code == "transfer_refund_exceeds_charge"
