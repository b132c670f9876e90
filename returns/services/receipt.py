"""Receipt and inspection (R5, R6): the merchant confirms the goods arrived and whether they are
intact; an intact return starts the R6 refund deadline, one not intact is disputed (R19).
"""

from django.db import transaction

from aftersales.deadlines.engine import deadline_cancel, deadline_schedule
from aftersales.deadlines.models import Deadline
from aftersales.errors import Conflict, RuleViolation

from .. import rules
from ..models import ReturnRequest
from .common import (
    check_scope,
    locked_request,
    notify_parties,
    publish,
    record,
    request_policy,
    require_merchant,
)
from .evidence import evidence_clean, evidence_save
from .express import express_on_receipt, follow_express_refund
from .moves import move


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
    scan) and, for a refund, schedule the R6 refund deadline."""
    request = move(request, to="received", actor=actor, reason=note)
    if occurred_at is not None and occurred_at != request.received_at:
        request.received_at = occurred_at
        ReturnRequest.objects.filter(pk=request.pk).update(received_at=occurred_at)
    publish("return.received", request, intact=request.inspection_intact)
    if not request.is_exchange:
        due, ref = refund_after_receipt_due(request)
        deadline_schedule(
            subject=request,
            kind="returns.refund_after_receipt",
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
    items = evidence_clean(evidence)
    outcome = rules.inspection_outcome(intact=bool(intact), evidence_count=len(items))
    if outcome == "evidence_required":
        raise RuleViolation(
            "验货不完好须上传照片、视频或检测报告作为凭证（R5）。",
            code="evidence_required",
            fields={"evidence": "required"},
        )
    with transaction.atomic():
        request = locked_request(request)
        require_merchant(actor, request)
        if not request.needs_return_parcel:
            raise Conflict("仅退款申请没有退货包裹。", code="no_return_parcel")
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
                "当前状态不能确认收货验货。",
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
                f"商家已收货 {request.number}",
                "商家已确认收到退货且商品完好。"
                + ("" if request.is_exchange else "退款将在 7 天内完成（R6）。"),
                to=("consumer",),
                actor=actor,
            )
        else:
            if request.express:
                deadline_cancel(
                    subject=request, kind="returns.express_clawback", actor=actor, reason="received"
                )
            request = move(request, to="disputed", actor=actor, reason=note)
            deadline_cancel(
                subject=request, kind="returns.refund_after_receipt", actor=actor, reason="disputed"
            )
            publish("return.disputed", request, note=note)
            notify_parties(
                request,
                "return.disputed",
                f"商家验货有异议 {request.number}",
                f"商家反馈退回商品不完好：{note}。您可以查看凭证并申请平台仲裁（R19）。",
                to=("consumer",),
                actor=actor,
            )
        check_scope(request, actor)
    return request
