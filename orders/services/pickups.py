"""Carrier pickups (RULES.md R16, standard 6.3.2.3): booking a slot, the carrier's confirmation
or refusal.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import InvalidInput, NotFound
from aftersales.tenancy.actors import SYSTEM

from ..models import PickupBooking
from .common import carrier_adapter, clean_money, iso, require_merchant_write


def pickup_book(
    *,
    request_id,
    slot_start,
    slot_end,
    contact,
    actor,
    merchant=None,
    subject=None,
    insured=False,
    declared_value=None,
):
    """Book a carrier pickup for a time slot (RULES.md R16, standard 6.3.2.3).

    Idempotent by ``request_id``. The carrier confirms asynchronously (``pickup_confirm``) or
    refuses the slot (``pickup_fail``). ``contact``: name, phone, province, city, district,
    street (encrypted at rest, D1). ``insured`` with ``declared_value`` (yuan): the parcel is
    insured for that value (保价, R17; high-value lines); the carrier gets both
    (``Carrier.pickup_request``).
    """
    if merchant is not None:
        require_merchant_write(actor, merchant.pk)
    elif not actor.platform_write and not actor.is_consumer:
        raise NotFound()
    if slot_end <= slot_start:
        raise InvalidInput(
            _("预约结束时间必须晚于开始时间。"),
            code="pickup_slot_invalid",
            fields={"slot_end": "after slot_start"},
        )
    if slot_start < clock.now():
        raise InvalidInput(
            _("预约时间已过。"), code="pickup_slot_in_past", fields={"slot_start": "past"}
        )
    if insured and (declared_value is None or clean_money(declared_value, "declared_value") <= 0):
        raise InvalidInput(
            _("保价取件需要声明价值。"),
            code="declared_value_required",
            fields={"declared_value": "required"},
        )
    carrier = carrier_adapter()
    with transaction.atomic():
        existing = PickupBooking.objects.filter(request_id=request_id).first()
        if existing is not None:
            return existing
        booking = PickupBooking.objects.create(
            merchant=merchant,
            request_id=request_id,
            carrier=carrier.code,
            slot_start=slot_start,
            slot_end=slot_end,
            subject_type=subject._meta.label_lower if subject is not None else "",
            subject_id=subject.pk if subject is not None else None,
            contact_name=contact.get("name", ""),
            contact_phone=contact.get("phone", ""),
            province=contact.get("province", ""),
            city=contact.get("city", ""),
            district=contact.get("district", ""),
            street=contact.get("street", ""),
            requested_at=clock.now(),
            insured=bool(insured),
            declared_value=clean_money(declared_value, "declared_value") if insured else None,
        )
        timeline_record(
            subject=booking,
            verb="pickup.requested",
            actor=actor,
            to_status=booking.status,
            data={
                "slot_start": iso(slot_start),
                "slot_end": iso(slot_end),
                "insured": booking.insured,
                "declared_value": str(booking.declared_value) if booking.insured else None,
            },
        )
        booking_id = booking.pk
        transaction.on_commit(lambda: carrier.book_pickup(booking_id), robust=True)
    return booking


def _pickup_settle(booking, *, status, actor, tracking_number="", reason=""):
    with transaction.atomic():
        booking = PickupBooking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != PickupBooking.Status.REQUESTED:
            return booking
        booking.status = status
        booking.tracking_number = tracking_number
        booking.failure_reason = reason
        if status == PickupBooking.Status.CONFIRMED:
            booking.confirmed_at = clock.now()
        booking.save()
        timeline_record(
            subject=booking,
            verb=f"pickup.{status}",
            actor=actor,
            from_status="requested",
            to_status=status,
            reason=reason,
        )
        event_publish(
            f"pickup.{status}",
            subject=booking,
            payload={
                "pickup_id": booking.pk,
                "request_id": booking.request_id,
                "subject_type": booking.subject_type,
                "subject_id": booking.subject_id,
                "carrier": booking.carrier,
                "tracking_number": tracking_number,
                "failure_reason": reason,
                "slot_start": iso(booking.slot_start),
            },
        )
    return booking


def pickup_confirm(*, booking, tracking_number, actor=SYSTEM):
    """The carrier confirmed the pickup slot and issued a tracking number."""
    return _pickup_settle(
        booking, status=PickupBooking.Status.CONFIRMED, actor=actor, tracking_number=tracking_number
    )


def pickup_fail(*, booking, reason, actor=SYSTEM):
    """The carrier could not take the slot; the requester books another."""
    return _pickup_settle(booking, status=PickupBooking.Status.FAILED, actor=actor, reason=reason)
