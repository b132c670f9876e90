"""Payments of orders and their tenders (RULES.md R7): card, balance, points, coupon."""

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.money import ZERO

from .. import rules
from ..models import Order, Payment, Tender
from .common import clean_money, iso, order_move, require_merchant_write


def payment_record(
    *, order, external_id, amount, tenders, actor, paid_at=None, status=Payment.Status.SUCCEEDED
):
    """Record a payment of ``order`` made of tenders (card, balance, points, coupon) that add
    up to it (RULES.md R7). When succeeded payments cover the total, the order becomes paid."""
    require_merchant_write(actor, order.merchant_id, consumer_id=order.consumer_id)
    amount = clean_money(amount, "amount")
    if status not in Payment.Status.values:
        raise InvalidInput(
            _("支付状态无效。"),
            code="payment_status_invalid",
            fields={"status": Payment.Status.values},
        )
    kinds = Tender.Kind.values
    bad = {
        str(i): "tender_kind_invalid" for i, t in enumerate(tenders) if t.get("kind") not in kinds
    }
    if bad:
        raise InvalidInput(_("支付方式无效。"), code="tender_kind_invalid", fields={"tenders": bad})
    if not rules.tenders_add_up(amount, [clean_money(t.get("amount"), "amount") for t in tenders]):
        raise InvalidInput(
            _("各支付方式金额之和必须等于支付金额，且每项大于零。"),
            code="tenders_mismatch",
            fields={"tenders": "tenders_mismatch", "amount": str(amount)},
        )
    paid_at = paid_at or clock.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if Payment.objects.filter(external_id=external_id).exists():
            raise Conflict(
                _("该支付流水号已记录。"),
                code="payment_duplicate",
                fields={"external_id": external_id},
            )
        if order.status == "cancelled":
            raise Conflict(_("订单已取消。"), code="order_cancelled")
        paid_before = (
            order.payments.filter(status="succeeded").aggregate(s=Sum("amount"))["s"] or ZERO
        )
        if status == "succeeded" and paid_before + amount > order.total_amount:
            raise RuleViolation(
                _("支付金额超出订单应付余额 ¥%(amount)s。")
                % {"amount": order.total_amount - paid_before},
                code="payment_exceeds_total",
                fields={"amount": str(order.total_amount - paid_before)},
            )
        payment = Payment.objects.create(
            order=order, external_id=external_id, amount=amount, status=status, paid_at=paid_at
        )
        rows = Tender.objects.bulk_create(
            [
                Tender(
                    payment=payment,
                    kind=t["kind"],
                    amount=clean_money(t["amount"], "amount"),
                    reference=t.get("reference", "") or "",
                )
                for t in tenders
            ]
        )
        timeline_record(
            subject=order,
            verb="payment.recorded",
            actor=actor,
            occurred_at=paid_at,
            data={
                "payment_id": payment.pk,
                "amount": str(amount),
                "status": status,
                "tenders": [[t.kind, str(t.amount)] for t in rows],
            },
        )
        event_publish(
            "payment.recorded",
            subject=payment,
            merchant_id=order.merchant_id,
            payload={
                "payment_id": payment.pk,
                "order_id": order.pk,
                "amount": str(amount),
                "status": status,
                "paid_at": iso(paid_at),
                "tenders": [{"id": t.pk, "kind": t.kind, "amount": str(t.amount)} for t in rows],
            },
        )
        if (
            status == "succeeded"
            and order.status == "pending_payment"
            and paid_before + amount == order.total_amount
        ):
            order_move(order, to="paid", actor=actor, occurred_at=paid_at)
    return payment
