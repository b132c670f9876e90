"""Requests to the payment gateway and its answers: refunds of tenders (R7), charges and payouts
of price differences and shipping reimbursements (R9, R18), each idempotent by request id.
"""

from django.db import transaction
from django.db.models import OuterRef, Sum
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.timeline import timeline_batched, timeline_record
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.money import ZERO, money_sum
from aftersales.tenancy.actors import SYSTEM

from .. import rules
from ..adapters import get_payment_gateway
from ..models import GatewayRefund, GatewayTransfer, Order, Tender
from .common import clean_money, iso, require_merchant_write


def _payment_gateway():
    return get_payment_gateway()


# -- gateway refunds ----------------------------------------------------------------------------


def tenders_for_refund(order_id):
    """The paid tenders of order ``order_id``, locked in pk order (with their payment and order
    rows, as a gateway refund request locks them), each with ``pending_refunds``: the sum of its
    pending gateway refunds. A queryset read after the locks are held, so a caller may annotate
    more (``returns``: what a line holds on each tender)."""
    return _with_pending(
        _locked(Tender.objects.filter(payment__order_id=order_id, payment__status="succeeded"))
    )


def _locked(tenders):
    """Lock ``tenders`` with their payment and order rows, in pk order; their ids."""
    return [
        t.pk for t in tenders.select_for_update().select_related("payment__order").order_by("pk")
    ]


def _with_pending(ids):
    """The tenders ``ids`` with ``pending_refunds``, read in a statement of its own, after they
    were locked: under READ COMMITTED a statement sees the data as it was when it began, before
    it waited for a lock, so sums read in the locking statement itself could miss a refund that
    another transaction committed while it held the lock (and R7's ceiling would not hold)."""
    pending = GatewayRefund.objects.filter(tender_id=OuterRef("pk"), status="pending")
    return (
        Tender.objects.filter(pk__in=ids)
        .select_related("payment__order")
        .annotate(pending_refunds=money_sum(pending, by="tender_id"))
        .order_by("pk")
    )


def gateway_refund_request(*, tender, amount, request_id, actor, reason=""):
    """Ask the payment gateway to refund ``amount`` to ``tender`` (RULES.md R7).

    Idempotent by ``request_id``: a repeat returns the same request. The answer arrives
    asynchronously (``gateway_refund_attempt_record``); the tender's refunded amount grows only
    on success, and pending plus refunded never exceed what the tender paid.
    """
    (refund,) = gateway_refunds_request(
        refunds=[(tender, amount, request_id)], actor=actor, reason=reason
    )
    return refund


def gateway_refunds_request(*, refunds, actor, reason="", locked=False):
    """``gateway_refund_request`` for several tenders at once (one refund split over an
    order's tenders, R7): ``refunds`` is ``[(tender, amount, request_id), ...]``; returns the
    ``GatewayRefund`` of each, in the same order. A fixed number of statements: the tenders
    locked, the request ids looked up, the new requests and their timeline events inserted
    together.

    ``locked``: the tenders come from ``tenders_for_refund`` in the caller's transaction (locked,
    with ``pending_refunds``), so they are not read again, and no savepoint is taken: an error
    fails the caller's transaction."""
    asked = []
    for tender, amount, request_id in refunds:
        if not request_id:
            raise InvalidInput(
                _("需要请求号。"), code="request_id_required", fields={"request_id": "required"}
            )
        asked.append((tender, clean_money(amount, "amount"), request_id))
    gateway = _payment_gateway()
    with transaction.atomic(savepoint=not locked), timeline_batched():
        if locked:
            tenders = {tender.pk: tender for tender, _a, _r in asked}
        else:
            ids = _locked(Tender.objects.filter(pk__in=[t.pk for t, _a, _r in asked]))
            tenders = {t.pk: t for t in _with_pending(ids)}
        orders = {t.payment.order_id: t.payment.order for t in tenders.values()}
        for order_id in sorted(orders):
            require_merchant_write(actor, orders[order_id].merchant_id)
        existing = {
            r.request_id: r
            for r in GatewayRefund.objects.filter(request_id__in=[r for _t, _a, r in asked])
        }
        now = clock.now()
        answer, new, pending = [], [], {}
        for given, amount, request_id in asked:
            tender = tenders[given.pk]
            found = existing.get(request_id)
            if found is not None:
                if found.tender_id != tender.pk or found.amount != amount:
                    raise Conflict(
                        _("该请求号已用于另一笔退款。"),
                        code="refund_request_id_reused",
                        fields={"request_id": request_id},
                    )
                answer.append(found)
                continue
            held = tender.pending_refunds + pending.get(tender.pk, ZERO)
            if not rules.refundable(
                tender_amount=tender.amount,
                refunded=tender.refunded_amount,
                pending=held,
                amount=amount,
            ):
                left = tender.amount - tender.refunded_amount - held
                raise RuleViolation(
                    _("退款金额超出该支付方式可退余额 ¥%(amount)s。") % {"amount": left},
                    code="refund_exceeds_tender",
                    fields={"amount": str(left)},
                )
            pending[tender.pk] = pending.get(tender.pk, ZERO) + amount
            order = tender.payment.order
            row = GatewayRefund(
                tender=tender,
                order=order,
                merchant_id=order.merchant_id,
                request_id=request_id,
                amount=amount,
                gateway=gateway.name,
                reason=reason or "",
                requested_at=now,
            )
            new.append(row)
            answer.append(row)
        GatewayRefund.objects.bulk_create(new)
        for row in new:
            timeline_record(
                subject=row.order,
                verb="refund.requested",
                actor=actor,
                reason=reason,
                data={
                    "gateway_refund_id": row.pk,
                    "tender": row.tender.kind,
                    "amount": str(row.amount),
                    "request_id": row.request_id,
                },
            )
            transaction.on_commit(
                lambda refund_id=row.pk: gateway.submit_refund(refund_id), robust=True
            )
    return answer


def _attempt_retry(row, *, verb, id_field, reason, actor):
    """The gateway said "try again" for a pending refund or transfer (its ``attempts`` already
    counted): keep the error and record the attempt on the order's timeline."""
    row.last_error = reason[:200]
    row.save(update_fields=["attempts", "last_error"])
    timeline_record(
        subject=row.order,
        verb=f"{verb}.attempt_failed",
        actor=actor,
        reason=reason,
        data={id_field: row.pk, "attempt": row.attempts},
    )


def _attempt_settle(row, outcome, *, reason, gateway_ref, now):
    """The gateway settled a pending refund or transfer: ``succeeded`` or ``failed`` (with the
    reason), its reference kept when this answer has none."""
    row.status = outcome
    row.settled_at = now
    row.gateway_ref = gateway_ref or row.gateway_ref
    if outcome == "failed":
        row.failure_reason = reason[:200]
    row.save(update_fields=["attempts", "status", "settled_at", "gateway_ref", "failure_reason"])


def gateway_refund_attempt_record(*, refund, outcome, actor=SYSTEM, reason="", gateway_ref=""):
    """Record one answer of the gateway: ``succeeded``, ``failed`` or ``retry`` (try again).

    Only a pending refund changes, so a repeated callback changes nothing. Success adds to the
    tender's refunded amount (never above what it paid) and publishes ``refund.succeeded``;
    failure publishes ``refund.failed``.
    """
    if outcome not in ("succeeded", "failed", "retry"):
        raise InvalidInput(_("结果无效。"), code="refund_outcome_invalid")
    with transaction.atomic():
        tender = Tender.objects.select_for_update().get(pk=refund.tender_id)
        refund = GatewayRefund.objects.select_for_update().select_related("order").get(pk=refund.pk)
        if refund.status != GatewayRefund.Status.PENDING:
            return refund
        refund.attempts += 1
        if outcome == "retry":
            _attempt_retry(
                refund, verb="refund", id_field="gateway_refund_id", reason=reason, actor=actor
            )
            return refund
        if outcome == "succeeded" and tender.refunded_amount + refund.amount > tender.amount:
            outcome, reason = "failed", "exceeds_tender"
        now = clock.now()
        if outcome == "succeeded":
            tender.refunded_amount += refund.amount
            tender.save(update_fields=["refunded_amount"])
        _attempt_settle(refund, outcome, reason=reason, gateway_ref=gateway_ref, now=now)
        timeline_record(
            subject=refund.order,
            verb=f"refund.{outcome}",
            actor=actor,
            reason=reason,
            data={
                "gateway_refund_id": refund.pk,
                "amount": str(refund.amount),
                "tender": tender.kind,
            },
        )
        event_publish(
            f"refund.{outcome}",
            subject=refund,
            payload={
                "gateway_refund_id": refund.pk,
                "request_id": refund.request_id,
                "tender_id": tender.pk,
                "tender_kind": tender.kind,
                "payment_id": tender.payment_id,
                "order_id": refund.order_id,
                "amount": str(refund.amount),
                "gateway_ref": refund.gateway_ref,
                "failure_reason": refund.failure_reason,
                "settled_at": iso(now),
            },
        )
    return refund


# -- gateway charges and payouts ----------------------------------------------------------------


TRANSFER_METHODS = ("card", "balance")
DEDUCTION_METHOD = "settlement"


def gateway_transfer_request(
    *,
    direction,
    order,
    amount,
    request_id,
    actor,
    tender=None,
    method="",
    refund_of=None,
    reason="",
):
    """Ask the payment gateway to collect (``charge``) or pay (``payout``) ``amount`` for
    ``order``: an exchange's price difference (R18), a return shipping reimbursement (R9), the
    refund of a charge (``refund_of``, never above it). Not a refund of a tender: the tender's
    refunded amount does not change (R7).

    Idempotent by ``request_id``: a repeat returns the same row. The answer arrives
    asynchronously (``gateway_transfer_attempt_record``).
    """
    amount = clean_money(amount, "amount")
    if direction not in GatewayTransfer.Direction.values:
        raise InvalidInput(_("方向无效。"), code="transfer_direction_invalid")
    if not request_id:
        raise InvalidInput(
            _("需要请求号。"), code="request_id_required", fields={"request_id": "required"}
        )
    method = method or (tender.kind if tender is not None else "card")
    if direction == GatewayTransfer.Direction.DEDUCTION:
        method = DEDUCTION_METHOD
    elif method not in TRANSFER_METHODS:
        raise InvalidInput(
            _("只能通过银行卡或余额收付款。"),
            code="transfer_method_invalid",
            fields={"method": list(TRANSFER_METHODS)},
        )
    gateway = _payment_gateway()
    with transaction.atomic():
        order = Order.objects.get(pk=order.pk)
        require_merchant_write(actor, order.merchant_id, consumer_id=order.consumer_id)
        if tender is not None and tender.payment.order_id != order.pk:
            raise InvalidInput(_("支付方式不属于该订单。"), code="tender_not_of_order")
        existing = GatewayTransfer.objects.filter(request_id=request_id).first()
        if existing is not None:
            if existing.amount != amount or existing.direction != direction:
                raise Conflict(
                    _("该请求号已用于另一笔收付款。"),
                    code="transfer_request_id_reused",
                    fields={"request_id": request_id},
                )
            return existing
        if refund_of is not None:
            # No row lock: the caller serializes give-backs of one charge (returns locks the
            # request), and locking here would invert the settle order (transfer → request).
            refund_of = GatewayTransfer.objects.get(pk=refund_of.pk)
            given_back = (
                refund_of.refunds.exclude(status="failed").aggregate(s=Sum("amount"))["s"] or ZERO
            )
            if refund_of.status != "succeeded" or given_back + amount > refund_of.amount:
                raise RuleViolation(
                    _("退还金额超出原收款可退余额 ¥%(amount)s。")
                    % {"amount": refund_of.amount - given_back},
                    code="transfer_refund_exceeds_charge",
                    fields={"amount": str(refund_of.amount - given_back)},
                )
        transfer = GatewayTransfer.objects.create(
            direction=direction,
            order=order,
            merchant_id=order.merchant_id,
            tender=tender,
            method=method,
            refund_of=refund_of,
            request_id=request_id,
            amount=amount,
            gateway=gateway.name,
            reason=(reason or "")[:200],
            requested_at=clock.now(),
        )
        timeline_record(
            subject=order,
            verb=f"{direction}.requested",
            actor=actor,
            reason=reason,
            data={
                "gateway_transfer_id": transfer.pk,
                "method": method,
                "amount": str(amount),
                "request_id": request_id,
            },
        )
        transfer_id = transfer.pk
        transaction.on_commit(lambda: gateway.submit_transfer(transfer_id), robust=True)
    return transfer


def gateway_transfer_attempt_record(*, transfer, outcome, actor=SYSTEM, reason="", gateway_ref=""):
    """Record one answer of the gateway to a charge or payout: ``succeeded``, ``failed`` or
    ``retry``. Only a pending row changes (a repeated callback changes nothing); a settlement
    publishes ``charge.succeeded`` / ``charge.failed`` / ``payout.succeeded`` /
    ``payout.failed`` / ``deduction.succeeded`` / ``deduction.failed``."""
    if outcome not in ("succeeded", "failed", "retry"):
        raise InvalidInput(_("结果无效。"), code="transfer_outcome_invalid")
    with transaction.atomic():
        transfer = (
            GatewayTransfer.objects.select_for_update().select_related("order").get(pk=transfer.pk)
        )
        if transfer.status != GatewayTransfer.Status.PENDING:
            return transfer
        transfer.attempts += 1
        verb = transfer.direction
        if outcome == "retry":
            _attempt_retry(
                transfer, verb=verb, id_field="gateway_transfer_id", reason=reason, actor=actor
            )
            return transfer
        now = clock.now()
        _attempt_settle(transfer, outcome, reason=reason, gateway_ref=gateway_ref, now=now)
        timeline_record(
            subject=transfer.order,
            verb=f"{verb}.{outcome}",
            actor=actor,
            reason=reason,
            data={"gateway_transfer_id": transfer.pk, "amount": str(transfer.amount)},
        )
        event_publish(
            f"{verb}.{outcome}",
            subject=transfer,
            payload={
                "gateway_transfer_id": transfer.pk,
                "direction": transfer.direction,
                "request_id": transfer.request_id,
                "order_id": transfer.order_id,
                "tender_id": transfer.tender_id,
                "method": transfer.method,
                "refund_of_id": transfer.refund_of_id,
                "amount": str(transfer.amount),
                "gateway_ref": transfer.gateway_ref,
                "failure_reason": transfer.failure_reason,
                "settled_at": iso(now),
            },
        )
    return transfer


def gateway_charge_request(*, order, amount, request_id, actor, method="card", reason=""):
    """Collect ``amount`` from the consumer of ``order`` by ``method`` (card, balance);
    idempotent by ``request_id``; returns the pending ``GatewayTransfer``
    (``gateway_transfer_request`` with direction ``charge``)."""
    return gateway_transfer_request(
        direction="charge",
        order=order,
        amount=amount,
        request_id=request_id,
        actor=actor,
        method=method,
        reason=reason,
    )


def gateway_payout_request(
    *, order, amount, request_id, actor, tender=None, refund_of=None, reason=""
):
    """Pay ``amount`` to the consumer of ``order`` through the channel of ``tender`` (or
    back to the channel of the charge ``refund_of``; without either, to the consumer's
    platform balance); idempotent by ``request_id`` (``gateway_transfer_request`` with
    direction ``payout``)."""
    return gateway_transfer_request(
        direction="payout",
        order=order,
        amount=amount,
        request_id=request_id,
        actor=actor,
        tender=tender,
        # a payout without a tender goes to the consumer's platform balance
        method=refund_of.method if refund_of is not None else ("" if tender else "balance"),
        refund_of=refund_of,
        reason=reason,
    )


def gateway_deduction_request(*, order, amount, request_id, actor, reason=""):
    """Collect ``amount`` from the settlement of the merchant of ``order`` (the platform
    recovers an express refund it advanced, RULES.md R12); idempotent by ``request_id``;
    asynchronous like a charge (``deduction.succeeded`` / ``deduction.failed``)."""
    return gateway_transfer_request(
        direction="deduction",
        order=order,
        amount=amount,
        request_id=request_id,
        actor=actor,
        reason=reason,
    )
