"""Orders and lines (standard 6.2): recording an order, changing its status or shipping address,
cancelling a line that has not shipped.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.money import ZERO
from aftersales.tenancy.models import ConsumerAddress

from .. import rules
from ..models import Order, OrderLine
from .common import (
    clean_money,
    iso,
    order_move,
    require_merchant_write,
    require_order_create,
    sync_order_progress,
)

SHIPPING_FIELDS = ("recipient", "phone", "province", "city", "district", "street", "unit")


def _shipping_snapshot(order, shipping):
    order.ship_name = shipping.get("recipient", "") or ""
    order.ship_phone = shipping.get("phone", "") or ""
    order.ship_province = shipping.get("province", "") or ""
    order.ship_city = shipping.get("city", "") or ""
    order.ship_district = shipping.get("district", "") or ""
    order.ship_street = shipping.get("street", "") or ""
    order.ship_unit = shipping.get("unit", "") or ""


def _default_shipping(consumer):
    address = (
        ConsumerAddress.objects.filter(consumer=consumer).order_by("-is_default", "id").first()
    )
    if address is None:
        return {}
    return {f: getattr(address, f) for f in SHIPPING_FIELDS}


def order_create(
    *,
    merchant,
    consumer,
    number,
    lines,
    actor,
    shipping=None,
    placed_at=None,
    order_discount=None,
    total_amount=None,
):
    """Record an order placed at ``merchant`` by ``consumer`` (standard 6.2).

    ``lines``: dicts with ``sku``, ``quantity``, optional ``unit_price`` (default: the SKU's
    price), ``discount_amount``, ``paid_amount`` (checked: quantity × unit price − discount)
    and ``exclusion_confirmed`` / ``exclusion_confirmed_at`` (RULES.md R3), and
    ``return_shipping_insured`` (return-shipping insurance 运费险 bought at checkout, R8). An
    ``order_discount`` is allocated to lines pro rata instead. ``shipping`` is snapshotted and
    encrypted (D1); without it the consumer's default address is used.

    Only platform writers may record orders (``require_order_create``).
    """
    require_order_create(actor)
    if not lines:
        raise InvalidInput(
            _("订单至少需要一行。"), code="lines_required", fields={"lines": "required"}
        )
    now = clock.now()
    placed_at = placed_at or now
    errors = {}
    prepared = []
    for raw in lines:
        sku = raw["sku"]
        line_errors = {}
        if sku.product.merchant_id != merchant.pk:
            line_errors["sku"] = "sku_not_of_merchant"
        quantity = int(raw.get("quantity", 1))
        unit_price = clean_money(raw.get("unit_price", sku.price), "unit_price")
        prepared.append(
            {
                "raw": raw,
                "sku": sku,
                "quantity": quantity,
                "unit_price": unit_price,
                "errors": line_errors,
            }
        )
    gross = [rules.line_gross(max(p["quantity"], 0), p["unit_price"]) for p in prepared]
    if order_discount is not None:
        if any(p["raw"].get("discount_amount") not in (None, "") for p in prepared):
            raise InvalidInput(
                _("订单级优惠与行级优惠不能同时提供。"),
                code="discount_twice",
                fields={"order_discount": "discount_twice"},
            )
        try:
            shares = rules.allocate_discount(clean_money(order_discount, "order_discount"), gross)
        except ValueError:
            raise InvalidInput(
                _("优惠金额超出订单金额。"),
                code="discount_out_of_range",
                fields={"order_discount": "discount_out_of_range"},
            ) from None
    else:
        shares = [
            clean_money(p["raw"].get("discount_amount") or "0", "discount_amount") for p in prepared
        ]
    for i, (p, share, g) in enumerate(zip(prepared, shares, gross, strict=True)):
        p["discount"] = share
        given = p["raw"].get("paid_amount")
        p["paid"] = clean_money(given, "paid_amount") if given not in (None, "") else g - share
        p["errors"].update(
            rules.line_amount_errors(
                quantity=p["quantity"],
                unit_price=p["unit_price"],
                discount_amount=share,
                paid_amount=p["paid"],
            )
        )
        confirmed_at = p["raw"].get("exclusion_confirmed_at")
        if confirmed_at is None and p["raw"].get("exclusion_confirmed"):
            confirmed_at = placed_at
        if confirmed_at and not rules.exclusion_confirmation_allowed(
            p["sku"].product.category.no_reason_class
        ):
            p["errors"]["exclusion_confirmed"] = "exclusion_not_applicable"
        p["confirmed_at"] = confirmed_at
        if p["errors"]:
            errors[str(i)] = p["errors"]
    if errors:
        first = next(iter(next(iter(errors.values())).values()))
        raise InvalidInput(
            _("部分订单行有误，请按各行的提示修改。"),
            code=first,
            fields={"lines": errors},
        )
    computed_total = sum((p["paid"] for p in prepared), ZERO)
    if total_amount is not None and clean_money(total_amount, "total_amount") != computed_total:
        raise InvalidInput(
            _("订单实付总额应为各行实付之和 ¥%(amount)s。") % {"amount": computed_total},
            code="total_mismatch",
            fields={"total_amount": str(computed_total)},
        )
    with transaction.atomic():
        if Order.objects.filter(number=number).exists():
            raise Conflict(
                _("订单号 %(number)s 已存在。") % {"number": number},
                code="order_number_taken",
                fields={"number": number},
            )
        order = Order(
            merchant=merchant,
            consumer=consumer,
            number=number,
            placed_at=placed_at,
            total_amount=computed_total,
            created_at=now,
        )
        _shipping_snapshot(order, shipping if shipping is not None else _default_shipping(consumer))
        try:
            with transaction.atomic():
                order.save()
        except IntegrityError:
            raise Conflict(
                _("订单号 %(number)s 已存在。") % {"number": number},
                code="order_number_taken",
                fields={"number": number},
            ) from None
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    sku=p["sku"],
                    product_name=p["sku"].product.name,
                    spec=p["sku"].spec,
                    quantity=p["quantity"],
                    unit_price=p["unit_price"],
                    discount_amount=p["discount"],
                    paid_amount=p["paid"],
                    exclusion_confirmed_at=p["confirmed_at"],
                    return_shipping_insured=bool(p["raw"].get("return_shipping_insured")),
                )
                for p in prepared
            ]
        )
        timeline_record(
            subject=order,
            verb="order.created",
            actor=actor,
            to_status=order.status,
            data={"number": number, "total_amount": str(computed_total)},
            occurred_at=placed_at,
        )
        event_publish(
            "order.created",
            subject=order,
            payload={
                "order_id": order.pk,
                "number": number,
                "merchant_id": merchant.pk,
                "consumer_id": consumer.pk,
                "total_amount": str(computed_total),
                "placed_at": iso(placed_at),
                "lines": len(prepared),
            },
        )
    return order


def order_update(*, order, actor, status=None, reason="", shipping=None, occurred_at=None):
    """Change an order's status (through the table ``rules.ORDER_MOVES``; by hand only to
    ``rules.MANUAL_ORDER_STATUSES``) or, before anything shipped, its shipping address."""
    require_merchant_write(actor, order.merchant_id, consumer_id=order.consumer_id)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if shipping is not None:
            if order.status not in ("pending_payment", "paid"):
                raise Conflict(
                    _("已发货的订单不能修改收货地址。"),
                    code="order_already_shipped",
                    fields={"status": order.status},
                )
            merged = {
                f: getattr(
                    order, {"recipient": "ship_name", "phone": "ship_phone"}.get(f, f"ship_{f}")
                )
                for f in SHIPPING_FIELDS
            }
            merged.update({k: v for k, v in shipping.items() if k in SHIPPING_FIELDS})
            _shipping_snapshot(order, merged)
            order.save()
            timeline_record(
                subject=order, verb="order.shipping_changed", actor=actor, reason=reason
            )
        if status and status != order.status:
            if status not in rules.MANUAL_ORDER_STATUSES and status in rules.ORDER_MOVES.get(
                order.status, ()
            ):
                raise RuleViolation(
                    _("该状态由付款、发货和签收记录自动推进，不能手工设置。"),
                    code="order_status_derived",
                    fields={"status": sorted(rules.MANUAL_ORDER_STATUSES)},
                )
            if status == "cancelled" and order.shipments.filter(purpose="outbound").exists():
                raise Conflict(_("已有包裹发出的订单不能取消。"), code="order_already_shipped")
            order = order_move(
                order, to=status, actor=actor, reason=reason, occurred_at=occurred_at
            )
    return order


def line_cancel(*, line, actor, reason="", locked=False):
    """Cancel a line that has not shipped (e.g. refund-only before shipping, RULES.md R11).

    A cancelled line can no longer be shipped. When every line is cancelled, a paid order is
    cancelled; when the others are all shipped or signed, the order moves on.

    ``locked``: the caller holds this transaction's row locks of ``line.order`` and ``line``
    (taken in that order) and has read under them that the line has no outbound parcel
    (returns' R11 refund): neither is read again. No savepoint of its own: its errors fail the
    caller's transaction, and no caller carries on after one.
    """
    order = line.order
    require_merchant_write(actor, order.merchant_id)
    with transaction.atomic(savepoint=False):
        if not locked:
            order = Order.objects.select_for_update().get(pk=order.pk)
            line = OrderLine.objects.select_for_update().get(pk=line.pk)
        if line.cancelled_at is not None:
            raise Conflict(_("该订单行已取消。"), code="line_already_cancelled")
        if not locked and line.shipments.filter(purpose="outbound").exists():
            raise Conflict(_("该订单行已发货。"), code="line_already_shipped")
        line.cancelled_at = clock.now()
        line.cancel_reason = reason
        line.save(update_fields=["cancelled_at", "cancel_reason"])
        timeline_record(
            subject=order,
            verb="order.line_cancelled",
            actor=actor,
            reason=reason,
            data={"line_id": line.pk},
        )
        event_publish(
            "order.line_cancelled",
            subject=order,
            payload={"order_id": order.pk, "line_id": line.pk, "reason": reason},
        )
        sync_order_progress(order, actor=actor, locked=True)
    return line


def line_unsealed_record(*, line, actor, occurred_at=None):
    """Record that the digital goods of ``line`` were downloaded or unsealed (RULES.md R2): from
    then on the line is excluded from the no-reason return. The order's consumer records it by
    confirming (``consumer_confirmation``); the merchant, its key or a platform writer by a
    download event (``download``). Only lines of a digital category (``unseal_not_applicable``);
    the first record stands (a repeat returns the line unchanged). ``occurred_at``: when it
    happened (default now; not in the future)."""
    order = line.order
    if actor.consumer_id is not None and actor.consumer_id == order.consumer_id:
        via = OrderLine.UnsealedVia.CONSUMER
    else:
        require_merchant_write(actor, order.merchant_id, consumer_id=order.consumer_id)
        via = OrderLine.UnsealedVia.DOWNLOAD
    now = clock.now()
    at = occurred_at or now
    if at.tzinfo is None or at > now:
        raise InvalidInput(
            _("发生时间无效（须带时区且不在未来）。"),
            code="occurred_at_invalid",
            fields={"occurred_at": "aware, not in the future"},
        )
    with transaction.atomic():
        line = (
            OrderLine.objects.select_for_update(of=("self",))
            .select_related("order", "sku__product__category")
            .get(pk=line.pk)
        )
        category = line.sku.product.category
        if not rules.unseal_matters(category.no_reason_class, category.exclusion_reason):
            raise RuleViolation(
                _("只有数字化商品（音像制品、软件等）需要记录下载或拆封。"),
                code="unseal_not_applicable",
                fields={"line": line.pk},
            )
        if line.unsealed_at is not None:
            return line
        line.unsealed_at, line.unsealed_via = at, via
        line.save(update_fields=["unsealed_at", "unsealed_via"])
        timeline_record(
            subject=line.order,
            verb="order.line_unsealed",
            actor=actor,
            occurred_at=at,
            data={"line_id": line.pk, "via": via},
        )
        event_publish(
            "order.line_unsealed",
            subject=line.order,
            payload={
                "order_id": line.order_id,
                "line_id": line.pk,
                "via": via,
                "unsealed_at": iso(at),
            },
        )
    return line
