"""What happens when a deadline of a request falls due (called by ``returns.deadlines``): R13
auto-approval, R14 close of an unshipped request and its reminder, R6 refund by the platform,
R20 receipt taken as confirmed when the merchant did not confirm in time.
"""

from django.utils.translation import gettext as _

from aftersales.tenancy.actors import SYSTEM

from ..citations import citation
from ..models import Arbitration, Refund, ReturnRequest
from .common import locked_request, notify_parties, publish
from .express import express_receipt_settle, follow_express_refund
from .moves import move
from .parcel import pickup_cancel
from .receipt import mark_received
from .refunds import refund_start
from .review import approve_locked


def return_auto_approve(*, request, actor=SYSTEM):
    """R13: the merchant did not answer in time; the request is approved. Nothing happens if it
    was answered meanwhile."""
    request = locked_request(request)
    if request.status != "requested":
        return None
    return approve_locked(
        request,
        actor=actor,
        reason=_("商家超时未处理，系统自动同意（%(basis)s）") % {"basis": citation("R13")},
    )


def return_close_unshipped(*, request, actor=SYSTEM):
    """R14: the consumer did not ship the goods back in time; the request closes."""
    request = locked_request(request)
    if request.status != "approved" or not request.needs_return_parcel:
        return None
    request = move(
        request,
        to="closed",
        actor=actor,
        reason=_("买家超时未寄回，系统自动关闭（%(basis)s）") % {"basis": citation("R14")},
    )
    pickup_cancel(request, actor)
    publish("return.closed", request, rule="R14")
    notify_parties(request, "return.closed", actor=actor)
    return request


def return_close_reminder(*, request, actor=SYSTEM):
    """R14: remind the consumer 24 h before an unshipped request closes."""
    request = ReturnRequest.objects.select_related("consumer__user").get(pk=request.pk)
    if request.status != "approved":
        return None
    notify_parties(request, "return.close_reminder", to=("consumer",), actor=actor)
    return request


def return_refund_after_receipt(*, request, actor=SYSTEM):
    """R6: the merchant has not refunded within the days after receipt; the platform refunds,
    unless a dispute or arbitration is open."""
    request = locked_request(request)
    if request.status != "received" or request.inspection_intact is False or request.is_exchange:
        return None
    if Arbitration.objects.filter(request_id=request.pk).exclude(status="decided").exists():
        return None
    existing = Refund.objects.filter(request_id=request.pk).first()
    if existing is not None:
        if request.express:
            return express_receipt_settle(request=request, actor=actor)
        return follow_express_refund(request, actor=actor)
    request = move(
        request,
        to="refunding",
        actor=actor,
        reason=_("收货后逾期未退款，平台自动退款（%(basis)s）") % {"basis": citation("R6")},
    )
    refund_start(request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT)
    notify_parties(request, "return.refund_started", actor=actor, variant="automatic")
    return request


def return_receipt_timeout(*, request, actor=SYSTEM):
    """R20: the merchant did not confirm receipt of the parcel shipped back in time; the
    platform takes the goods as received and refunds at once (an exchange waits for the
    replacement). Nothing happens once the request left ``return_shipped``, nor for an express
    refund (R12): the consumer already has the money, and R12 settles the parcel's fate
    (recovery from the merchant on arrival, the clawback if it never arrives)."""
    request = locked_request(request)
    if request.status != ReturnRequest.Status.RETURN_SHIPPED or request.express:
        return None
    reason = _("商家逾期未确认收货，平台视为已收货（%(basis)s）") % {"basis": citation("R20")}
    request = mark_received(request, actor=actor, note=reason)
    publish("return.receipt_timeout", request, rule="R20")
    refunds = not request.is_exchange and request.status == ReturnRequest.Status.RECEIVED
    if refunds:
        request = move(request, to="refunding", actor=actor, reason=reason)
        refund_start(request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT)
    notify_parties(request, "return.receipt_timeout", actor=actor, refunds=refunds)
    return request
