"""Refunds (R7): one refund per request, split pro rata over the order's original tenders and asked
of the gateway per tender; settled asynchronously by the gateway's events, a failed part retried
with a new request id.
"""

from django.db import transaction
from django.db.models import OuterRef
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.errors import RuleViolation
from aftersales.money import ZERO, money_sum, split_pro_rata, yuan
from aftersales.tenancy.actors import SYSTEM
from orders import services as order_services

from .. import rules
from ..models import Refund, RefundPart, ReturnRequest
from . import payments
from .common import (
    iso,
    locked_request,
    notify_parties,
    publish,
    record,
    require_platform,
)
from .moves import move

MAX_REFUND_RETRIES = 3


def _order_tenders(request):
    """The order's paid tenders, locked (``tenders_for_refund``: with their pending gateway
    refunds), each with ``line_held``: what this request's line holds on it in pending or
    succeeded refund parts, read after the locks are held (two statements)."""
    held = RefundPart.objects.filter(
        tender_id=OuterRef("pk"), line_id=request.line_id, status__in=["pending", "succeeded"]
    )
    return list(
        order_services.tenders_for_refund(request.order_id).annotate(
            line_held=money_sum(held, by="tender_id")
        )
    )


def refund_plan(request, amount, tenders):
    """How ``amount`` splits over the order's ``tenders`` (``_order_tenders``) for this
    request's line (R7): pro rata to what each tender paid for the line, never above what is
    left of the line's share on a tender nor of the tender itself. Returns
    ``[(tender, share), ...]``."""
    line = request.line
    line_shares = split_pro_rata(line.paid_amount, [t.amount for t in tenders])
    refunded_for_rule = []
    for tender, share in zip(tenders, line_shares, strict=True):
        tender_left = tender.amount - tender.refunded_amount - tender.pending_refunds
        left = max(min(share - tender.line_held, tender_left), ZERO)
        refunded_for_rule.append(share - left)
    try:
        shares = rules.split_refund_over_tenders(amount, line_shares, refunded_for_rule)
    except ValueError:
        left = sum(s - r for s, r in zip(line_shares, refunded_for_rule, strict=True))
        raise RuleViolation(
            _("退款金额超出该商品原支付方式可退余额 %(left)s（R7）。") % {"left": left},
            code="refund_exceeds_tenders",
            fields={"amount": str(left)},
        ) from None
    return [(t, s) for t, s in zip(tenders, shares, strict=True) if s > 0]


def refund_start(request, *, amount, actor, source, fresh=False):
    """Create the request's one refund (or return the existing one) and ask the gateway for
    each tender's share, all tenders at once; the request row is locked by the caller
    (``fresh``: created in the caller's transaction, so it has no refund yet)."""
    if not fresh:
        existing = Refund.objects.filter(request_id=request.pk).first()
        if existing is not None:
            return existing
    amount = yuan(amount)
    if amount <= 0:
        raise RuleViolation(_("退款金额必须大于零。"), code="refund_amount_not_positive")
    tenders = _order_tenders(request)
    if not tenders:
        raise RuleViolation(_("订单没有可退的支付记录。"), code="order_not_paid")
    plan = refund_plan(request, amount, tenders)
    now = clock.now()
    refund = Refund.objects.create(
        request=request,
        order_id=request.order_id,
        merchant_id=request.merchant_id,
        consumer_id=request.consumer_id,
        amount=amount,
        source=source,
        requested_at=now,
    )
    parts = [
        RefundPart(refund=refund, tender=t, line_id=request.line_id, amount=share)
        for t, share in plan
    ]
    asked = order_services.gateway_refunds_request(
        refunds=[(p.tender, p.amount, p.request_id()) for p in parts],
        actor=SYSTEM,
        reason=_("售后退款 %(number)s") % {"number": request.number},
        locked=True,
    )
    for part, gateway_refund in zip(parts, asked, strict=True):
        part.gateway_refund = gateway_refund
        part.status = RefundPart.Status.PENDING
    parts = RefundPart.objects.bulk_create(parts)
    payments.shipping_reimburse(request, actor)
    record(
        request,
        "return.refund_started",
        actor,
        data={
            "refund_id": refund.pk,
            "amount": str(amount),
            "source": source,
            "parts": [[p.tender.kind, str(p.amount)] for p in parts],
        },
    )
    publish(
        "return.refund_started",
        request,
        refund_id=refund.pk,
        refund_amount=str(amount),
        source=source,
        parts=[{"tender_id": p.tender_id, "amount": str(p.amount)} for p in parts],
    )
    return refund


def _part_submit(part, request):
    gateway_refund = order_services.gateway_refund_request(
        tender=part.tender,
        amount=part.amount,
        request_id=part.request_id(),
        actor=SYSTEM,
        reason=_("售后退款 %(number)s") % {"number": request.number},
    )
    part.gateway_refund = gateway_refund
    part.status = RefundPart.Status.PENDING
    part.failure_reason = ""
    part.save(update_fields=["gateway_refund", "status", "failure_reason", "attempt"])


def publish_refunded(request, refund):
    """``return.refunded``: the request's refund has reached every original tender (invoices
    listen for it to issue the red-letter invoice, RULES.md I4)."""
    parts = refund.parts.select_related("tender").order_by("pk")
    return publish(
        "return.refunded",
        request,
        refund_id=refund.pk,
        refund_amount=str(refund.amount),
        source=refund.source,
        parts=[
            {"tender_id": p.tender_id, "tender_kind": p.tender.kind, "amount": str(p.amount)}
            for p in parts
        ],
        settled_at=iso(refund.settled_at),
    )


def _refund_status(parts):
    statuses = {p.status for p in parts}
    if statuses == {"succeeded"}:
        return Refund.Status.SUCCEEDED
    if "pending" in statuses:
        return Refund.Status.PENDING
    if "succeeded" in statuses:
        return Refund.Status.PARTLY_FAILED
    return Refund.Status.FAILED


def refund_part_settled(*, gateway_refund, actor=SYSTEM):
    """The gateway settled one tender's share (``refund.succeeded`` / ``refund.failed`` of
    ``orders``): record it on the part and settle the refund; a refund whose parts all
    succeeded finishes the request (``refunded``). Repeats change nothing."""
    part = (
        RefundPart.objects.select_related("refund")
        .filter(gateway_refund_id=gateway_refund.pk)
        .first()
    )
    if part is None:
        return None
    refund = Refund.objects.select_for_update().get(pk=part.refund_id)
    part = RefundPart.objects.select_for_update().get(pk=part.pk)
    if part.gateway_refund_id != gateway_refund.pk or part.status != RefundPart.Status.PENDING:
        return refund
    part.status = gateway_refund.status
    part.failure_reason = gateway_refund.failure_reason
    part.save(update_fields=["status", "failure_reason"])
    before = refund.status
    refund.status = _refund_status(list(refund.parts.all()))
    if refund.status != Refund.Status.PENDING:
        refund.settled_at = clock.now()
    refund.save(update_fields=["status", "settled_at"])
    if refund.status == before:
        return refund
    request = ReturnRequest.objects.select_related("consumer__user", "merchant").get(
        pk=refund.request_id
    )
    record(
        request,
        f"return.refund_{refund.status}",
        actor,
        data={"refund_id": refund.pk, "amount": str(refund.amount), "source": refund.source},
    )
    if refund.status == Refund.Status.SUCCEEDED:
        if request.status == "refunding":
            request = move(request, to="refunded", actor=actor)
        publish_refunded(request, refund)
        notify_parties(request, "return.refunded", actor=actor, refund_amount=refund.amount)
    elif refund.status in (Refund.Status.FAILED, Refund.Status.PARTLY_FAILED):
        publish(
            "return.refund_failed",
            request,
            refund_id=refund.pk,
            refund_status=refund.status,
            retries=refund.retries,
        )
    return refund


def refund_retry(*, refund, actor):
    """Ask the gateway again for the failed parts of a refund, each with a new request id
    (``attempt`` + 1): a part that failed paid nothing, so a new attempt cannot pay twice;
    parts that succeeded or are pending are left alone. Returns the refund."""
    with transaction.atomic():
        request = locked_request(ReturnRequest(pk=refund.request_id))
        require_platform(actor, request)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        failed = list(refund.parts.filter(status="failed").select_related("tender").order_by("pk"))
        if not failed:
            return refund
        for part in failed:
            part.attempt += 1
            _part_submit(part, request)
        refund.retries += 1
        refund.status = Refund.Status.PENDING
        refund.settled_at = None
        refund.save(update_fields=["retries", "status", "settled_at"])
        record(
            request,
            "return.refund_retried",
            actor,
            data={"refund_id": refund.pk, "parts": [p.pk for p in failed], "retry": refund.retries},
        )
    return refund


def refunds_retry_failed(*, actor=SYSTEM, max_retries=MAX_REFUND_RETRIES):
    """Beat: retry refunds that failed (in part), up to ``max_retries`` times each; returns how
    many were retried. After that they wait for platform staff (admin)."""
    refunds = list(
        Refund.objects.filter(
            status__in=[Refund.Status.FAILED, Refund.Status.PARTLY_FAILED], retries__lt=max_retries
        ).only("pk", "request_id")
    )
    for refund in refunds:
        refund_retry(refund=refund, actor=actor)
    return len(refunds)
