"""Money of a return besides its refund: the price difference of a spec exchange the consumer
pays (R18) and the return shipping the merchant reimburses (R9; R8 with "退货免运费").

Both go through the payment gateway as ``orders.GatewayTransfer`` rows (``charge`` /
``payout``), asynchronously like refunds (pending → succeeded / failed, gateway retries on
timeouts, idempotent by request id), and are settled by the ``charge.*`` / ``payout.*`` events
(``returns.events``).

- **Price difference (R18).** ``exchange_difference_pay`` charges a positive
  ``ReturnRequest.price_difference`` once (``ExchangeDifferencePayment``, one per request; the
  request row lock makes repeated or concurrent calls return the same payment; a failed charge
  is paid again as a new attempt ``xd-<request>-a<n>``). ``exchanges.exchange_ship`` refuses with
  ``price_difference_unpaid`` until it has succeeded. If the request ends without the exchange
  (cancelled, rejected, closed, or refunded instead), a paid difference is given back at once
  as a payout ``refund_of`` the charge (never above it); a charge still pending then is given
  back when it succeeds.
- **Return shipping reimbursed (R9).** The consumer declares the fee when shipping back
  themselves or booking a pickup (``return_shipping_fee``). When the merchant pays the return
  shipping (``shipping_payer == "merchant"``), the fee, capped by the policy
  ``returns.shipping_reimbursement_max`` (default ¥30.00), is paid with the refund (or with the
  replacement of an exchange) as a ``ShippingReimbursement``: a payout to the channel of the
  original card tender (else balance; else the platform balance). It is not a ``RefundPart``:
  the refund itself still splits pro rata over the tenders and never exceeds what each tender
  paid (R7); the reimbursement is the merchant's shipping cost, not money the tender paid. No
  reimbursement when the consumer pays (R8) or shipping insurance does.

Domain events: ``return.difference_payment_started``, ``return.difference_paid``,
``return.difference_payment_failed``, ``return.difference_refund_started``,
``return.difference_refunded``, ``return.difference_refund_failed``,
``return.shipping_reimbursement_started``, ``return.shipping_reimbursed``,
``return.shipping_reimbursement_failed``.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.money import ZERO, yuan
from aftersales.tenancy.actors import SYSTEM
from orders.models import GatewayTransfer, Tender
from orders.services import gateway_charge_request, gateway_payout_request

from .. import rules
from ..models import ExchangeDifferencePayment, ReturnRequest, ShippingReimbursement
from ..policies import REIMBURSEMENT_MAX
from .common import (
    check_scope,
    locked_request,
    money,
    notify_parties,
    publish,
    record,
    request_policy,
    require_consumer,
)

DIFFERENCE_PAYABLE_STATUSES = frozenset(rules.OPEN_STATUSES - {"rejected"})
"""A difference is paid while the exchange can still happen."""

DIFFERENCE_GIVEN_BACK_STATUSES = frozenset({"cancelled", "rejected", "closed", "refunding"})
"""Entering one of these, a request's paid difference goes back to the consumer."""

Difference = ExchangeDifferencePayment
MAX_PAYOUT_RETRIES = 3


# -- price difference (R18) ---------------------------------------------------------------------


def difference_due(request):
    """The positive difference a spec exchange still owes (``ZERO`` when paid or not owed)."""
    if not request.is_exchange or request.price_difference <= 0:
        return ZERO
    paid = Difference.objects.filter(request_id=request.pk, status="succeeded").exists()
    return ZERO if paid else request.price_difference


def require_difference_paid(request):
    """``exchanges.exchange_ship``: refuse until the consumer has paid the difference (R18)."""
    due = difference_due(request)
    if due > 0:
        raise RuleViolation(
            _("消费者需先支付换货差价 ¥%(amount)s，支付成功后才能发出换货（R18）。")
            % {"amount": due},
            code="price_difference_unpaid",
            fields={"price_difference": str(due)},
        )


def exchange_difference_pay(*, request, actor, method="card"):
    """The consumer pays the positive price difference of a spec exchange (R18) by card or
    balance, through the gateway. Idempotent: repeated or concurrent calls return the one
    pending or paid ``ExchangeDifferencePayment``; after a failed charge a call charges again
    (new attempt). Refuses ``price_difference_not_due`` (nothing to pay) and
    ``return_not_open`` (the request has ended or was rejected)."""
    with transaction.atomic():
        request = locked_request(request)
        require_consumer(actor, request)
        if not request.is_exchange or request.price_difference <= 0:
            raise RuleViolation(_("该申请无需补差价（R18）。"), code="price_difference_not_due")
        payment = Difference.objects.select_for_update().filter(request_id=request.pk).first()
        if payment is not None and payment.status in ("pending", "succeeded", "refunding"):
            return payment
        if request.status not in DIFFERENCE_PAYABLE_STATUSES:
            raise Conflict(
                _("该申请已结束或被拒绝，无需支付差价。"),
                code="return_not_open",
                fields={"status": request.status},
            )
        if payment is None:
            payment = Difference(
                request=request,
                merchant_id=request.merchant_id,
                amount=request.price_difference,
                method=method,
                attempts=1,
            )
        else:
            payment.attempts += 1
            payment.method = method
            payment.amount = request.price_difference
        payment.status = Difference.Status.PENDING
        payment.failure_reason = ""
        payment.refund_transfer = None
        payment.requested_at = clock.now()
        payment.save()
        payment.transfer = gateway_charge_request(
            order=request.order,
            amount=payment.amount,
            request_id=payment.request_id_for(),
            actor=SYSTEM,
            method=method,
            reason=_("换货差价 %(number)s") % {"number": request.number},
        )
        payment.save(update_fields=["transfer"])
        record(
            request,
            "return.difference_payment_started",
            actor,
            data={"amount": str(payment.amount), "method": method, "attempt": payment.attempts},
        )
        publish(
            "return.difference_payment_started",
            request,
            price_difference=str(payment.amount),
            method=method,
            attempt=payment.attempts,
        )
        check_scope(request, actor)
    return payment


def _difference_give_back(payment, request, actor):
    """Pay a succeeded difference back to the channel it was charged on."""
    transfer = payment.transfer
    n = GatewayTransfer.objects.filter(refund_of_id=transfer.pk).count() + 1
    payment.refund_transfer = gateway_payout_request(
        order=request.order,
        amount=payment.amount,
        request_id=f"xd-{request.pk}-refund-{n}",
        actor=SYSTEM,
        refund_of=transfer,
        reason=_("退还换货差价 %(number)s") % {"number": request.number},
    )
    payment.status = Difference.Status.REFUNDING
    payment.failure_reason = ""
    payment.save(update_fields=["refund_transfer", "status", "failure_reason"])
    record(
        request,
        "return.difference_refund_started",
        actor,
        data={"amount": str(payment.amount), "status": request.status},
    )
    publish("return.difference_refund_started", request, price_difference=str(payment.amount))


def difference_give_back_if_paid(request, actor):
    """``moves.move`` into a status that ends the exchange: a paid difference goes back; a
    charge that failed is cancelled (a pending one is given back when it succeeds)."""
    if not request.is_exchange or request.price_difference <= 0:
        return None
    payment = Difference.objects.select_for_update().filter(request_id=request.pk).first()
    if payment is None:
        return None
    if payment.status == Difference.Status.SUCCEEDED:
        _difference_give_back(payment, request, actor)
    elif payment.status == Difference.Status.FAILED:
        payment.status = Difference.Status.CANCELLED
        payment.save(update_fields=["status"])
    return payment


def _difference_ended(request):
    return request.status not in DIFFERENCE_PAYABLE_STATUSES | {"exchange_shipped", "completed"}


def _difference_charge_settled(payment, transfer, request, actor):
    if transfer.status == GatewayTransfer.Status.SUCCEEDED:
        payment.status = Difference.Status.SUCCEEDED
        payment.paid_at = transfer.settled_at
        payment.gateway_ref = transfer.gateway_ref
        payment.save(update_fields=["status", "paid_at", "gateway_ref"])
        record(request, "return.difference_paid", actor, data={"amount": str(payment.amount)})
        publish("return.difference_paid", request, price_difference=str(payment.amount))
        notify_parties(request, "return.difference_paid", actor=actor, difference=payment.amount)
        if _difference_ended(request):
            _difference_give_back(payment, request, actor)
        return payment
    payment.status = (
        Difference.Status.CANCELLED if _difference_ended(request) else Difference.Status.FAILED
    )
    payment.failure_reason = transfer.failure_reason
    payment.save(update_fields=["status", "failure_reason"])
    record(
        request,
        "return.difference_payment_failed",
        actor,
        reason=transfer.failure_reason,
        data={"amount": str(payment.amount), "attempt": payment.attempts},
    )
    publish(
        "return.difference_payment_failed",
        request,
        price_difference=str(payment.amount),
        failure_reason=transfer.failure_reason,
    )
    notify_parties(
        request,
        "return.difference_payment_failed",
        to=("consumer",),
        actor=actor,
        difference=payment.amount,
        reason=transfer.failure_reason,
    )
    return payment


def _difference_refund_settled(payment, transfer, request, actor):
    if transfer.status == GatewayTransfer.Status.SUCCEEDED:
        payment.status = Difference.Status.REFUNDED
        payment.refunded_at = transfer.settled_at
        payment.save(update_fields=["status", "refunded_at"])
        verb = "return.difference_refunded"
    else:
        # Paid and not given back: the beat retries it (``extra_payouts_retry_failed``).
        payment.status = Difference.Status.SUCCEEDED
        payment.failure_reason = transfer.failure_reason
        payment.save(update_fields=["status", "failure_reason"])
        verb = "return.difference_refund_failed"
    record(request, verb, actor, reason=transfer.failure_reason)
    publish(verb, request, price_difference=str(payment.amount))
    notify_parties(request, verb, to=("consumer",), actor=actor, difference=payment.amount)
    return payment


# -- return shipping reimbursed (R9) ------------------------------------------------------------


def reimbursement_cap(request):
    return yuan(request_policy(request, REIMBURSEMENT_MAX).value)


def shipping_fee_clean(value):
    """The declared return shipping fee: an amount ≥ 0 (``None``/"": not declared, ``None``)."""
    if value in (None, ""):
        return None
    fee = money(value, "shipping_fee")
    if fee < 0 or fee >= 1000:
        raise InvalidInput(
            _("退货运费应在 0 与 999.99 元之间。"),
            code="shipping_fee_invalid",
            fields={"shipping_fee": "0–999.99"},
        )
    return fee


def shipping_fee_declare(request, fee, actor):
    """Record the fee the consumer declares (locked request); the reimbursement is decided at
    the refund. ``None`` keeps what was declared before (e.g. with the pickup)."""
    if fee is None or fee == request.return_shipping_fee:
        return request
    request.return_shipping_fee = fee
    ReturnRequest.objects.filter(pk=request.pk).update(return_shipping_fee=fee)
    record(
        request,
        "return.shipping_fee_declared",
        actor,
        data={"shipping_fee": str(fee), "shipping_payer": request.shipping_payer},
    )
    return request


def shipping_reimbursement_amount(request):
    """What the merchant reimburses: the declared fee capped by the policy, when the merchant
    pays the return shipping (R9, or R8 with "退货免运费"); else nothing."""
    if (
        request.shipping_payer != ReturnRequest.ShippingPayer.MERCHANT
        or not request.needs_return_parcel
        or request.return_shipping_fee <= 0
    ):
        return ZERO
    return min(request.return_shipping_fee, reimbursement_cap(request))


def payout_tender(request):
    """``[tender]``: the order's card tender, else its balance tender, else ``[None]`` (the
    platform balance): where money paid to (or taken from) the consumer goes."""
    tenders = Tender.objects.filter(
        payment__order_id=request.order_id,
        payment__status="succeeded",
        kind__in=["card", "balance"],
    )
    return sorted(tenders, key=lambda t: (t.kind != "card", t.pk))[:1] or [None]


def shipping_reimburse(request, actor):
    """With the refund (or the replacement of an exchange), pay the reimbursable return
    shipping once (locked request). Returns the ``ShippingReimbursement`` or ``None``."""
    amount = shipping_reimbursement_amount(request)
    if amount <= 0:  # nothing due (an R11 refund, a consumer-paid return): nothing to read
        return None
    existing = ShippingReimbursement.objects.filter(request_id=request.pk).first()
    if existing is not None:
        return existing
    (tender,) = payout_tender(request)
    row = ShippingReimbursement.objects.create(
        request=request, merchant_id=request.merchant_id, amount=amount, tender=tender
    )
    _reimbursement_submit(row, request)
    data = {
        "amount": str(amount),
        "declared": str(request.return_shipping_fee),
        "cap": str(reimbursement_cap(request)),
        "rule": request.shipping_rule,
        "tender": tender.kind if tender is not None else "balance",
    }
    record(request, "return.shipping_reimbursement_started", actor, data=data)
    publish("return.shipping_reimbursement_started", request, reimbursement=data)
    return row


def _reimbursement_submit(row, request):
    row.transfer = gateway_payout_request(
        order=request.order,
        amount=row.amount,
        request_id=row.request_id_for(),
        actor=SYSTEM,
        tender=row.tender,
        reason=_("退货运费报销 %(number)s（%(rule)s）")
        % {"number": request.number, "rule": request.shipping_rule},
    )
    row.status = ShippingReimbursement.Status.PENDING
    row.failure_reason = ""
    row.save(update_fields=["transfer", "status", "failure_reason", "attempts"])


def _reimbursement_settled(row, transfer, request, actor):
    row.status = transfer.status
    row.failure_reason = transfer.failure_reason
    row.settled_at = transfer.settled_at
    row.save(update_fields=["status", "failure_reason", "settled_at"])
    if row.status == ShippingReimbursement.Status.SUCCEEDED:
        record(request, "return.shipping_reimbursed", actor, data={"amount": str(row.amount)})
        publish("return.shipping_reimbursed", request, reimbursement_amount=str(row.amount))
        notify_parties(
            request, "return.shipping_reimbursed", to=("consumer",), actor=actor, fee=row.amount
        )
    else:
        record(request, "return.shipping_reimbursement_failed", actor, reason=row.failure_reason)
        publish(
            "return.shipping_reimbursement_failed",
            request,
            reimbursement_amount=str(row.amount),
            failure_reason=row.failure_reason,
        )
    return row


# -- settlement and retries ---------------------------------------------------------------------


def transfer_settled(*, transfer, actor=SYSTEM):
    """A charge or payout of a return settled (``charge.*`` / ``payout.*`` of ``orders``):
    the difference payment, its give-back or the shipping reimbursement follows. Repeats
    change nothing."""
    for model, field, settle in (
        (Difference, "transfer_id", _difference_charge_settled),
        (Difference, "refund_transfer_id", _difference_refund_settled),
        (ShippingReimbursement, "transfer_id", _reimbursement_settled),
    ):
        row = model.objects.filter(**{field: transfer.pk}).first()
        if row is None:
            continue
        request = locked_request(ReturnRequest(pk=row.request_id))
        row = model.objects.select_for_update().get(pk=row.pk)
        if getattr(row, field) != transfer.pk or row.status not in ("pending", "refunding"):
            return row
        return settle(row, transfer, request, actor)
    return None


def extra_payouts_retry_failed(*, actor=SYSTEM, max_retries=MAX_PAYOUT_RETRIES):
    """Beat: pay again failed shipping reimbursements (new attempt, up to ``max_retries``)
    and paid differences of ended requests whose give-back failed. Returns how many."""
    done = 0
    failed = ShippingReimbursement.objects.filter(status="failed", attempts__lte=max_retries)
    stuck = Difference.objects.filter(status="succeeded").exclude(failure_reason="")
    for model, pairs in (
        (ShippingReimbursement, failed.values_list("pk", "request_id")),
        (Difference, stuck.values_list("pk", "request_id")),
    ):
        for row_id, request_id in list(pairs):
            with transaction.atomic():
                request = locked_request(ReturnRequest(pk=request_id))
                row = model.objects.select_for_update().get(pk=row_id)
                if model is ShippingReimbursement and row.status == "failed":
                    row.attempts += 1
                    _reimbursement_submit(row, request)
                    record(
                        request,
                        "return.shipping_reimbursement_retried",
                        actor,
                        data={"attempt": row.attempts},
                    )
                    done += 1
                elif (
                    model is Difference and row.status == "succeeded" and _difference_ended(request)
                ):
                    _difference_give_back(row, request, actor)
                    done += 1
    return done
