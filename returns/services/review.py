"""The merchant's answer to a request (approve, reject; standard 6.3.1.1) and the consumer's
withdrawal. An approval books the pickup the consumer chose when asking (R16).
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.errors import Conflict
from aftersales.tenancy.actors import SYSTEM
from orders import services as order_services

from ..models import Refund
from .addresses import return_address_for
from .common import (
    KIND_REFUND_ONLY,
    check_scope,
    locked_request,
    notify_parties,
    publish,
    record,
    request_policy,
    require_consumer,
    require_merchant,
    required_text,
)
from .evidence import evidence_clean, evidence_save
from .moves import move
from .parcel import order_contact, pickup_cancel, pickup_insurance
from .refunds import refund_start


def approve_locked(request, *, actor, reason="", return_address=None):
    """Approve a locked ``requested`` request: refund-only goes straight to the refund; a
    return or exchange gets the return address the consumer ships to (``return_address``, else
    the merchant's default)."""
    address = None
    if request.needs_return_parcel:
        address = return_address_for(request, return_address)
    request = move(request, to="approved", actor=actor, reason=reason)
    if address is not None:
        request.return_address = address
        request.save(update_fields=["return_address"])
        record(
            request,
            "return.address_chosen",
            actor,
            data={"return_address_id": address.pk, "warehouse": address.warehouse},
        )
    publish("return.approved", request, reason=reason)
    if request.kind == KIND_REFUND_ONLY:
        request = move(request, to="refunding", actor=actor, reason=reason)
        refund_start(request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT)
        facts = {"variant": "refund_only"}
    else:
        if request.pickup_slot_start and request.pickup_id is None:
            _pickup_from_request(request, actor)
        facts = {
            "days": request_policy(request, "returns.close_unshipped_days").value,
            "address": address.full_text if address is not None else "",
            "shipping_explanation": request.shipping_explanation,
        }
    notify_parties(request, "return.approved", actor=actor, **facts)
    return request


def _pickup_from_request(request, actor):
    """Book the pickup slot the consumer chose when asking (R16), now that the request is
    approved; a slot already past or refused is left for the consumer to book again."""
    if request.pickup_slot_start <= clock.now():
        record(request, "return.pickup_slot_expired", actor)
        return None
    booking = order_services.pickup_book(
        request_id=f"rr-{request.pk}-pickup-1",
        slot_start=request.pickup_slot_start,
        slot_end=request.pickup_slot_end,
        contact=order_contact(request.order),
        actor=SYSTEM,
        merchant=request.merchant,
        subject=request,
        **pickup_insurance(request),
    )
    request.pickup = booking
    request.save(update_fields=["pickup"])
    record(request, "return.pickup_booked", actor, data={"pickup_id": booking.pk})
    publish("return.pickup_booked", request, pickup_id=booking.pk)
    return booking


def return_request_approve(*, request, actor, note="", return_address=None):
    """The merchant approves a request (standard 6.3.1.1). A refund-only request is refunded at
    once; the others wait for the goods (R14 closes them after 7 days unshipped), sent to
    ``return_address`` (one of the merchant's active addresses; default: its default address;
    another merchant's is ``return_address_invalid``). Answering a request that is not
    ``requested`` any more is ``invalid_status_transition`` (409)."""
    with transaction.atomic():
        request = locked_request(request)
        require_merchant(actor, request)
        request = approve_locked(request, actor=actor, reason=note, return_address=return_address)
        check_scope(request, actor)
    return request


def return_request_reject(*, request, actor, reason, evidence=()):
    """The merchant rejects a request, with a reason (required) and optional evidence. The
    consumer may escalate to platform arbitration (R19)."""
    reason = required_text(reason, "reason", _("拒绝需要说明理由。"))
    items = evidence_clean(evidence, stage="reject")
    with transaction.atomic():
        request = locked_request(request)
        require_merchant(actor, request)
        request = move(request, to="rejected", actor=actor, reason=reason)
        evidence_save(request, items, actor=actor, stage="reject")
        publish("return.rejected", request, reason=reason)
        notify_parties(request, "return.rejected", to=("consumer",), actor=actor, reason=reason)
        check_scope(request, actor)
    return request


def return_request_cancel(*, request, actor, reason=""):
    """The consumer withdraws a request before the goods ship back (or drops a rejected or
    disputed one instead of escalating). Its units are free again (R15)."""
    with transaction.atomic():
        request = locked_request(request)
        require_consumer(actor, request)
        if not request.can_cancel():
            raise Conflict(
                _("当前状态不能撤销申请。"),
                code="return_not_cancellable",
                fields={"status": request.status},
            )
        request = move(request, to="cancelled", actor=actor, reason=reason or "consumer_cancelled")
        pickup_cancel(request, actor)
        publish("return.cancelled", request, reason=reason)
        notify_parties(request, "return.cancelled", to=("merchant",), actor=actor)
        check_scope(request, actor)
    return request
