"""Warranty cards (G9, G10): created per unit sold, installation, exchange, return, the
consumer's refusal of another model (G7), and the daily expiry.
"""

from datetime import timedelta

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.money import units_share
from orders.models import OrderLine, Shipment

from .. import rules
from ..models import (
    RepairOrder,
    SanbaoCatalogChange,
    SanbaoCatalogEntry,
    WarrantyCard,
    WarrantyEscalation,
)
from ..selectors import card_facts, repair_order_list
from .common import (
    card_move,
    card_payload,
    clean_instant,
    consumer_user,
    escalation_close,
    iso,
    locked_card,
    new_number,
    notify,
    publish,
    repair_move,
    require_platform_write,
    require_writer,
)


def _catalog_for_line(line):
    code = line.sku.product.category.sanbao_code
    if not code:
        return None, None
    entry = SanbaoCatalogEntry.objects.filter(code=code).first()
    if entry is None:
        return None, None
    change = SanbaoCatalogChange.objects.filter(entry=entry, version=entry.version).first()
    return entry, change


def warranty_card_create(*, line, actor, signed_at=None, serial_numbers=None):
    """Create the warranty cards of ``line``: one per unit sold (G9), for categories with a 三包
    catalog entry; returns the cards created (units that already have a card are skipped, so
    it is idempotent).

    ``signed_at``: the sign-off (default: the line's signed outbound parcel). The card starts
    then, or — for goods that need installation — when installation completes
    (``warranty_installation_complete``). The catalog version in force now is recorded.
    ``serial_numbers``: optional list, one per unit. Platform writers, the line's merchant and
    the system (the ``shipment.signed`` subscriber) may create cards.
    """
    line = OrderLine.objects.select_related("order", "sku__product__category").get(pk=line.pk)
    order = line.order
    require_writer(actor, merchant_id=order.merchant_id, consumer_id=order.consumer_id)
    entry, change = _catalog_for_line(line)
    if entry is None:
        raise RuleViolation(
            _("该商品类目不在三包目录中，不发放三包凭证。"),
            code="not_sanbao_category",
        )
    if signed_at is None:
        shipment = (
            Shipment.objects.filter(line=line, purpose="outbound", signed_at__isnull=False)
            .only("signed_at")
            .first()
        )
        if shipment is None:
            raise RuleViolation(
                _("该订单行尚未签收，不能发放三包凭证。"),
                code="line_not_signed",
            )
        signed_at = shipment.signed_at
    signed_at = clean_instant(signed_at, "signed_at")
    serials = list(serial_numbers or [])
    if len(serials) > line.quantity:
        raise InvalidInput(
            _("序列号多于购买数量。"),
            code="serial_numbers_invalid",
            fields={"serial_numbers": line.quantity},
        )
    needs_installation = bool(line.sku.product.category.needs_installation)
    created = []
    with transaction.atomic():
        OrderLine.objects.select_for_update().filter(pk=line.pk).first()
        existing = set(
            WarrantyCard.objects.filter(order_line=line, replaces__isnull=True).values_list(
                "unit_index", flat=True
            )
        )
        for index in range(1, line.quantity + 1):
            if index in existing:
                continue
            # R15: the unit's cumulative-rounding part, so the cards add up to the line's price
            unit_price = units_share(line.paid_amount, line.quantity, 1, before=index - 1)
            card = WarrantyCard.objects.create(
                number=new_number("WC"),
                order_line=line,
                unit_index=index,
                serial_number=(serials[index - 1] if index <= len(serials) else "") or "",
                catalog_entry=entry,
                catalog_change=change,
                catalog_version=entry.version,
                merchant_id=order.merchant_id,
                consumer_id=order.consumer_id,
                product_id=line.sku.product_id,
                sku_id=line.sku_id,
                product_name=line.product_name,
                unit_price=unit_price,
                needs_installation=needs_installation,
                signed_at=signed_at,
                starts_at=None if needs_installation else signed_at,
            )
            card.catalog_entry = entry
            timeline_record(
                subject=card,
                verb="warranty_card.created",
                actor=actor,
                to_status=card.status,
                occurred_at=signed_at,
                data={"order_line_id": line.pk, "unit_index": index, "version": entry.version},
            )
            publish("warranty_card.created", card, card_payload(card))
            created.append(card)
    return created


def warranty_installation_complete(*, card, actor, installed_at=None):
    """Installation completed: the 三包 period of goods that need installation starts now (G9).

    Refused for goods without installation (their period started at sign-off) and when the
    installation was already recorded. The line's merchant, platform writers, or the provider
    staff who installed it (a repair granted to them on the card) may record it.
    """
    card = WarrantyCard.objects.get(pk=card.pk)
    if not (actor.is_provider and _provider_has_card(actor, card)):
        require_writer(actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id)
    with transaction.atomic():
        card = locked_card(card)
        if not card.needs_installation:
            raise RuleViolation(
                _("该商品无需安装，三包期自签收起算（G9）。"), code="installation_not_needed"
            )
        if card.installed_at is not None:
            raise Conflict(_("已记录安装完成。"), code="already_installed")
        installed_at = clean_instant(installed_at, "installed_at", not_before=card.signed_at)
        card.installed_at = installed_at
        card.starts_at = installed_at
        card.save(update_fields=["installed_at", "starts_at"])
        timeline_record(
            subject=card,
            verb="warranty_card.installed",
            actor=actor,
            occurred_at=installed_at,
            data={"starts_at": iso(installed_at)},
        )
        publish("warranty_card.installed", card, card_payload(card))
    return card


def _provider_has_card(actor, card):
    return repair_order_list(actor=actor).filter(card_id=card.pk).exists()


def warranty_card_exchange(*, card, actor, exchanged_at=None, serial_number="", note=""):
    """The unit was exchanged (G2, G4, G5, G6): this card ends (``exchanged``) and a new card
    for the replacement starts at the exchange date — the 三包 period starts again (G10, art.
    14). Returns the new card. Open repairs of the old unit are closed and open escalations of
    the card resolved as ``exchange``. Platform writers and the card's merchant.
    """
    card = WarrantyCard.objects.get(pk=card.pk)
    require_writer(actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id)
    with transaction.atomic():
        card = locked_card(card)
        if card.status != WarrantyCard.Status.ACTIVE:
            raise Conflict(
                _("三包凭证状态为“%(status)s”，不能换货。") % {"status": card.get_status_display()},
                code="card_not_active",
                fields={"status": card.status},
            )
        at = clean_instant(exchanged_at, "exchanged_at", not_before=card.signed_at)
        new = WarrantyCard.objects.create(
            number=new_number("WC"),
            order_line_id=card.order_line_id,
            unit_index=card.unit_index,
            serial_number=serial_number or "",
            catalog_entry_id=card.catalog_entry_id,
            catalog_change_id=card.catalog_change_id,
            catalog_version=card.catalog_version,
            merchant_id=card.merchant_id,
            consumer_id=card.consumer_id,
            product_id=card.product_id,
            sku_id=card.sku_id,
            product_name=card.product_name,
            unit_price=card.unit_price,
            needs_installation=False,
            signed_at=at,
            starts_at=at,
            root_id=card.chain_root_id,
            replaces=card,
        )
        card_move(
            card,
            to=WarrantyCard.Status.EXCHANGED,
            at=at,
            actor=actor,
            note=note,
            data={"replaced_by": new.pk},
        )
        timeline_record(
            subject=new,
            verb="warranty_card.created",
            actor=actor,
            to_status=new.status,
            occurred_at=at,
            data={"replaces": card.pk, "reason": "exchange"},
        )
        _close_open_repairs(card, actor=actor, reason="unit_exchanged")
        _resolve_open_escalations(card, actor=actor, resolution="exchange", note=note)
        new.catalog_entry = card.catalog_entry
        publish(
            "warranty_card.exchanged",
            card,
            {**card_payload(card), "replaced_by": new.pk, "exchanged_at": iso(at)},
        )
        notify(
            [consumer_user(card)],
            event="warranty_card.exchanged",
            subject=new,
            actor=actor,
            card_id=new.pk,
            card_number=new.number,
            product_name=card.product_name,
        )
    return new


def warranty_card_return(*, card, actor, returned_at=None, note=""):
    """The unit went back to the seller with a refund (G1, G7, G8): the card ends
    (``returned``); its open repairs are closed and open escalations resolved as ``refund``."""
    card = WarrantyCard.objects.get(pk=card.pk)
    require_writer(actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id)
    with transaction.atomic():
        card = locked_card(card)
        if card.status != WarrantyCard.Status.ACTIVE:
            raise Conflict(
                _("三包凭证已失效。"), code="card_not_active", fields={"status": card.status}
            )
        at = clean_instant(returned_at, "returned_at", not_before=card.signed_at)
        card_move(card, to=WarrantyCard.Status.RETURNED, at=at, actor=actor, note=note)
        _close_open_repairs(card, actor=actor, reason="unit_returned")
        _resolve_open_escalations(card, actor=actor, resolution="refund", note=note)
        publish("warranty_card.returned", card, card_payload(card))
    return card


def warranty_card_refuse_alternative(*, card, actor, refused=True):
    """Record that the consumer refuses another model when the same model and spec is not
    available (G7: then the refund is in full, without depreciation). The card's consumer, its
    merchant or the platform."""
    card = WarrantyCard.objects.get(pk=card.pk)
    require_writer(
        actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        card = locked_card(card)
        if card.alternative_refused != bool(refused):
            card.alternative_refused = bool(refused)
            card.save(update_fields=["alternative_refused"])
            timeline_record(
                subject=card,
                verb="warranty_card.alternative_refused",
                actor=actor,
                data={"refused": card.alternative_refused},
            )
    return card


def _close_open_repairs(card, *, actor, reason):
    repairs = list(
        RepairOrder.objects.select_for_update()
        .filter(
            card=card, status__in=RepairOrder.OPEN_STATUSES + ("fixed", "not_fixed", "returned")
        )
        .order_by("pk")
    )
    for repair in repairs:
        to = "cancelled" if repair.status in ("requested", "assigned") else "closed"
        repair_move(repair, to=to, actor=actor, reason=reason)
    return repairs


def _resolve_open_escalations(card, *, actor, resolution, note=""):
    rows = list(
        WarrantyEscalation.objects.select_for_update()
        .filter(card=card, status=WarrantyEscalation.Status.OPEN)
        .order_by("pk")
    )
    for escalation in rows:
        escalation_close(escalation, actor=actor, resolution=resolution, note=note)
    return rows


def warranty_cards_expire(*, actor, now=None, limit=1000):
    """Mark ``expired`` the active cards whose whole unit and every main part are out of
    period (G9, extended by repair days) and that have no open repair; returns how many.

    Cheap candidates first (started longer ago than their longest period), then the engine's
    exact end dates per candidate. Run daily by ``repairs.tasks.expire_warranty_cards``."""
    require_platform_write(actor)
    now = now or clock.now()
    longest = max(
        [e.whole_unit_months for e in SanbaoCatalogEntry.objects.all()]
        + [p["months"] for e in SanbaoCatalogEntry.objects.all() for p in e.main_parts or []]
        + [1]
    )
    candidates = list(
        WarrantyCard.objects.filter(
            status=WarrantyCard.Status.ACTIVE, starts_at__lt=now - timedelta(days=28 * longest)
        )
        .exclude(repairs__status__in=RepairOrder.OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    expired = 0
    for pk in candidates:
        card = WarrantyCard(pk=pk)
        if all(c.ends_at <= now for c in rules.warranty_ends(card_facts(card), now)):
            with transaction.atomic():
                card = locked_card(card)
                if card.status != WarrantyCard.Status.ACTIVE:
                    continue
                card_move(card, to=WarrantyCard.Status.EXPIRED, actor=actor)
                publish("warranty_card.expired", card, card_payload(card))
            expired += 1
    return expired
