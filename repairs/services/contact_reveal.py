"""The consumer's contact for an on-site visit (RULES.md D2, D3): masked for merchants and
providers, revealed with a reason to the assigned provider's staff, registered with the
kernel's ``pii_reveal``.
"""

from django.db import transaction

from aftersales.casefile.timeline import timeline_record
from aftersales.errors import NotFound
from aftersales.pii import mask_phone
from aftersales.tenancy.reveal import pii_reveal, pii_reveal_register

from ..models import RepairOrder
from .common import VIEW_PERM

REPAIR_REVEAL_FIELDS = ("phone", "address")


def _visit_phone(repair):
    """The phone the provider calls: the order's delivery phone, else the consumer's own."""
    order = repair.order_line.order
    return order.ship_phone or repair.consumer.phone


def _visit_address(repair):
    """The full address of the unit (the order's delivery address, unit/room included)."""
    o = repair.order_line.order
    parts = (o.ship_province, o.ship_city, o.ship_district, o.ship_street, o.ship_unit)
    return "".join(p for p in parts if p)


def repair_consumer_contact_masked(repair):
    """The consumer's phone and address as merchants and providers see them (D2; the name is
    ``repair.consumer.masked_name``)."""
    return {
        "phone": mask_phone(_visit_phone(repair)),
        "address": repair.order_line.order.masked_ship_address,
    }


def repair_consumer_reveal_allowed(actor, repair):
    """May ``actor`` see the consumer's full phone and address of ``repair`` (RULES.md D2)?
    Only staff of the provider the repair is assigned to (holding its grant), only for an
    on-site repair (上门维修: they must call and visit) and only while it is open. Registered
    with ``aftersales.tenancy.reveal.pii_reveal_register``, so the kernel applies the same rule."""
    if not actor.is_provider or repair.provider_id is None:
        return False
    if actor.provider_id != repair.provider_id:
        return False
    if repair.service_mode != RepairOrder.ServiceMode.ON_SITE or not repair.is_open:
        return False
    return actor.user is not None and actor.user.has_perm(VIEW_PERM, repair)


def repair_consumer_reveal(*, repair, actor, fields=REPAIR_REVEAL_FIELDS, reason=""):
    """The consumer's full phone and/or address of an on-site repair, for the assigned
    provider's staff (``repair_consumer_reveal_allowed``); anyone else gets ``NotFound``, like
    ``pii_reveal``. A reason is required (``reveal_reason_required``). The showing is logged in
    ``PiiAccessLog`` by ``pii_reveal`` (who, what, when, why; RULES.md D3) and recorded on the
    repair's timeline (``repair.consumer_revealed``: the fields and the reason, never the
    values). Returns ``{field: value}``; callers must not store it."""
    with transaction.atomic():
        locked = (
            RepairOrder.objects.select_for_update(of=("self",))
            .select_related("order_line__order", "consumer")
            .get(pk=repair.pk)
        )
        if not repair_consumer_reveal_allowed(actor, locked):
            raise NotFound()
        values = pii_reveal(actor=actor, subject=locked, fields=list(fields), reason=reason)
        timeline_record(
            subject=locked,
            verb="repair.consumer_revealed",
            actor=actor,
            reason=reason.strip()[:200],
            data={"number": locked.number, "fields": list(values)},
        )
    return values


def reveal_register():
    """Tell the kernel's ``pii_reveal`` which consumer fields of a repair order may be revealed
    and to whom (``RepairsConfig.ready``)."""
    pii_reveal_register(
        RepairOrder._meta.label_lower,
        fields={"phone": _visit_phone, "address": _visit_address},
        allows=repair_consumer_reveal_allowed,
    )
