"""Every domain-event subscription of the repairs app (STYLE.md rule 14; the generated map of
all apps is ``docs/events.md``). Its status → deadline rules are the one table in
``repairs/deadlines.py`` (``deadline_status_rules(RepairOrder, ...)``).

- ``shipment.signed`` (orders): the first delivery of a line in a 三包 category was signed for,
  so its warranty cards are created (one per unit, G9). A line outside the catalog, or a
  replacement parcel (its card is made by ``warranty_card_exchange``), is skipped.
- ``return.completed`` / ``return.refunded`` (returns): a 三包 exchange restarts the card, a 三包
  refund ends it.
- ``return.cancelled`` / ``.rejected`` / ``.closed`` (returns): the remedy the card held for
  the request is released.
- ``deadline.fired`` (the deadline sweep): the G5/G6 limits and their reminders, one sweep batch
  at a time (``repairs.deadlines.on_deadlines_fired``; its logic lives with the deadlines).

All run inside the transaction that published the event.
"""

import logging

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from aftersales.casefile.events import subscribe
from aftersales.errors import DomainError
from aftersales.tenancy.actors import SYSTEM
from orders.models import Shipment

from .deadlines import on_deadline_fired
from .models import WarrantyCard
from .services import (
    warranty_card_create,
    warranty_card_exchange,
    warranty_card_return,
    warranty_remedy_release,
)

log = logging.getLogger(__name__)


@subscribe("shipment.signed")
def on_shipment_signed(event):
    payload = event.payload or {}
    shipment = (
        Shipment.objects.select_related("line__sku__product__category")
        .filter(pk=payload.get("shipment_id") or event.subject_id)
        .first()
    )
    if shipment is None or shipment.purpose != Shipment.Purpose.OUTBOUND:
        return
    if not shipment.line.sku.product.category.sanbao_code:
        return
    signed_at = parse_datetime(payload["signed_at"]) if payload.get("signed_at") else None
    try:
        warranty_card_create(
            line=shipment.line, actor=SYSTEM, signed_at=signed_at or shipment.signed_at
        )
    except DomainError as exc:
        # No catalog entry for the category (yet), or a sign-off time the card refuses: the
        # sign-off itself must still be recorded; staff can create the cards later.
        log.warning("no warranty card for line %s: %s", shipment.line_id, exc.code)


def _card_of_request(event):
    request_id = (event.payload or {}).get("return_request_id")
    if request_id is None:
        return None
    return WarrantyCard.objects.filter(return_request_id=request_id, status="active").first()


@subscribe("return.completed")
def on_return_completed(event):
    """An exchange the 三包 engine granted was delivered: the card restarts (G10)."""
    card = _card_of_request(event)
    if card is not None and (event.payload or {}).get("kind") == "exchange":
        warranty_card_exchange(card=card, actor=SYSTEM, note=_("换货完成（退换货流程）"))


@subscribe("return.refunded")
def on_return_refunded(event):
    """A 三包 refund was paid: the unit went back, the card ends."""
    card = _card_of_request(event)
    if card is not None and (event.payload or {}).get("kind") == "return_refund":
        warranty_card_return(card=card, actor=SYSTEM, note=_("三包退货已退款"))


def _released(event):
    card = _card_of_request(event)
    if card is not None:
        warranty_remedy_release(card=card, actor=SYSTEM, reason=event.name)


for _name in ("return.cancelled", "return.rejected", "return.closed"):
    subscribe(_name)(_released)

subscribe("deadline.fired")(on_deadline_fired)  # with its ``many``: a sweep batch in one call
