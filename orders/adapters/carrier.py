"""The carrier: pickups booked for a time slot and tracking pushed as the parcel moves.

``Carrier`` is the interface services use: ``book_pickup`` sends a booking (the carrier
confirms later with ``services.pickup_confirm`` or refuses with ``services.pickup_fail``), and
``shipment_registered`` tells the carrier about a new parcel so it pushes tracking events
(``services.tracking_events_push``, deduplicated by the carrier's event id). Services call the
carrier, never the other way round.

``SandboxCarrier`` (code ``SANDBOX``) does both from Celery tasks (``orders.tasks``), which
record its answers through those services:

- a pickup is confirmed ``SANDBOX_ADAPTER_DELAY_SECONDS`` later with a tracking number, except
  a slot starting before 08:00 or from 20:00 (Shanghai) is refused (``no_courier_in_slot``);
- a parcel shipped with carrier ``SANDBOX`` travels: picked up → in transit (origin hub) → in
  transit (destination hub) → out for delivery → signed, one step every
  ``SANDBOX_CARRIER_STEP_SECONDS`` (default 5) of wall time, each event with its own
  ``occurred_at`` and location, then a sign-off (with an electronic signature, which
  high-value lines require). A tracking number ending in ``EX`` stops with an ``exception``
  event at the destination hub.
"""

import hashlib
from abc import ABC, abstractmethod
from datetime import timedelta

from django.conf import settings

from aftersales import clock

from ..models import PickupBooking, Shipment
from . import get_carrier, sandbox_delay, sandbox_send

# Sent by name (``sandbox_send``).
PICKUP_TASK = "orders.sandbox_pickup_confirm"
JOURNEY_TASK = "orders.sandbox_journey_step"


class Carrier(ABC):
    """What the platform needs from a carrier."""

    code = "abstract"

    @abstractmethod
    def book_pickup(self, booking_id):
        """Send the ``PickupBooking`` ``booking_id`` (a time slot) to the carrier; it confirms
        or refuses later (``services.pickup_confirm`` / ``services.pickup_fail``). Sending it
        again must be harmless (the carrier deduplicates by ``request_id``):
        ``resubmit_stale_pickups`` resends bookings whose send was lost."""

    @abstractmethod
    def shipment_registered(self, shipment_id):
        """A parcel was registered; the carrier will push its tracking events."""

    def pickup_request(self, booking):
        """The pickup order the carrier receives for ``booking``: the slot, the pickup address
        (region only; the courier gets the rest through the carrier's own masked channel), and
        the insurance — ``insured`` and the ``declared_value`` in yuan (保价, RULES.md R17)."""
        return {
            "request_id": booking.request_id,
            "slot_start": booking.slot_start.isoformat(),
            "slot_end": booking.slot_end.isoformat(),
            "region": [booking.province, booking.city, booking.district],
            "insured": booking.insured,
            "declared_value": (
                str(booking.declared_value)
                if booking.insured and booking.declared_value is not None
                else None
            ),
        }


class SandboxCarrier(Carrier):
    """A carrier that confirms pickups and moves parcels from Celery tasks."""

    code = "SANDBOX"

    JOURNEY = [
        ("picked_up", "上海市浦东新区揽投部", "快递员已揽收"),  # i18n-exempt: carrier scan text
        ("in_transit", "上海转运中心", "已发往目的地"),  # i18n-exempt: carrier scan text
        ("in_transit", "目的地转运中心", "已到达目的地转运中心"),  # i18n-exempt: carrier scan text
        ("out_for_delivery", "目的地营业部", "快递员正在派送"),  # i18n-exempt: carrier scan text
        ("signed", "目的地营业部", "已签收，签收人：本人"),  # i18n-exempt: carrier scan text
    ]
    EXCEPTION_STEP = 2

    def step_seconds(self):
        return float(getattr(settings, "SANDBOX_CARRIER_STEP_SECONDS", 5))

    # -- pickups --------------------------------------------------------------------------------

    def book_pickup(self, booking_id, *, queue=None):
        sandbox_send(PICKUP_TASK, [booking_id], countdown=sandbox_delay(), queue=queue)

    def pickup_answer(self, booking):
        """The sandbox's answer to a requested ``PickupBooking`` (its ``pickup_request``):
        ``("failed", reason)`` for a slot starting before 08:00 or from 20:00 (Shanghai), or an
        insured pickup without a declared value (``declared_value_required``, R17), else
        ``("confirmed", tracking number)`` — an insured parcel's number starts ``SBXV``; the
        task records it (``services.pickup_fail`` / ``pickup_confirm``)."""
        order = self.pickup_request(booking)
        hour = clock.local(booking.slot_start).hour
        if hour < 8 or hour >= 20:
            return "failed", "no_courier_in_slot"
        if order["insured"] and not order["declared_value"]:
            return "failed", "declared_value_required"
        prefix = "SBXV" if order["insured"] else "SBX"
        return "confirmed", f"{prefix}{booking.pk:010d}"

    # -- tracking -------------------------------------------------------------------------------

    def shipment_registered(self, shipment_id, *, queue=None):
        if Shipment.objects.filter(pk=shipment_id, carrier=self.code).exists():
            self.schedule_step(shipment_id, 0, queue=queue)

    def schedule_step(self, shipment_id, step, *, queue=None):
        sandbox_send(JOURNEY_TASK, [shipment_id, step], countdown=self.step_seconds(), queue=queue)

    def journey_event(self, shipment, step):
        """Event number ``step`` of the parcel's journey, as ``services.tracking_event_record``
        takes it (without the time): a tracking number ending in ``EX`` gets an ``exception``
        at the destination hub. The event id is ``sbx-<shipment>-<step>``, so a repeated task
        changes nothing."""
        kind, location, description = self.JOURNEY[step]
        if shipment.tracking_number.upper().endswith("EX") and step == self.EXCEPTION_STEP:
            kind, description = "exception", "包裹破损，暂停派送"  # i18n-exempt: carrier scan text
        return {
            "kind": kind,
            "location": location,
            "description": description,
            "external_id": f"sbx-{shipment.pk}-{step}",
        }

    def sign_off(self, shipment, signed_at):
        """The sign-off of a parcel signed for, as ``services.sign_off_record`` takes it: the
        recipient signs with an electronic signature (which high-value lines require)."""
        name = shipment.order.ship_name or "本人"  # i18n-exempt: the carrier's record of who signed
        signature = (
            "sandbox-esign:sha256:"
            + hashlib.sha256(f"{shipment.pk}:{name}:{signed_at.isoformat()}".encode()).hexdigest()
        )
        return {
            "signer_name": name,
            "signer_relation": "self",
            "signed_at": signed_at,
            "e_signature": signature,
        }


def resubmit_stale_pickups(*, older_than_seconds):
    """Send again pickup bookings still unanswered ``older_than_seconds`` after they were
    requested: the send after commit can be lost (broker down, worker crashed). Returns how
    many were resubmitted."""
    carrier = get_carrier()
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        PickupBooking.objects.filter(
            status=PickupBooking.Status.REQUESTED, carrier=carrier.code, requested_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for booking_id in ids:
        carrier.book_pickup(booking_id)
    return len(ids)
