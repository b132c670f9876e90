"""The parcel back (standard 6.3.2.3): the consumer ships the goods themselves or books a carrier
pickup (R16); the carrier's scans are recorded, the first may trigger the express refund (R12)
and ``signed`` makes the request received.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput
from aftersales.money import units_share
from aftersales.tenancy.actors import SYSTEM
from orders import services as order_services
from orders.models import PickupBooking

from .. import rules
from ..adapters import return_parcel_registered
from ..models import ReturnRequest
from . import payments
from .common import (
    check_scope,
    iso,
    locked_request,
    notify_parties,
    publish,
    record,
    require_consumer,
    require_merchant,
)
from .express import express_refund_maybe
from .insurance import insurance_claim_open
from .moves import move
from .receipt import mark_received, receipt_confirm_follow_scan


def pickup_cancel(request, actor):
    """Cancel the request's pickup booking if it is still requested or confirmed."""
    if request.pickup_id is None:
        return
    booking = PickupBooking.objects.select_for_update().get(pk=request.pickup_id)
    if booking.status in (PickupBooking.Status.REQUESTED, PickupBooking.Status.CONFIRMED):
        booking.status = PickupBooking.Status.CANCELLED
        booking.save(update_fields=["status"])
        timeline_record(
            subject=booking, verb="pickup.cancelled", actor=actor, to_status="cancelled"
        )


def tracking_clean(carrier, tracking_number):
    """Carrier and tracking number stripped and bounded; both are required."""
    carrier = (carrier or "").strip()
    tracking_number = (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise InvalidInput(
            _("需要承运商和运单号。"),
            code="tracking_required",
            fields={"carrier": "required", "tracking_number": "required"},
        )
    return carrier[:40], tracking_number[:64]


def _shipped_back(request, *, actor, carrier, tracking_number, via):
    request.return_carrier, request.return_tracking_number = carrier, tracking_number
    ReturnRequest.objects.filter(pk=request.pk).update(
        return_carrier=carrier, return_tracking_number=tracking_number
    )
    request = move(
        request,
        to="return_shipped",
        actor=actor,
        data={"carrier": carrier, "tracking_number": tracking_number, "via": via},
    )
    publish(
        "return.shipped_back", request, carrier=carrier, tracking_number=tracking_number, via=via
    )
    insurance_claim_open(request, actor=actor)
    notify_parties(
        request,
        "return.shipped_back",
        to=("merchant",),
        actor=actor,
        carrier=carrier,
        tracking_number=tracking_number,
        insured=request.insured,
    )
    request_id = request.pk
    transaction.on_commit(lambda: return_parcel_registered(request_id), robust=True)
    return request


def return_ship_back(*, request, actor, carrier, tracking_number, shipping_fee=None):
    """The consumer ships the goods back themselves and gives the carrier and tracking number
    (standard 6.3.2.3), and the fee they paid (``shipping_fee``, reimbursed with the refund when
    the merchant pays the return shipping, R9; capped by ``returns.shipping_reimbursement_max``).
    Stops the R14 close. The carrier's scans arrive through ``return_parcel_scan_record``; the
    first one may trigger the express refund (R12)."""
    carrier, tracking_number = tracking_clean(carrier, tracking_number)
    fee = payments.shipping_fee_clean(shipping_fee)
    with transaction.atomic():
        request = locked_request(request)
        require_consumer(actor, request)
        if not request.needs_return_parcel:
            raise Conflict(_("仅退款申请无需寄回商品。"), code="no_return_parcel")
        taken = ReturnRequest.objects.filter(
            return_carrier=carrier, return_tracking_number=tracking_number
        ).exclude(pk=request.pk)
        if taken.exists():
            raise Conflict(
                _("运单号已被其他售后单使用。"),
                code="tracking_number_taken",
                fields={"tracking_number": tracking_number},
            )
        payments.shipping_fee_declare(request, fee, actor)
        request = _shipped_back(
            request, actor=actor, carrier=carrier, tracking_number=tracking_number, via="self"
        )
        check_scope(request, actor)
    return request


def pickup_insurance(request):
    """R17: a high-value return's pickup is insured (保价) for what the returned units were paid
    (their R15 part of the line); ``{"insured", "declared_value"}`` for ``pickup_book``."""
    if not request.insured:
        return {"insured": False, "declared_value": None}
    line = request.line
    value = units_share(line.paid_amount, line.quantity, request.quantity)
    return {"insured": True, "declared_value": value}


def order_contact(order):
    """The order's shipping address as a pickup contact."""
    return {
        "name": order.ship_name,
        "phone": order.ship_phone,
        "province": order.ship_province,
        "city": order.ship_city,
        "district": order.ship_district,
        "street": f"{order.ship_street}{order.ship_unit}",
    }


def return_pickup_book(*, request, actor, slot_start, slot_end, contact=None, shipping_fee=None):
    """Book a carrier pickup (上门取件) for the goods of an approved request (RULES.md R16,
    standard 6.3.2.3), through ``orders.services.pickup_book``. ``contact`` defaults to the
    order's shipping address. The carrier confirms later with a tracking number (the request
    then counts as shipped back) or refuses the slot (the consumer books another). The fee
    follows R8/R9 (``shipping_payer``); ``shipping_fee`` is the pickup's fee, reimbursed with the
    refund when the merchant pays (R9). A high-value return's pickup is insured for the value of
    its units (R17, ``pickup_insurance``)."""
    fee = payments.shipping_fee_clean(shipping_fee)
    with transaction.atomic():
        request = locked_request(request)
        require_consumer(actor, request)
        if not request.needs_return_parcel:
            raise Conflict(_("仅退款申请无需寄回商品。"), code="no_return_parcel")
        if request.status != ReturnRequest.Status.APPROVED:
            raise Conflict(
                _("商家同意后才能预约取件。"),
                code="invalid_status_transition",
                fields={"status": request.status, "to": "return_shipped"},
            )
        bookings = PickupBooking.objects.filter(
            subject_type="returns.returnrequest", subject_id=request.pk
        )
        if bookings.filter(status__in=["requested", "confirmed"]).exists():
            raise Conflict(_("已有进行中的上门取件预约。"), code="pickup_already_booked")
        booking = order_services.pickup_book(
            request_id=f"rr-{request.pk}-pickup-{bookings.count() + 1}",
            slot_start=slot_start,
            slot_end=slot_end,
            contact=contact or order_contact(request.order),
            actor=SYSTEM,
            merchant=request.merchant,
            subject=request,
            **pickup_insurance(request),
        )
        request.pickup = booking
        request.save(update_fields=["pickup"])
        payments.shipping_fee_declare(request, fee, actor)
        record(
            request,
            "return.pickup_booked",
            actor,
            data={
                "pickup_id": booking.pk,
                "slot_start": iso(slot_start),
                "slot_end": iso(slot_end),
                "shipping_payer": request.shipping_payer,
                "insured": booking.insured,
                "declared_value": str(booking.declared_value) if booking.insured else None,
            },
        )
        publish(
            "return.pickup_booked",
            request,
            pickup_id=booking.pk,
            slot_start=iso(slot_start),
            slot_end=iso(slot_end),
        )
        check_scope(request, actor)
    return booking


def return_pickup_settled(*, booking, actor=SYSTEM):
    """The carrier confirmed or refused a pickup of a return (``pickup.confirmed`` /
    ``pickup.failed``): a confirmation ships the goods back with the carrier's tracking
    number; a refusal asks the consumer to book another slot."""
    with transaction.atomic():
        request = ReturnRequest.objects.filter(pk=booking.subject_id).first()
        if request is None:
            return None
        request = locked_request(request)
        if request.pickup_id != booking.pk:
            return request
        if booking.status == PickupBooking.Status.CONFIRMED:
            if request.status == ReturnRequest.Status.APPROVED:
                request = _shipped_back(
                    request,
                    actor=actor,
                    carrier=booking.carrier,
                    tracking_number=booking.tracking_number,
                    via="pickup",
                )
        elif booking.status == PickupBooking.Status.FAILED:
            record(request, "return.pickup_failed", actor, reason=booking.failure_reason)
            notify_parties(
                request,
                "return.pickup_failed",
                to=("consumer",),
                actor=actor,
                reason=booking.failure_reason,
            )
    return request


SCAN_KINDS = ("picked_up", "in_transit", "out_for_delivery", "signed", "exception")


def return_parcel_scan_record(
    *, request, kind, occurred_at, actor, location="", description="", external_id=""
):
    """A carrier scan of the return parcel (pushed by the carrier or an integrator).

    The first scan is recorded (``return_first_scan_at``) and, when the consumer's credit score
    reaches the policy threshold, triggers the express refund: the platform pays at once (R12,
    ``Refund.source = platform_express`` and a ledger ``advance``). A ``signed`` scan means the
    merchant has the goods: the request is received (awaiting inspection) and the R6 refund
    deadline starts. A moving or delivery scan keeps the merchant's receipt window (R20) open
    until at least 3 days after it. Scans of a parcel in another state are only recorded."""
    if kind not in SCAN_KINDS:
        raise InvalidInput(
            _("轨迹节点无效。"), code="tracking_kind_invalid", fields={"kind": SCAN_KINDS}
        )
    if occurred_at is None or occurred_at.tzinfo is None:
        raise InvalidInput(
            _("发生时间必须带时区。"), code="occurred_at_invalid", fields={"occurred_at": "aware"}
        )
    if occurred_at > clock.now() + order_services.FUTURE_TOLERANCE:
        raise InvalidInput(
            _("发生时间不能在未来。"),
            code="occurred_at_in_future",
            fields={"occurred_at": "future"},
        )
    with transaction.atomic():
        request = locked_request(request)
        require_merchant(actor, request)
        if not request.return_tracking_number:
            raise Conflict(_("该售后单还没有退货运单。"), code="no_return_parcel")
        if (
            external_id
            and TimelineEvent.objects.filter(
                subject_type="returns.returnrequest",
                subject_id=request.pk,
                verb="return.parcel_scanned",
                data__external_id=external_id,
            ).exists()
        ):
            return request  # a repeated callback changes nothing
        record(
            request,
            "return.parcel_scanned",
            actor,
            data={
                "kind": kind,
                "occurred_at": iso(occurred_at),
                "location": location,
                "description": description,
                "external_id": external_id,
            },
        )
        first = request.return_first_scan_at is None and kind != "exception"
        if first:
            request.return_first_scan_at = occurred_at
            request.save(update_fields=["return_first_scan_at"])
        publish(
            "return.parcel_scanned",
            request,
            scan_kind=kind,
            occurred_at=iso(occurred_at),
            first_scan=first,
        )
        if first and request.status == ReturnRequest.Status.RETURN_SHIPPED:
            express_refund_maybe(request, actor=actor)
        if (
            kind in rules.MOVING_SCAN_KINDS
            and request.status == ReturnRequest.Status.RETURN_SHIPPED
        ):
            receipt_confirm_follow_scan(request, scan_at=occurred_at, actor=actor)
        if kind == "signed" and request.return_signed_at is None:
            request.return_signed_at = occurred_at
            request.save(update_fields=["return_signed_at"])
            if request.status == ReturnRequest.Status.RETURN_SHIPPED:
                request = mark_received(
                    request, actor=actor, note=_("承运商签收"), occurred_at=occurred_at
                )
    return request
