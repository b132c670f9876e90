"""Every domain-event subscription of the returns app: its subscribers to the domain events of
``orders`` (ARCHITECTURE.md "Apps"; STYLE.md rule 14; the generated map of all apps is
``docs/events.md``). Its status → deadline rules are the one table in ``returns/deadlines.py``
(``deadline_status_rules(ReturnRequest, ...)``).

- ``refund.succeeded`` / ``refund.failed`` (a gateway refund of one tender settled): the
  matching ``RefundPart`` and its ``Refund`` settle (``services.refund_part_settled``).
- ``pickup.confirmed`` / ``pickup.failed`` of a pickup booked for a return: the goods count as
  shipped back with the carrier's tracking number, or the consumer books again.
- ``shipment.signed`` of an exchange's replacement parcel: the exchange completes.
- ``charge.*`` / ``payout.*`` (a gateway charge or payout settled): the price difference of an
  exchange, its give-back or a shipping reimbursement settles (``payments.transfer_settled``);
  with ``deduction.*``, an express refund's recovery from the merchant, clawback from the
  consumer or the give-back of a clawback settles (``express.express_transfer_settled``).

All run inside the transaction that published the event.
"""

from aftersales.casefile.events import subscribe
from orders.models import GatewayRefund, GatewayTransfer, PickupBooking, Shipment

from .services import (
    exchange_delivered,
    express_transfer_settled,
    refund_part_settled,
    return_pickup_settled,
)
from .services.payments import transfer_settled

SUBJECT = "returns.returnrequest"


@subscribe("refund.succeeded")
@subscribe("refund.failed")
def on_gateway_refund_settled(event):
    refund_id = (event.payload or {}).get("gateway_refund_id") or event.subject_id
    gateway_refund = GatewayRefund.objects.filter(pk=refund_id).first()
    if gateway_refund is not None:
        refund_part_settled(gateway_refund=gateway_refund)


@subscribe("pickup.confirmed")
@subscribe("pickup.failed")
def on_pickup_settled(event):
    if (event.payload or {}).get("subject_type") != SUBJECT:
        return
    booking = PickupBooking.objects.filter(pk=event.subject_id).first()
    if booking is not None:
        return_pickup_settled(booking=booking)


@subscribe("shipment.signed")
def on_shipment_signed(event):
    shipment_id = (event.payload or {}).get("shipment_id") or event.subject_id
    shipment = Shipment.objects.filter(pk=shipment_id, purpose=Shipment.Purpose.REPLACEMENT).first()
    if shipment is not None:
        exchange_delivered(shipment=shipment)


@subscribe("charge.succeeded")
@subscribe("charge.failed")
@subscribe("payout.succeeded")
@subscribe("payout.failed")
@subscribe("deduction.succeeded")
@subscribe("deduction.failed")
def on_gateway_transfer_settled(event):
    transfer_id = (event.payload or {}).get("gateway_transfer_id") or event.subject_id
    transfer = GatewayTransfer.objects.filter(pk=transfer_id).first()
    if transfer is not None:
        transfer_settled(transfer=transfer)
        express_transfer_settled(transfer=transfer)
