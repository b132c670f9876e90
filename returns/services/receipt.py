"""Receipt and inspection (R5, R6): the merchant confirms the goods arrived and whether they are
intact; an intact return starts the R6 refund deadline, one not intact is disputed (R19); the
merchant refunds (``return_refund``) — for an express refund the platform already paid (R12),
that confirms the receipt instead.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales.deadlines.engine import deadline_cancel, deadline_schedule
from aftersales.deadlines.models import Deadline
from aftersales.errors import Conflict, RuleViolation
from aftersales.policies import policies_cached

from .. import rules
from ..models import Refund, ReturnRequest
from .common import (
    KIND_REFUND_ONLY,
    check_scope,
    locked_request,
    money,
    notify_parties,
    publish,
    record,
    request_policy,
    require_merchant,
)
from .evidence import evidence_clean, evidence_save
from .express import (
    EXPRESS_RECEIPT_SETTLE,
    express_on_receipt,
    express_receipt_settle,
    follow_express_refund,
)
from .moves import move
from .refunds import refund_start


def refund_after_receipt_due(request):
    """R6: the refund is due 24:00 Shanghai of day N after receipt (policy, at most 7)."""
    ref = request_policy(request, "returns.refund_after_receipt_days")
    return rules.refund_due_after_receipt(request.received_at, int(ref.value)), ref


RECEIPT_CONFIRM = "returns.receipt_confirm"
"""R20: the deadline kind of the merchant's receipt confirmation (``returns.deadlines``)."""


def receipt_confirm_due(request, last_scan_at=None):
    """R20: the merchant confirms receipt by 24:00 Shanghai of day N (policy
    ``returns.receipt_confirm_days``, 10) after the ship-back, at least until 3 days after the
    carrier's latest moving or delivery scan (``last_scan_at``)."""
    ref = request_policy(request, "returns.receipt_confirm_days")
    due = rules.receipt_confirm_due(
        request.return_shipped_at, int(ref.value), last_scan_at=last_scan_at
    )
    return due, ref


def receipt_confirm_follow_scan(request, *, scan_at, actor):
    """R20: a moving or delivery scan of the parcel keeps the receipt window open until at
    least 3 days after it; the pending deadline moves later, never earlier."""
    pending = (
        Deadline.objects.filter(
            subject_type=request._meta.label_lower,
            subject_id=request.pk,
            kind=RECEIPT_CONFIRM,
            state=Deadline.State.PENDING,
        )
        .only("due_at")
        .first()
    )
    if pending is None or request.return_shipped_at is None:
        return None
    due, ref = receipt_confirm_due(request, last_scan_at=scan_at)
    if due <= pending.due_at:
        return pending
    return deadline_schedule(
        subject=request,
        kind=RECEIPT_CONFIRM,
        due_at=due,
        actor=actor,
        policy=ref,
        data={"last_scan_at": scan_at.isoformat()},
    )


def mark_received(request, *, actor, note="", occurred_at=None):
    """Move the locked request to ``received`` (at ``occurred_at``, e.g. the carrier's signed
    scan) and, for a refund, schedule the R6 refund deadline — for an express refund the
    platform already paid, the end of the merchant's inspection instead (R12): the goods then
    count as intact, the advance is recovered from the merchant and the case completes."""
    request = move(request, to="received", actor=actor, reason=note)
    if occurred_at is not None and occurred_at != request.received_at:
        request.received_at = occurred_at
        ReturnRequest.objects.filter(pk=request.pk).update(received_at=occurred_at)
    publish("return.received", request, intact=request.inspection_intact)
    if not request.is_exchange:
        due, ref = refund_after_receipt_due(request)
        deadline_schedule(
            subject=request,
            kind=EXPRESS_RECEIPT_SETTLE if request.express else "returns.refund_after_receipt",
            due_at=due,
            actor=actor,
            policy=ref,
        )
    return request


def return_receive(*, request, actor, intact, note="", evidence=()):
    """The merchant confirms receipt of the returned goods with the inspection result (R5, R6).

    Intact: the request is ``received``; the merchant refunds (``return_refund``) or ships the
    replacement; at the R6 deadline the platform refunds by itself. An express refund's advance
    is recovered from the merchant (R12). Not intact: photos, video or a report are required
    (``evidence_required``); the request is ``disputed`` and the consumer may escalate (R19).
    """
    items = evidence_clean(evidence, stage="receive")
    outcome = rules.inspection_outcome(intact=bool(intact), evidence_count=len(items))
    if outcome == "evidence_required":
        raise RuleViolation(
            _("验货不完好须上传照片、视频或检测报告作为凭证（R5）。"),
            code="evidence_required",
            fields={"evidence": "required"},
        )
    with transaction.atomic():
        request = locked_request(request)
        require_merchant(actor, request)
        if not request.needs_return_parcel:
            raise Conflict(_("仅退款申请没有退货包裹。"), code="no_return_parcel")
        inspected = request.inspection_intact is not None
        if (
            request.status == "received"
            and inspected
            or request.status
            not in (
                "return_shipped",
                "received",
            )
        ):
            raise Conflict(
                _("当前状态不能确认收货验货。"),
                code="invalid_status_transition",
                fields={"status": request.status, "to": "received"},
            )
        request.inspection_intact = bool(intact)
        request.inspection_note = note or ""
        request.save(update_fields=["inspection_intact", "inspection_note"])
        evidence_save(request, items, actor=actor, stage="receive")
        if outcome == "refund":
            if request.status == "return_shipped":
                request = mark_received(request, actor=actor, note=note)
            else:
                record(request, "return.inspected", actor, reason=note, data={"intact": True})
            express_on_receipt(request, actor=actor)
            request = follow_express_refund(request, actor=actor)
            notify_parties(
                request,
                "return.received",
                to=("consumer",),
                actor=actor,
                is_exchange=request.is_exchange,
            )
        else:
            if request.express:
                deadline_cancel(
                    subject=request, kind="returns.express_clawback", actor=actor, reason="received"
                )
            request = move(request, to="disputed", actor=actor, reason=note)
            for kind in ("returns.refund_after_receipt", EXPRESS_RECEIPT_SETTLE):
                deadline_cancel(subject=request, kind=kind, actor=actor, reason="disputed")
            publish("return.disputed", request, note=note)
            notify_parties(request, "return.disputed", to=("consumer",), actor=actor, note=note)
        check_scope(request, actor)
    return request


def return_refund(*, request, actor, amount=None):
    """Refund a request back to the original tenders, pro rata (R7), through the gateway.

    Idempotent: a request is refunded only once — a repeat (or 50 at once) returns the same
    ``Refund``. On an express refund the platform already paid (R12), it confirms the receipt
    instead: the advance is recovered from the merchant and the case completes.
    Allowed once the goods are received intact, for an approved refund-only request,
    or after a dispute the merchant gives up. ``amount`` defaults to the request's amount and
    never exceeds it. The refund settles asynchronously (``Refund.status``); the request is
    ``refunded`` when every part succeeded. Returns the ``Refund``.
    """
    with transaction.atomic(), policies_cached():
        request = locked_request(request)
        require_merchant(actor, request)
        existing = Refund.objects.filter(request_id=request.pk).first()
        if existing is not None:
            if request.express and request.status in ("received", "disputed"):
                # The platform already refunded (R12): the merchant's "确认退款" is the receipt
                # that recovers the advance and completes the case.
                express_receipt_settle(request=request, actor=actor)
                check_scope(request, actor)
            return existing
        amount = request.amount if amount is None else money(amount, "amount")
        if amount > request.amount or amount <= 0:
            raise RuleViolation(
                _("退款金额应在 0 与申请金额 %(amount)s 之间。") % {"amount": request.amount},
                code="refund_amount_invalid",
                fields={"amount": str(request.amount)},
            )
        if request.status == "received" and request.inspection_intact is False:
            raise Conflict(_("验货有异议的申请须经仲裁。"), code="return_disputed")
        allowed = request.status in ("received", "disputed") or (
            request.status == "approved" and request.kind == KIND_REFUND_ONLY
        )
        if not allowed or request.is_exchange:
            raise Conflict(
                _("当前状态不能退款。"),
                code="invalid_status_transition",
                fields={"status": request.status, "to": "refunding"},
            )
        request = move(request, to="refunding", actor=actor)
        refund = refund_start(request, amount=amount, actor=actor, source=Refund.Source.MERCHANT)
        notify_parties(
            request, "return.refund_started", to=("consumer",), actor=actor, refund_amount=amount
        )
        check_scope(request, actor)
    return refund
