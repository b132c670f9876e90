"""Return-shipping insurance (运费险, RULES.md R8): a no-reason return of a line insured at
checkout claims its return shipping from the insurer adapter when the parcel ships back; the
insurer answers asynchronously (sandbox: paid, rejected without a fee, timeouts retried); the
consumer pays nothing. Quality returns stay the merchant's (R9)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import override_settings

from aftersales import clock
from aftersales.casefile.models import DomainEvent
from aftersales.messaging.models import Notification
from orders.models import OrderLine
from returns import services, tasks
from returns.adapters.insurance import sandbox_claim_outcome
from returns.models import ShippingInsuranceClaim, ShippingReimbursement
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


def insured_line(insured=True):
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), price="59.00")
    OrderLine.objects.filter(pk=line.pk).update(return_shipping_insured=insured)
    line.refresh_from_db()
    return line


def shipped_back(line, *, reason="no_reason", fee="12.00"):
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    evidence = [rf.photo()] if reason != "no_reason" else ()
    request = services.return_request_create(
        line=line,
        kind="return_refund",
        reason=reason,
        quantity=1,
        actor=consumer,
        evidence=evidence,
    )
    services.return_request_approve(request=request, actor=merchant)
    return services.return_ship_back(
        request=request,
        actor=consumer,
        carrier="同城跑腿",
        tracking_number=f"PT{line.pk}",
        shipping_fee=fee,
    )


def test_sandbox_outcomes():
    assert sandbox_claim_outcome(amount=D("12.00"), attempt=1) == ("paid", D("12.00"))
    assert sandbox_claim_outcome(amount=D("0.00"), attempt=1) == ("rejected", "no_fee_declared")
    assert sandbox_claim_outcome(amount=D("12.00"), attempt=1, fail_mode="once")[0] == "retry"
    assert sandbox_claim_outcome(amount=D("12.00"), attempt=2, fail_mode="once")[0] == "paid"


def test_no_reason_return_of_an_insured_line_is_paid_by_the_insurer():
    line = insured_line()
    request = shipped_back(line)
    assert (request.shipping_payer, request.shipping_rule) == ("insurance", "R8")
    assert "运费险" in request.shipping_explanation
    claim = ShippingInsuranceClaim.objects.get(request=request)
    assert (claim.status, claim.amount, claim.insurer) == (
        "requested",
        D("12.00"),
        "sandbox-insure",
    )
    assert DomainEvent.objects.filter(name="return.insurance_claimed").count() == 1
    assert tasks.sandbox_insurance_process(claim.pk) == "paid"
    claim.refresh_from_db()
    assert (claim.paid_amount, claim.external_ref) == (D("12.00"), f"SBXS{claim.pk:010d}")
    assert Notification.objects.filter(
        event="return.insurance_paid", user=line.order.consumer.user
    ).exists()
    # the consumer pays nothing and the merchant reimburses nothing (R8, not R9)
    merchant = rf.merchant_actor(line.order.merchant)
    services.return_receive(request=request, actor=merchant, intact=True)
    services.return_refund(request=request, actor=merchant)
    assert not ShippingReimbursement.objects.exists()
    # a repeated answer changes nothing
    assert tasks.sandbox_insurance_process(claim.pk) == "paid"
    assert DomainEvent.objects.filter(name="return.insurance_paid").count() == 1


def test_uninsured_lines_and_quality_returns_claim_nothing():
    plain = shipped_back(insured_line(insured=False))
    assert plain.shipping_payer == "consumer"
    quality = shipped_back(insured_line(), reason="quality")
    assert quality.shipping_payer == "merchant"  # R9 before the insurance
    assert not ShippingInsuranceClaim.objects.exists()


def test_claim_without_a_fee_is_rejected():
    request = shipped_back(insured_line(), fee=None)
    claim = ShippingInsuranceClaim.objects.get(request=request)
    assert tasks.sandbox_insurance_process(claim.pk) == "rejected"
    claim.refresh_from_db()
    assert claim.reason == "no_fee_declared" and claim.paid_amount is None


@override_settings(SANDBOX_INSURANCE_FAIL="once")
def test_a_timeout_is_retried_then_paid():
    request = shipped_back(insured_line())
    claim = ShippingInsuranceClaim.objects.get(request=request)
    assert tasks.sandbox_insurance_process(claim.pk) == "requested"
    assert tasks.sandbox_insurance_process(claim.pk) == "paid"
    claim.refresh_from_db()
    assert claim.attempts == 2


@override_settings(SANDBOX_INSURANCE_FAIL="always", SANDBOX_INSURANCE_MAX_ATTEMPTS=2)
def test_the_claim_fails_after_its_attempts():
    request = shipped_back(insured_line())
    claim = ShippingInsuranceClaim.objects.get(request=request)
    assert tasks.sandbox_insurance_process(claim.pk) == "requested"
    assert tasks.sandbox_insurance_process(claim.pk) == "failed"
    assert DomainEvent.objects.filter(name="return.insurance_failed").exists()
