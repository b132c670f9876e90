"""Deadlines of return requests (through ``aftersales.deadlines.engine``; RULES.md R6, R12–R14).

- ``returns.auto_approve`` (R13): a request the merchant has not answered is approved
  ``returns.auto_approve_hours`` (48 h) after it was made.
- ``returns.close_unshipped`` (R14): an approved return the consumer has not shipped back closes
  ``returns.close_unshipped_days`` (7) days after approval, window rule in Shanghai; the
  consumer is reminded ``returns.close_reminder_hours`` (24 h) before
  (``returns.close_unshipped.reminder``).
- ``returns.refund_after_receipt`` (R6): 24:00 Shanghai of day ``returns.refund_after_receipt_days``
  (7, law maximum) after receipt the platform refunds, unless a dispute or arbitration is open.
  Scheduled by the receipt (``services.receipt.mark_received``) for refund kinds only.
- ``returns.receipt_confirm`` (R20): the merchant confirms receipt of a parcel shipped back by
  24:00 Shanghai of day ``returns.receipt_confirm_days`` (10) after the ship-back, however it
  was shipped (an untracked carrier included); each moving or delivery scan keeps it open until
  at least 3 days after that scan. At the end the platform takes the goods as received and
  refunds (not after an express refund: R12 settles that parcel). Scheduled on entering
  ``return_shipped``.
- ``returns.arbitration_answer`` (R21): the merchant answers an arbitration by 24:00 Shanghai
  of day ``returns.arbitration_answer_days`` (3) after the escalation; cancelled by the answer.
  At the end both parties are told the platform decides now (it may not decide before).
  Scheduled by the escalation (``services.arbitration.return_escalate``).
- ``returns.express_clawback`` (R12): ``returns.express_clawback_days`` (15) days after the first
  scan of an express-refunded parcel that has not arrived, the advance is clawed back from the
  consumer. Scheduled by the express refund.
- ``returns.express_receipt_settle`` (R12): for an express refund the platform already paid, in
  place of R6 — the same days after the carrier's delivery scan, the merchant not having
  inspected, the goods count as intact, the advance is recovered from the merchant and the case
  completes (``services.express.express_receipt_settle``).

Each handler locks its request and acts only if it is still in the state the deadline is about;
the status move records the timeline event, the service publishes the domain event (webhook)
and notifies; the sweep adds ``deadline.fired`` to the timeline and the outbox.
"""

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from aftersales.deadlines.engine import Cancels, Schedules, deadline_status_rules
from aftersales.deadlines.registry import deadline_register
from aftersales.tenancy.actors import SYSTEM

from . import rules
from .citations import cited
from .models import ReturnRequest
from .services import (
    arbitration_answer_window_end,
    express_clawback,
    express_receipt_settle,
    request_policy,
    return_auto_approve,
    return_close_reminder,
    return_close_unshipped,
    return_receipt_timeout,
    return_refund_after_receipt,
)
from .services.arbitration import ANSWER_DUE
from .services.express import EXPRESS_RECEIPT_SETTLE
from .services.receipt import RECEIPT_CONFIRM, receipt_confirm_due

AUTO_APPROVE = "returns.auto_approve"
CLOSE_UNSHIPPED = "returns.close_unshipped"
REFUND_AFTER_RECEIPT = "returns.refund_after_receipt"
EXPRESS_CLAWBACK = "returns.express_clawback"
KINDS = (
    AUTO_APPROVE,
    CLOSE_UNSHIPPED,
    REFUND_AFTER_RECEIPT,
    EXPRESS_CLAWBACK,
    RECEIPT_CONFIRM,
    ANSWER_DUE,
    EXPRESS_RECEIPT_SETTLE,
)


def _policy(request, key):
    return request_policy(request, key)


def auto_approve_due(request):
    """R13: ``requested_at`` + the policy hours."""
    ref = _policy(request, "returns.auto_approve_hours")
    return rules.auto_approve_due(request.requested_at, int(ref.value)), ref


def close_unshipped_due(request):
    """R14: 24:00 Shanghai of day N after approval."""
    ref = _policy(request, "returns.close_unshipped_days")
    return rules.close_unshipped_due(request.approved_at, int(ref.value)), ref


def close_reminders(request):
    """R14: one reminder ``returns.close_reminder_hours`` before the close."""
    hours = int(_policy(request, "returns.close_reminder_hours").value)
    return [timedelta(hours=hours)] if hours > 0 else []


_END = [
    Cancels(AUTO_APPROVE),
    Cancels(CLOSE_UNSHIPPED),
    Cancels(REFUND_AFTER_RECEIPT),
    Cancels(EXPRESS_RECEIPT_SETTLE),
]
_RECEIVED_OR_ENDED = Cancels(RECEIPT_CONFIRM)

deadline_status_rules(
    ReturnRequest,
    {
        "requested": [Schedules(AUTO_APPROVE, due=auto_approve_due)],
        "approved": [
            Cancels(AUTO_APPROVE),
            Schedules(CLOSE_UNSHIPPED, due=close_unshipped_due, reminders=close_reminders),
        ],
        "rejected": [Cancels(AUTO_APPROVE)],
        "return_shipped": [
            Cancels(CLOSE_UNSHIPPED),
            Schedules(RECEIPT_CONFIRM, due=receipt_confirm_due),
        ],
        # the parcel arrived: an express refund is no longer clawed back (R12)
        "received": [_RECEIVED_OR_ENDED, Cancels(EXPRESS_CLAWBACK)],
        "disputed": [
            Cancels(REFUND_AFTER_RECEIPT),
            Cancels(EXPRESS_RECEIPT_SETTLE),
            _RECEIVED_OR_ENDED,
        ],
        "arbitration": [Cancels(REFUND_AFTER_RECEIPT), Cancels(EXPRESS_RECEIPT_SETTLE)],
        "refunding": _END,
        "refunded": [*_END, Cancels(EXPRESS_CLAWBACK)],
        "exchange_shipped": _END,
        "completed": [*_END, Cancels(EXPRESS_CLAWBACK)],
        "closed": [*_END, _RECEIVED_OR_ENDED, Cancels(ANSWER_DUE)],
        "cancelled": [*_END, Cancels(EXPRESS_CLAWBACK)],
    },
)


def _request(deadline):
    return ReturnRequest.objects.get(pk=deadline.subject_id)


def _result(request, action):
    if request is None:
        return {"skipped": True}
    return {"action": action, "status": getattr(request, "status", None)}


def on_auto_approve(deadline):
    return _result(return_auto_approve(request=_request(deadline), actor=SYSTEM), "approved")


def on_close_unshipped(deadline):
    return _result(return_close_unshipped(request=_request(deadline), actor=SYSTEM), "closed")


def on_close_reminder(deadline):
    return _result(return_close_reminder(request=_request(deadline), actor=SYSTEM), "reminded")


def on_refund_after_receipt(deadline):
    request = return_refund_after_receipt(request=_request(deadline), actor=SYSTEM)
    return _result(request, "refunded")


def on_receipt_confirm(deadline):
    return _result(return_receipt_timeout(request=_request(deadline), actor=SYSTEM), "received")


def on_arbitration_answer(deadline):
    arbitration = arbitration_answer_window_end(request=_request(deadline), actor=SYSTEM)
    return {"skipped": True} if arbitration is None else {"action": "answer_overdue"}


def on_express_receipt_settle(deadline):
    request = express_receipt_settle(request=_request(deadline), actor=SYSTEM)
    return _result(request, "express_settled")


def on_express_clawback(deadline):
    entry = express_clawback(request=_request(deadline), actor=SYSTEM)
    if entry is None:
        return {"skipped": True}
    return {"action": "clawback", "ledger_entry_id": entry.pk, "amount": str(entry.amount)}


deadline_register(
    AUTO_APPROVE,
    on_auto_approve,
    cited(_("商家超时未处理，系统自动同意售后申请（%(basis)s）"), "R13"),
)
deadline_register(
    CLOSE_UNSHIPPED,
    on_close_unshipped,
    cited(_("买家超时未寄回商品，售后申请自动关闭（%(basis)s）"), "R14"),
)
deadline_register(
    CLOSE_UNSHIPPED + ".reminder",
    on_close_reminder,
    cited(_("提醒买家尽快寄回商品，否则申请将关闭（%(basis)s）"), "R14"),
)
deadline_register(
    REFUND_AFTER_RECEIPT,
    on_refund_after_receipt,
    cited(_("商家收货后逾期未退款，平台自动退款（有争议或仲裁时除外，%(basis)s）"), "R6"),
)
deadline_register(
    RECEIPT_CONFIRM,
    on_receipt_confirm,
    cited(_("商家逾期未确认收到寄回的商品，平台视为已收货并退款（%(basis)s）"), "R20"),
)
deadline_register(
    ANSWER_DUE,
    on_arbitration_answer,
    cited(_("商家仲裁答辩期满，平台可根据现有证据裁决（%(basis)s）"), "R21"),
)
deadline_register(
    EXPRESS_CLAWBACK,
    on_express_clawback,
    cited(_("极速退款的退货包裹逾期未送达，向消费者追回垫付款（%(basis)s）"), "R12"),
)
deadline_register(
    EXPRESS_RECEIPT_SETTLE,
    on_express_receipt_settle,
    cited(
        _("商家签收后逾期未验货：视为完好，从商家结算款扣回极速退款垫付款，售后完成（%(basis)s）"),
        "R12",
    ),
)
