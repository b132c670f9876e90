"""Express refund (R12): for a consumer with enough credit the platform pays at the first scan of
the return parcel, then recovers its advance from the merchant when the goods arrive, or claws
it back from the consumer when they never do. Every step is a row of the express-refund ledger
(``ExpressRefundLedgerEntry``).

The recovery and the clawback are money moved through the payment gateway, asynchronously like
refunds: the recovery a ``deduction`` from the merchant's settlement, the clawback a ``charge``
of the consumer on the channel of the order's card (else balance) tender. Each entry has its
own ``settlement_status`` (pending → succeeded / failed), settled by the gateway's
``deduction.*`` / ``charge.*`` / ``payout.*`` events (``express_transfer_settled``); a failed one
is asked again by the beat (``express_settlements_retry_failed``) with a new request id. A
clawback already charged when the parcel arrives after all is paid back (a ``payout`` of the
charge). Receipt — the merchant's inspection, the merchant's "确认退款", or the end of the
inspection window after the carrier's delivery scan — recovers the advance and completes the
case (``express_receipt_settle``).

Domain events besides the ledger's: ``return.express_settlement_started``,
``return.express_settled``, ``return.express_settlement_failed``.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.deadlines.engine import deadline_cancel, deadline_schedule
from aftersales.errors import Conflict
from aftersales.tenancy.actors import SYSTEM
from orders.services import (
    gateway_charge_request,
    gateway_deduction_request,
    gateway_payout_request,
)

from .. import rules
from ..models import Arbitration, ExpressRefundLedgerEntry, Refund, ReturnRequest
from .common import actor_user, locked_request, notify_parties, publish, record, request_policy
from .moves import move
from .payments import payout_tender
from .refunds import publish_refunded, refund_start

Entry = ExpressRefundLedgerEntry
Settlement = ExpressRefundLedgerEntry.SettlementStatus
MAX_SETTLEMENT_RETRIES = 3
EXPRESS_RECEIPT_SETTLE = "returns.express_receipt_settle"
EXPRESS_SETTLE_STATUSES = (ReturnRequest.Status.RECEIVED, ReturnRequest.Status.DISPUTED)


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
        if kind in ("recovery", "clawback"):
            entry.attempts = 1
            _settlement_submit(entry, request, actor)
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
        request, "advance", request.amount, actor=actor, note=_("极速退款：平台垫付（R12）")
    )
    due, ref = express_clawback_due(request)
    deadline_schedule(
        subject=request, kind="returns.express_clawback", due_at=due, actor=actor, policy=ref
    )
    notify_parties(request, "return.express_advanced", actor=actor)
    return refund


def express_on_receipt(request, *, actor):
    """The goods arrived: the platform recovers its advance from the merchant, and a clawback
    from the consumer (the parcel was late) is cancelled — paid back if it was charged."""
    if not request.express:
        return
    deadline_cancel(
        subject=request, kind="returns.express_clawback", actor=actor, reason="received"
    )
    deadline_cancel(subject=request, kind=EXPRESS_RECEIPT_SETTLE, actor=actor, reason="received")
    clawback = Entry.objects.select_for_update().filter(request=request, kind="clawback").first()
    if clawback is not None:
        cancelled, created = express_ledger_record(
            request,
            "clawback_cancelled",
            request.amount,
            actor=actor,
            note=_("包裹已送达，撤销追回"),
        )
        if created:
            _clawback_cancel(clawback, cancelled, request, actor)
    express_ledger_record(
        request,
        "recovery",
        request.amount,
        actor=actor,
        note=_("商家已收货，向商家追偿垫付款（R12）"),
    )


def express_receipt_settle(*, request, actor, note=""):
    """Receipt of an express-refunded request whose refund the platform already paid: the
    goods count as intact, the advance is recovered from the merchant (R12) and the case
    follows the refund (``refunded``, or ``refunding`` until it settles). Serves the merchant's
    inspection and "确认退款" (also giving up a dispute), and the end of the inspection window
    after the carrier's delivery scan. Refuses ``return_in_arbitration`` while the platform
    arbitrates."""
    with transaction.atomic():
        request = locked_request(request)
        if not request.express or request.status not in EXPRESS_SETTLE_STATUSES:
            return request
        if Arbitration.objects.filter(request_id=request.pk).exclude(status="decided").exists():
            raise Conflict(_("平台仲裁中，由仲裁结果决定。"), code="return_in_arbitration")
        if request.status == ReturnRequest.Status.DISPUTED:
            record(request, "return.dispute_withdrawn", actor, reason=note)
        elif request.inspection_intact is None:
            request.inspection_intact = True
            request.inspection_note = note
            request.save(update_fields=["inspection_intact", "inspection_note"])
            record(request, "return.inspected", actor, reason=note, data={"intact": True})
        express_on_receipt(request, actor=actor)
        return follow_express_refund(request, actor=actor)


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
            note=_("退货包裹未送达，向消费者追回垫付款（R12）"),
        )
        if created:
            notify_parties(request, "return.express_clawback", to=("consumer",), actor=actor)
    return entry


def follow_express_refund(request, *, actor):
    """After receipt of an express-refunded request (or the merchant giving up a dispute), the
    status follows the refund already made."""
    refund = Refund.objects.filter(request_id=request.pk).first()
    if refund is None or request.status not in EXPRESS_SETTLE_STATUSES:
        return request
    to = "refunded" if refund.status == Refund.Status.SUCCEEDED else "refunding"
    request = move(request, to=to, actor=actor, reason="express_refund")
    if to == "refunded":
        publish_refunded(request, refund)
    return request


# -- settlement through the payment gateway ------------------------------------------------------


SETTLEMENT_TEXT = {
    "recovery": "从商家结算款扣回极速退款垫付款",  # i18n-exempt: payment gateway memo
    "clawback": "向消费者追回极速退款垫付款",  # i18n-exempt: payment gateway memo
    "clawback_cancelled": "退还已追回的极速退款垫付款",  # i18n-exempt: payment gateway memo
}


def _settlement_submit(entry, request, actor):
    """Ask the gateway for the entry's money (locked request; ``entry.attempts`` is the new
    attempt): a deduction from the merchant's settlement (recovery), a charge of the consumer
    (clawback), or the payout of a clawback charged before the parcel arrived."""
    reason = f"{SETTLEMENT_TEXT[entry.kind]} {request.number}"
    if entry.kind == "recovery":
        transfer = gateway_deduction_request(
            order=request.order,
            amount=entry.amount,
            request_id=entry.request_id_for(),
            actor=SYSTEM,
            reason=reason,
        )
    elif entry.kind == "clawback":
        (tender,) = payout_tender(request)
        transfer = gateway_charge_request(
            order=request.order,
            amount=entry.amount,
            request_id=entry.request_id_for(),
            actor=SYSTEM,
            method=tender.kind if tender is not None else "balance",
            reason=reason,
        )
    else:
        charged = Entry.objects.get(request=request, kind="clawback").transfer
        transfer = gateway_payout_request(
            order=request.order,
            amount=entry.amount,
            request_id=entry.request_id_for(),
            actor=SYSTEM,
            refund_of=charged,
            reason=reason,
        )
    entry.transfer = transfer
    entry.settlement_status = Settlement.PENDING
    entry.failure_reason = ""
    entry.save(update_fields=["transfer", "settlement_status", "failure_reason", "attempts"])
    data = {
        "amount": str(entry.amount),
        "attempt": entry.attempts,
        "direction": transfer.direction,
        "request_id": transfer.request_id,
    }
    record(request, f"return.express_{entry.kind}_started", actor, data=data)
    publish(
        "return.express_settlement_started",
        request,
        ledger_entry_id=entry.pk,
        ledger_kind=entry.kind,
        ledger_amount=str(entry.amount),
        attempt=entry.attempts,
    )


def _clawback_cancel(clawback, cancelled, request, actor):
    """The parcel arrived after the clawback: nothing more is charged; what was charged goes
    back (now, or when a pending charge succeeds)."""
    if clawback.settlement_status == Settlement.SUCCEEDED:
        cancelled.attempts = 1
        _settlement_submit(cancelled, request, actor)
    elif clawback.settlement_status in (Settlement.FAILED, Settlement.NONE):
        clawback.settlement_status = Settlement.CANCELLED
        clawback.save(update_fields=["settlement_status"])
    # pending: ``_settled`` pays it back if the charge succeeds, cancels it if it fails


# Who is told when a ledger entry settles (templates ``return.express_settled`` and
# ``return.express_settlement_failed``, by ``ledger_kind``).
NOTICE_TO = {
    "recovery": ("merchant",),
    "clawback": ("consumer",),
    "clawback_cancelled": ("consumer",),
}


def _settled(entry, transfer, request, actor):
    outcome = transfer.status
    entry.settlement_status = outcome
    entry.failure_reason = transfer.failure_reason
    entry.settled_at = transfer.settled_at
    entry.save(update_fields=["settlement_status", "failure_reason", "settled_at"])
    verb = "return.express_settled"
    if outcome != "succeeded":
        verb = "return.express_settlement_failed"
    record(
        request,
        f"return.express_{entry.kind}_{outcome}",
        actor,
        reason=transfer.failure_reason,
        data={"amount": str(entry.amount), "attempt": entry.attempts},
    )
    publish(
        verb,
        request,
        ledger_entry_id=entry.pk,
        ledger_kind=entry.kind,
        ledger_amount=str(entry.amount),
        failure_reason=transfer.failure_reason,
    )
    notify_parties(
        request,
        verb,
        to=NOTICE_TO[entry.kind],
        actor=actor,
        ledger_kind=entry.kind,
        amount=entry.amount,
        reason=transfer.failure_reason,
    )
    if entry.kind == "clawback":
        cancelled = Entry.objects.filter(request=request, kind="clawback_cancelled").first()
        if cancelled is not None and cancelled.transfer_id is None:
            if outcome == "succeeded":
                cancelled.attempts = 1
                _settlement_submit(cancelled, request, actor)
            else:
                entry.settlement_status = Settlement.CANCELLED
                entry.save(update_fields=["settlement_status"])
    return entry


def express_transfer_settled(*, transfer, actor=SYSTEM):
    """A deduction, charge or payout of an express-refund ledger entry settled (``deduction.*``,
    ``charge.*``, ``payout.*`` of ``orders``): the entry follows. Repeats change nothing."""
    entry = Entry.objects.filter(transfer_id=transfer.pk).first()
    if entry is None:
        return None
    request = locked_request(ReturnRequest(pk=entry.request_id))
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    if entry.transfer_id != transfer.pk or entry.settlement_status != Settlement.PENDING:
        return entry
    return _settled(entry, transfer, request, actor)


def express_settlements_retry_failed(*, actor=SYSTEM, max_retries=MAX_SETTLEMENT_RETRIES):
    """Beat: ask the gateway again for failed recoveries, clawbacks and clawback give-backs,
    each with a new request id, up to ``max_retries`` attempts. Returns how many."""
    rows = list(
        Entry.objects.filter(
            settlement_status=Settlement.FAILED, attempts__lt=max_retries
        ).values_list("pk", "request_id")
    )
    done = 0
    for entry_id, request_id in rows:
        with transaction.atomic():
            request = locked_request(ReturnRequest(pk=request_id))
            entry = Entry.objects.select_for_update().get(pk=entry_id)
            if entry.settlement_status != Settlement.FAILED:
                continue
            entry.attempts += 1
            _settlement_submit(entry, request, actor)
            done += 1
    return done
