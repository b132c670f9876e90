"""Express refund (R12): for a consumer with enough credit the platform pays at the first scan of
the return parcel, then recovers its advance from the merchant when the goods arrive, or claws
it back from the consumer when they never do. Every step is a row of the express-refund ledger
(``ExpressRefundLedgerEntry``).
"""

from django.db import transaction

from aftersales import clock
from aftersales.deadlines.engine import deadline_cancel, deadline_schedule
from aftersales.tenancy.actors import SYSTEM

from .. import rules
from ..models import ExpressRefundLedgerEntry, Refund, ReturnRequest
from .common import actor_user, locked_request, notify_parties, publish, record, request_policy
from .moves import move
from .refunds import publish_refunded, refund_start


def express_ledger_record(request, kind, amount, *, actor, note=""):
    """Write the ledger entry ``kind`` (advance, recovery, clawback, clawback_cancelled) of an
    express refund once, with its timeline and domain event. Returns ``(entry, created)``."""
    entry, created = ExpressRefundLedgerEntry.objects.get_or_create(
        request=request,
        kind=kind,
        defaults={
            "merchant_id": request.merchant_id,
            "consumer_id": request.consumer_id,
            "amount": amount,
            "occurred_at": clock.now(),
            "note": note[:200],
            "actor_kind": actor.timeline_fields()["actor_kind"],
            "actor_user": actor_user(actor),
            "actor_label": actor.label,
        },
    )
    if created:
        record(request, f"return.express_{kind}", actor, reason=note, data={"amount": str(amount)})
        name = {
            "advance": "return.express_advanced",
            "recovery": "return.express_recovered",
            "clawback": "return.express_clawback",
            "clawback_cancelled": "return.express_clawback_cancelled",
        }[kind]
        publish(name, request, ledger_entry_id=entry.pk, ledger_amount=str(amount))
    return entry, created


def express_clawback_due(request):
    """When the platform claws an express refund back from the consumer if the parcel has not
    arrived: ``returns.express_clawback_days`` after the first scan (window rule)."""
    ref = request_policy(request, "returns.express_clawback_days")
    start = request.return_first_scan_at or clock.now()
    return rules.calendar_window_closes_at(start, int(ref.value)), ref


def express_refund_maybe(request, *, actor):
    """At the first scan of the return parcel (locked request): the platform refunds at once
    when the consumer's credit reaches the policy threshold (R12). Returns the refund or
    ``None``."""
    if (
        request.kind != ReturnRequest.Kind.RETURN_REFUND
        or Refund.objects.filter(request_id=request.pk).exists()
    ):
        return None
    threshold = request_policy(request, "returns.express_refund_credit_threshold").value
    if not rules.express_refund_eligible(
        request.consumer.credit_score, threshold, request.return_first_scan_at
    ):
        return None
    refund = refund_start(
        request, amount=request.amount, actor=actor, source=Refund.Source.PLATFORM_EXPRESS
    )
    request.express = True
    request.save(update_fields=["express"])
    express_ledger_record(
        request, "advance", request.amount, actor=actor, note="极速退款：平台垫付（R12）"
    )
    due, ref = express_clawback_due(request)
    deadline_schedule(
        subject=request, kind="returns.express_clawback", due_at=due, actor=actor, policy=ref
    )
    notify_parties(
        request,
        "return.express_advanced",
        f"极速退款 ¥{request.amount} 已发起",
        "您的退货包裹已揽收，平台先行垫付退款并原路退回（R12）。若包裹未送达商家，平台将追回该款项。",
        actor=actor,
    )
    return refund


def express_on_receipt(request, *, actor):
    """The goods arrived: the platform recovers its advance from the merchant, and a clawback
    from the consumer (the parcel was late) is cancelled."""
    if not request.express:
        return
    deadline_cancel(
        subject=request, kind="returns.express_clawback", actor=actor, reason="received"
    )
    if ExpressRefundLedgerEntry.objects.filter(request=request, kind="clawback").exists():
        express_ledger_record(
            request, "clawback_cancelled", request.amount, actor=actor, note="包裹已送达，撤销追回"
        )
    express_ledger_record(
        request, "recovery", request.amount, actor=actor, note="商家已收货，向商家追偿垫付款（R12）"
    )


def express_clawback(*, request, actor=SYSTEM):
    """The parcel of an express-refunded request never arrived: the platform claws its advance
    back from the consumer (R12). Nothing happens once the goods were received."""
    with transaction.atomic():
        request = locked_request(request)
        if not request.express or request.received_at is not None:
            return None
        if request.status not in (ReturnRequest.Status.RETURN_SHIPPED,):
            return None
        entry, created = express_ledger_record(
            request,
            "clawback",
            request.amount,
            actor=actor,
            note="退货包裹未送达，向消费者追回垫付款（R12）",
        )
        if created:
            notify_parties(
                request,
                "return.express_clawback",
                f"极速退款将被追回 {request.number}",
                f"您的退货包裹逾期未送达商家，平台将追回已垫付的 ¥{request.amount}。"
                "如包裹已寄出，请联系承运商或客服。",
                to=("consumer",),
                actor=actor,
            )
    return entry


def follow_express_refund(request, *, actor):
    """After receipt of an express-refunded request, the status follows the refund already made."""
    refund = Refund.objects.filter(request_id=request.pk).first()
    if refund is None or request.status != "received":
        return request
    to = "refunded" if refund.status == Refund.Status.SUCCEEDED else "refunding"
    request = move(request, to=to, actor=actor, reason="express_refund")
    if to == "refunded":
        publish_refunded(request, refund)
    return request
