"""The carrier: pickups booked for a time slot and tracking pushed as the parcel moves.

``Carrier`` is the interface services use: ``book_pickup`` sends a booking (the carrier
confirms later with ``services.pickup_confirm`` or refuses with ``services.pickup_fail``), and
``shipment_registered`` tells the carrier about a new parcel so it pushes tracking events
(``services.tracking_event_record``, deduplicated by the carrier's event id).

``SandboxCarrier`` (code ``SANDBOX``) does both from Celery tasks:

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

from django.conf import settings

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM

from . import sandbox_delay, sandbox_queue_options


class Carrier(ABC):
    """What the platform needs from a carrier."""

    code = "abstract"

    @abstractmethod
    def book_pickup(self, booking_id):
        """Send the ``PickupBooking`` ``booking_id`` (a time slot) to the carrier; it confirms
        or refuses later (``services.pickup_confirm`` / ``services.pickup_fail``)."""

    @abstractmethod
    def shipment_registered(self, shipment_id):
        """A parcel was registered; the carrier will push its tracking events."""

    def push_tracking(self, *, shipment, events, actor=SYSTEM):
        """Record events the carrier pushed (a callback): dicts with ``kind``, ``occurred_at``,
        ``location``, ``description`` and the carrier's ``external_id``. Repeats change nothing.
        Returns how many events were new."""
        from ..services import tracking_event_record

        created = 0
        for event in sorted(events, key=lambda e: e["occurred_at"]):
            _, new = tracking_event_record(shipment=shipment, actor=actor, **event)
            created += int(new)
        return created


class SandboxCarrier(Carrier):
    """A carrier that confirms pickups and moves parcels from Celery tasks."""

    code = "SANDBOX"

    JOURNEY = [
        ("picked_up", "上海市浦东新区揽投部", "快递员已揽收"),
        ("in_transit", "上海转运中心", "已发往目的地"),
        ("in_transit", "目的地转运中心", "已到达目的地转运中心"),
        ("out_for_delivery", "目的地营业部", "快递员正在派送"),
        ("signed", "目的地营业部", "已签收，签收人：本人"),
    ]
    EXCEPTION_STEP = 2

    def step_seconds(self):
        return float(getattr(settings, "SANDBOX_CARRIER_STEP_SECONDS", 5))

    # -- pickups --------------------------------------------------------------------------------

    def book_pickup(self, booking_id, *, queue=None):
        from ..tasks import sandbox_pickup_confirm

        sandbox_pickup_confirm.apply_async(
            args=[booking_id], countdown=sandbox_delay(), **sandbox_queue_options(queue)
        )

    def answer_pickup(self, booking_id):
        from ..models import PickupBooking
        from ..services import pickup_confirm, pickup_fail

        booking = PickupBooking.objects.filter(pk=booking_id).first()
        if booking is None or booking.status != PickupBooking.Status.REQUESTED:
            return booking
        hour = clock.local(booking.slot_start).hour
        if hour < 8 or hour >= 20:
            return pickup_fail(booking=booking, reason="no_courier_in_slot", actor=SYSTEM)
        return pickup_confirm(
            booking=booking, tracking_number=f"SBX{booking.pk:010d}", actor=SYSTEM
        )

    # -- tracking -------------------------------------------------------------------------------

    def shipment_registered(self, shipment_id, *, queue=None):
        from ..models import Shipment

        if Shipment.objects.filter(pk=shipment_id, carrier=self.code).exists():
            self.schedule_step(shipment_id, 0, queue=queue)

    def schedule_step(self, shipment_id, step, *, queue=None):
        from ..tasks import sandbox_journey_step

        sandbox_journey_step.apply_async(
            args=[shipment_id, step], countdown=self.step_seconds(), **sandbox_queue_options(queue)
        )

    def journey_step(self, shipment_id, step):
        """Push event number ``step`` of the parcel's journey; returns the next step or None.

        The event id is ``sbx-<shipment>-<step>``, so a repeated task changes nothing.
        """
        from ..models import Shipment
        from ..services import sign_off_record, tracking_event_record

        shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
        if shipment is None or step >= len(self.JOURNEY) or shipment.status == "signed":
            return None
        kind, location, description = self.JOURNEY[step]
        exception = shipment.tracking_number.upper().endswith("EX") and step == self.EXCEPTION_STEP
        if exception:
            kind, description = "exception", "包裹破损，暂停派送"
        now = clock.now()
        tracking_event_record(
            shipment=shipment,
            kind=kind,
            occurred_at=now,
            location=location,
            description=description,
            external_id=f"sbx-{shipment_id}-{step}",
            actor=SYSTEM,
        )
        if exception:
            return None
        if kind == "signed":
            shipment.refresh_from_db()
            if not hasattr(shipment, "sign_off"):
                name = shipment.order.ship_name or "本人"
                signature = (
                    "sandbox-esign:sha256:"
                    + hashlib.sha256(f"{shipment.pk}:{name}:{now.isoformat()}".encode()).hexdigest()
                )
                sign_off_record(
                    shipment=shipment,
                    signer_name=name,
                    signer_relation="self",
                    signed_at=now,
                    e_signature=signature,
                    actor=SYSTEM,
                )
            return None
        return step + 1
