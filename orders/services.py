"""Writes of catalog, orders, payments and logistics (standard 6.2).

Every function is keyword-only, owns its transaction, locks rows in a fixed order (order →
line; shipment → order; tender → refund), records a timeline event and publishes a domain
event. Work for other processes is enqueued with ``transaction.on_commit``.
"""

from datetime import timedelta
from decimal import InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.statuses import status_move
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.money import ZERO, yuan
from aftersales.policies import policy_value
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerAddress

from . import rules
from .models import (
    Category,
    GatewayRefund,
    GatewayTransfer,
    NoReasonClass,
    Order,
    OrderLine,
    Payment,
    PickupBooking,
    PriceChange,
    Product,
    Shipment,
    SignOff,
    Sku,
    Tender,
    TrackingEvent,
)

# Carriers' clocks drift; an event further in the future than this is a data error.
FUTURE_TOLERANCE = timedelta(minutes=10)


# -- who may write ------------------------------------------------------------------------------


def require_merchant_write(actor, merchant_id, *, consumer_id=None):
    """Platform writers change any merchant's data; merchant staff and merchant keys their own.

    Everyone else gets 404 (the object is outside their scope), except read-only platform
    roles and the order's own consumer, who can see it and get 403.
    """
    if actor.platform_write:
        return
    if actor.merchant_id is not None and actor.merchant_id == merchant_id:
        return
    if actor.platform_read:
        raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
    if consumer_id is not None and actor.consumer_id == consumer_id:
        raise PermissionDenied("消费者不能执行此操作。Consumers may not do this.")
    raise NotFound()


ORDER_CREATE_PLATFORM_ONLY = (
    "订单由平台商城系统记录：只有平台 API 密钥和有写权限的平台员工可以创建订单，"
    "商家员工和商家密钥不能创建订单。"
    "Orders are recorded by the platform's shop system: only platform API keys and platform "
    "staff who may write can create orders; merchant staff and merchant keys cannot."
)


def require_order_create(actor):
    """Only platform writers record orders (the platform's shop system places them).

    A merchant could otherwise put an order on any consumer's pages. Everyone else gets 403.
    """
    if actor.platform_write:
        return
    if actor.platform_read:
        raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
    raise PermissionDenied(ORDER_CREATE_PLATFORM_ONLY, code="order_create_platform_only")


def _money(value, field):
    try:
        if isinstance(value, float):
            value = str(value)
        return yuan(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(
            f"{field} 不是合法金额。", code="amount_invalid", fields={field: "amount_invalid"}
        ) from None


def _iso(dt):
    return dt.isoformat() if dt else None


# -- catalog ------------------------------------------------------------------------------------


def category_upsert(
    *,
    code,
    actor,
    name=None,
    parent=None,
    no_reason_class=None,
    exclusion_reason=None,
    needs_installation=None,
    sanbao_code=None,
):
    """Create the category ``code`` or change it; returns ``(category, created)``.

    Categories are platform reference data: only platform writers change them. The exclusion
    reason must match the no-reason class (RULES.md R2, R3).
    """
    if not actor.platform_write:
        if actor.platform_read:
            raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
        raise PermissionDenied("只有平台可以维护类目。Only the platform maintains categories.")
    with transaction.atomic():
        category = Category.objects.select_for_update().filter(code=code).first()
        created = category is None
        if created:
            if not name:
                raise InvalidInput(
                    "新类目需要名称。", code="name_required", fields={"name": "required"}
                )
            category = Category(code=code)
        changes = {
            "name": name,
            "parent": parent,
            "no_reason_class": no_reason_class,
            "exclusion_reason": exclusion_reason,
            "needs_installation": needs_installation,
            "sanbao_code": sanbao_code,
        }
        for field, value in changes.items():
            if value is not None:
                setattr(category, field, value)
        if category.no_reason_class not in NoReasonClass.values:
            raise InvalidInput(
                "无理由退货分类无效。",
                code="no_reason_class_invalid",
                fields={"no_reason_class": NoReasonClass.values},
            )
        if category.no_reason_class == NoReasonClass.ALLOWED:
            category.exclusion_reason = ""
        if not rules.exclusion_reason_valid(category.no_reason_class, category.exclusion_reason):
            raise InvalidInput(
                "不适用原因与无理由退货分类不符。The exclusion reason does not fit the class.",
                code="exclusion_reason_invalid",
                fields={
                    "exclusion_reason": sorted(rules.EXCLUSION_REASONS[category.no_reason_class])
                },
            )
        if parent is not None and category.pk and parent.pk == category.pk:
            raise InvalidInput(
                "类目不能以自己为上级。", code="parent_invalid", fields={"parent": "self"}
            )
        category.save()
        timeline_record(
            subject=category,
            verb="category.created" if created else "category.updated",
            actor=actor,
            data={k: str(v) for k, v in changes.items() if v is not None},
        )
    return category, created


def product_upsert(
    *,
    merchant,
    actor,
    product=None,
    category=None,
    name=None,
    external_id="",
    price_protection_days=...,
    is_active=None,
):
    """Create or change a merchant's product; returns ``(product, created)``.

    With ``external_id`` (the shop's own id) a repeat updates the same product, so a shop can
    sync its catalog. ``price_protection_days`` is 7, 15 or 30, or ``None`` (RULES.md P2).
    """
    require_merchant_write(actor, merchant.pk)
    if price_protection_days is not ... and price_protection_days not in (None, 7, 15, 30):
        raise InvalidInput(
            "价保天数只能是 7、15 或 30。",
            code="price_protection_days_invalid",
            fields={"price_protection_days": [7, 15, 30]},
        )
    with transaction.atomic():
        if product is None and external_id:
            product = (
                Product.objects.select_for_update()
                .filter(merchant=merchant, external_id=external_id)
                .first()
            )
        elif product is not None:
            product = Product.objects.select_for_update().get(pk=product.pk)
            if product.merchant_id != merchant.pk:
                raise NotFound()
        created = product is None
        if created:
            if category is None or not name:
                raise InvalidInput(
                    "新商品需要类目和名称。",
                    code="product_incomplete",
                    fields={"category": "required", "name": "required"},
                )
            product = Product(merchant=merchant, external_id=external_id or "")
        if category is not None:
            product.category = category
        if name:
            product.name = name
        if price_protection_days is not ...:
            product.price_protection_days = price_protection_days
        if is_active is not None:
            product.is_active = is_active
        product.save()
        timeline_record(
            subject=product,
            verb="product.created" if created else "product.updated",
            actor=actor,
            data={"name": product.name, "category": product.category_id},
        )
    return product, created


def sku_upsert(*, product, code, actor, spec=None, price=None, stock=None, sku=None):
    """Create the SKU ``code`` of ``product`` or change it; returns ``(sku, created)``.

    A price change goes through ``sku_set_price`` so the price history is complete.
    """
    require_merchant_write(actor, product.merchant_id)
    with transaction.atomic():
        if sku is None:
            sku = (
                Sku.objects.select_for_update().select_related("product").filter(code=code).first()
            )
        else:
            sku = Sku.objects.select_for_update().select_related("product").get(pk=sku.pk)
        created = sku is None
        if not created and sku.product.merchant_id != product.merchant_id:
            raise Conflict(
                "SKU 编码已被使用。The SKU code is taken.",
                code="sku_code_taken",
                fields={"code": code},
            )
        if created:
            if price is None:
                raise InvalidInput(
                    "新 SKU 需要价格。", code="price_required", fields={"price": "required"}
                )
            price = _money(price, "price")
            if price < 0:
                raise InvalidInput("价格不能为负。", code="price_negative", fields={"price": "≥ 0"})
            sku = Sku.objects.create(
                product=product, code=code, spec=spec or "", price=price, stock=stock or 0
            )
            PriceChange.objects.create(sku=sku, price=price, effective_at=clock.now())
            timeline_record(
                subject=sku,
                verb="sku.created",
                actor=actor,
                data={"code": code, "price": str(price)},
            )
            return sku, True
        sku.product = product
        if spec is not None:
            sku.spec = spec
        if stock is not None:
            sku.stock = stock
        sku.save()
        timeline_record(subject=sku, verb="sku.updated", actor=actor, data={"code": sku.code})
    if price is not None:
        sku_set_price(sku=sku, price=price, actor=actor)
        sku.refresh_from_db()
    return sku, False


def sku_set_price(*, sku, price, actor, effective_at=None):
    """Set a SKU's current price and record it in the price history (RULES.md P1–P6).

    Returns the ``PriceChange`` or ``None`` when the price did not change. Publishes
    ``sku.price_changed`` (price protection listens for drops).
    """
    price = _money(price, "price")
    if price < 0:
        raise InvalidInput("价格不能为负。", code="price_negative", fields={"price": "≥ 0"})
    with transaction.atomic():
        sku = Sku.objects.select_for_update().select_related("product").get(pk=sku.pk)
        require_merchant_write(actor, sku.product.merchant_id)
        old = sku.price
        if old == price:
            return None
        when = effective_at or clock.now()
        sku.price = price
        sku.save(update_fields=["price"])
        change = PriceChange.objects.create(sku=sku, price=price, effective_at=when)
        timeline_record(
            subject=sku,
            verb="sku.price_changed",
            actor=actor,
            data={"from": str(old), "to": str(price)},
            occurred_at=when,
        )
        event_publish(
            "sku.price_changed",
            subject=sku,
            merchant_id=sku.product.merchant_id,
            payload={
                "sku_id": sku.pk,
                "product_id": sku.product_id,
                "old_price": str(old),
                "new_price": str(price),
                "effective_at": _iso(when),
            },
        )
    return change


# -- orders -------------------------------------------------------------------------------------

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
    and ``exclusion_confirmed`` / ``exclusion_confirmed_at`` (RULES.md R3). An
    ``order_discount`` is allocated to lines pro rata instead. ``shipping`` is snapshotted and
    encrypted (D1); without it the consumer's default address is used.

    Only platform writers may record orders (``require_order_create``).
    """
    require_order_create(actor)
    if not lines:
        raise InvalidInput(
            "订单至少需要一行。", code="lines_required", fields={"lines": "required"}
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
        unit_price = _money(raw.get("unit_price", sku.price), "unit_price")
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
                "订单级优惠与行级优惠不能同时提供。",
                code="discount_twice",
                fields={"order_discount": "discount_twice"},
            )
        try:
            shares = rules.allocate_discount(_money(order_discount, "order_discount"), gross)
        except ValueError:
            raise InvalidInput(
                "优惠金额超出订单金额。",
                code="discount_out_of_range",
                fields={"order_discount": "discount_out_of_range"},
            ) from None
    else:
        shares = [
            _money(p["raw"].get("discount_amount") or "0", "discount_amount") for p in prepared
        ]
    for i, (p, share, g) in enumerate(zip(prepared, shares, gross, strict=True)):
        p["discount"] = share
        given = p["raw"].get("paid_amount")
        p["paid"] = _money(given, "paid_amount") if given not in (None, "") else g - share
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
            "订单行有误，请查看 fields。Some lines are invalid; see fields.",
            code=first,
            fields={"lines": errors},
        )
    computed_total = sum((p["paid"] for p in prepared), ZERO)
    if total_amount is not None and _money(total_amount, "total_amount") != computed_total:
        raise InvalidInput(
            f"订单实付总额应为各行实付之和 {computed_total}。The total must equal the lines' sum.",
            code="total_mismatch",
            fields={"total_amount": str(computed_total)},
        )
    with transaction.atomic():
        if Order.objects.filter(number=number).exists():
            raise Conflict(
                f"订单号 {number} 已存在。", code="order_number_taken", fields={"number": number}
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
                f"订单号 {number} 已存在。", code="order_number_taken", fields={"number": number}
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
                "placed_at": _iso(placed_at),
                "lines": len(prepared),
            },
        )
    return order


def _order_move(order, *, to, actor, reason="", occurred_at=None):
    before = order.status
    moved = status_move(
        order,
        to=to,
        actor=actor,
        moves=rules.ORDER_MOVES,
        reason=reason,
        timestamp_field=rules.ORDER_STATUS_TIMESTAMP.get(to),
        verb="order.status_changed",
        occurred_at=occurred_at,
        data={"number": order.number},
    )
    event_publish(
        "order.status_changed",
        subject=moved,
        payload={
            "order_id": moved.pk,
            "number": moved.number,
            "from": before,
            "to": to,
            "reason": reason,
            "occurred_at": _iso(occurred_at or clock.now()),
        },
    )
    return moved


def order_update(*, order, actor, status=None, reason="", shipping=None, occurred_at=None):
    """Change an order's status (through the table ``rules.ORDER_MOVES``; by hand only to
    ``rules.MANUAL_ORDER_STATUSES``) or, before anything shipped, its shipping address."""
    require_merchant_write(actor, order.merchant_id, consumer_id=order.consumer_id)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if shipping is not None:
            if order.status not in ("pending_payment", "paid"):
                raise Conflict(
                    "已发货的订单不能修改收货地址。",
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
                    "该状态由付款、发货和签收记录自动推进，不能手工设置。"
                    "This status follows payments, parcels and sign-offs.",
                    code="order_status_derived",
                    fields={"status": sorted(rules.MANUAL_ORDER_STATUSES)},
                )
            if status == "cancelled" and order.shipments.filter(purpose="outbound").exists():
                raise Conflict("已有包裹发出的订单不能取消。", code="order_already_shipped")
            order = _order_move(
                order, to=status, actor=actor, reason=reason, occurred_at=occurred_at
            )
    return order


def _open_line_ids(order):
    return set(order.lines.filter(cancelled_at__isnull=True).values_list("pk", flat=True))


def _sync_order_progress(order, *, actor, occurred_at=None):
    """After shipping, signing or cancelling a line: move the order if its lines say so."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    open_ids = _open_line_ids(order)
    outbound = Shipment.objects.filter(order=order, purpose="outbound", line_id__in=open_ids)
    shipped = set(outbound.values_list("line_id", flat=True))
    delivered = {}
    for shipment in outbound.filter(signed_at__isnull=False).select_related(
        "line__order", "line__sku__product", "sign_off"
    ):
        at = _delivered_at(shipment)
        if at is not None:
            delivered[shipment.line_id] = at
    if order.status in ("paid", "partially_shipped") and not open_ids:
        if order.status == "paid":
            return _order_move(order, to="cancelled", actor=actor, reason="all_lines_cancelled")
        return order
    target = rules.order_status_after_shipping(
        current=order.status, open_lines=len(open_ids), shipped_lines=len(shipped)
    )
    if target != order.status:
        order = _order_move(order, to=target, actor=actor, occurred_at=occurred_at)
    if order.status in ("shipped", "partially_shipped") and rules.order_delivered(
        open_lines=len(open_ids), signed_lines=len(delivered)
    ):
        order = _order_move(order, to="delivered", actor=actor, occurred_at=max(delivered.values()))
    return order


def _delivered_at(shipment):
    """When a signed parcel counts as delivered, or ``None`` while it does not (6.2.3.1).

    The carrier's ``signed`` node is enough for normal lines. A high-value line is delivered
    only once a sign-off with an electronic signature exists for its parcel.
    """
    if not line_is_high_value(shipment.line):
        return shipment.signed_at
    try:
        sign_off = shipment.sign_off
    except SignOff.DoesNotExist:
        return None
    if not (sign_off.e_signature or "").strip():
        return None
    return max(shipment.signed_at, sign_off.signed_at)


def line_cancel(*, line, actor, reason=""):
    """Cancel a line that has not shipped (e.g. refund-only before shipping, RULES.md R11).

    A cancelled line can no longer be shipped. When every line is cancelled, a paid order is
    cancelled; when the others are all shipped or signed, the order moves on.
    """
    order = line.order
    require_merchant_write(actor, order.merchant_id)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        line = OrderLine.objects.select_for_update().get(pk=line.pk)
        if line.cancelled_at is not None:
            raise Conflict("该订单行已取消。", code="line_already_cancelled")
        if line.shipments.filter(purpose="outbound").exists():
            raise Conflict("该订单行已发货。", code="line_already_shipped")
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
        _sync_order_progress(order, actor=actor)
    return line


# -- payments -----------------------------------------------------------------------------------


def payment_record(
    *, order, external_id, amount, tenders, actor, paid_at=None, status=Payment.Status.SUCCEEDED
):
    """Record a payment of ``order`` made of tenders (card, balance, points, coupon) that add
    up to it (RULES.md R7). When succeeded payments cover the total, the order becomes paid."""
    require_merchant_write(actor, order.merchant_id, consumer_id=order.consumer_id)
    amount = _money(amount, "amount")
    if status not in Payment.Status.values:
        raise InvalidInput(
            "支付状态无效。",
            code="payment_status_invalid",
            fields={"status": Payment.Status.values},
        )
    kinds = Tender.Kind.values
    bad = {
        str(i): "tender_kind_invalid" for i, t in enumerate(tenders) if t.get("kind") not in kinds
    }
    if bad:
        raise InvalidInput("支付方式无效。", code="tender_kind_invalid", fields={"tenders": bad})
    if not rules.tenders_add_up(amount, [_money(t.get("amount"), "amount") for t in tenders]):
        raise InvalidInput(
            "各支付方式金额之和必须等于支付金额，且每项大于零。Tenders must add up to the payment.",
            code="tenders_mismatch",
            fields={"tenders": "tenders_mismatch", "amount": str(amount)},
        )
    paid_at = paid_at or clock.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if Payment.objects.filter(external_id=external_id).exists():
            raise Conflict(
                "该支付流水号已记录。",
                code="payment_duplicate",
                fields={"external_id": external_id},
            )
        if order.status == "cancelled":
            raise Conflict("订单已取消。", code="order_cancelled")
        paid_before = (
            order.payments.filter(status="succeeded").aggregate(s=Sum("amount"))["s"] or ZERO
        )
        if status == "succeeded" and paid_before + amount > order.total_amount:
            raise RuleViolation(
                f"支付金额超出订单应付余额 {order.total_amount - paid_before}。",
                code="payment_exceeds_total",
                fields={"amount": str(order.total_amount - paid_before)},
            )
        payment = Payment.objects.create(
            order=order, external_id=external_id, amount=amount, status=status, paid_at=paid_at
        )
        rows = Tender.objects.bulk_create(
            [
                Tender(
                    payment=payment,
                    kind=t["kind"],
                    amount=_money(t["amount"], "amount"),
                    reference=t.get("reference", "") or "",
                )
                for t in tenders
            ]
        )
        timeline_record(
            subject=order,
            verb="payment.recorded",
            actor=actor,
            occurred_at=paid_at,
            data={
                "payment_id": payment.pk,
                "amount": str(amount),
                "status": status,
                "tenders": [[t.kind, str(t.amount)] for t in rows],
            },
        )
        event_publish(
            "payment.recorded",
            subject=payment,
            merchant_id=order.merchant_id,
            payload={
                "payment_id": payment.pk,
                "order_id": order.pk,
                "amount": str(amount),
                "status": status,
                "paid_at": _iso(paid_at),
                "tenders": [{"id": t.pk, "kind": t.kind, "amount": str(t.amount)} for t in rows],
            },
        )
        if (
            status == "succeeded"
            and order.status == "pending_payment"
            and paid_before + amount == order.total_amount
        ):
            _order_move(order, to="paid", actor=actor, occurred_at=paid_at)
    return payment


# -- shipments and tracking ---------------------------------------------------------------------


def high_value_threshold(line):
    """The policy threshold in force for ``line`` (RULES.md R17, per merchant or category)."""
    return policy_value(
        "returns.high_value_threshold",
        merchant_id=line.order.merchant_id,
        category_id=line.sku.product.category_id,
    )


def line_is_high_value(line):
    return rules.is_high_value(line.unit_paid_price, high_value_threshold(line))


def shipment_create(
    *, line, carrier, tracking_number, actor, shipped_at=None, purpose=Shipment.Purpose.OUTBOUND
):
    """The merchant ships ``line`` (standard 6.2.1).

    Refused when the order is not paid or the line was cancelled; a line has one outbound
    parcel. High-value lines (unit paid price ≥ policy threshold) are insured (R17).
    """
    line = OrderLine.objects.select_related("order", "sku__product").get(pk=line.pk)
    require_merchant_write(actor, line.order.merchant_id, consumer_id=line.order.consumer_id)
    if not carrier or not tracking_number:
        raise InvalidInput(
            "需要承运商和运单号。",
            code="tracking_required",
            fields={"carrier": "required", "tracking_number": "required"},
        )
    if purpose not in Shipment.Purpose.values:
        raise InvalidInput(
            "用途无效。", code="purpose_invalid", fields={"purpose": Shipment.Purpose.values}
        )
    insured = line_is_high_value(line)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=line.order_id)
        line = OrderLine.objects.select_for_update().get(pk=line.pk)
        if order.status == "cancelled":
            raise RuleViolation("订单已取消，不能发货。", code="order_cancelled")
        if line.cancelled_at is not None:
            raise RuleViolation("该订单行已取消，不能发货。", code="line_cancelled")
        if order.status not in rules.PAID_STATUSES:
            raise RuleViolation(
                "订单未付款，不能发货。The order is not paid.", code="line_not_paid"
            )
        if purpose == "outbound" and line.shipments.filter(purpose="outbound").exists():
            raise Conflict(
                "该订单行已发货。", code="line_already_shipped", fields={"line": line.pk}
            )
        if Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).exists():
            raise Conflict(
                "运单号已被使用。",
                code="tracking_number_taken",
                fields={"tracking_number": tracking_number},
            )
        shipped_at = shipped_at or clock.now()
        shipment = Shipment.objects.create(
            order=order,
            line=line,
            merchant_id=order.merchant_id,
            carrier=carrier,
            tracking_number=tracking_number,
            insured=insured,
            shipped_at=shipped_at,
            purpose=purpose,
        )
        timeline_record(
            subject=shipment,
            verb="shipment.created",
            actor=actor,
            to_status=shipment.status,
            occurred_at=shipped_at,
            data={"order_id": order.pk, "line_id": line.pk, "insured": insured},
        )
        timeline_record(
            subject=order,
            verb="shipment.created",
            actor=actor,
            occurred_at=shipped_at,
            data={
                "shipment_id": shipment.pk,
                "line_id": line.pk,
                "carrier": carrier,
                "tracking_number": tracking_number,
                "insured": insured,
            },
        )
        event_publish(
            "shipment.created",
            subject=shipment,
            payload={
                "shipment_id": shipment.pk,
                "order_id": order.pk,
                "line_id": line.pk,
                "carrier": carrier,
                "tracking_number": tracking_number,
                "insured": insured,
                "purpose": purpose,
                "shipped_at": _iso(shipped_at),
            },
        )
        if purpose == "outbound":
            _sync_order_progress(order, actor=actor, occurred_at=shipped_at)
        shipment_id = shipment.pk
        transaction.on_commit(lambda: _carrier().shipment_registered(shipment_id), robust=True)
    return shipment


def _carrier():
    from .adapters import get_carrier

    return get_carrier()


def _payment_gateway():
    from .adapters import get_payment_gateway

    return get_payment_gateway()


def _tracking_event_apply(
    shipment, *, kind, occurred_at, location, description, external_id, actor
):
    """Insert one event into the locked ``shipment``; returns ``(event, created, first_signed)``."""
    if external_id:
        existing = TrackingEvent.objects.filter(shipment=shipment, external_id=external_id).first()
        if existing is not None:
            return existing, False, False
    event = TrackingEvent.objects.create(
        shipment=shipment,
        kind=kind,
        occurred_at=occurred_at,
        location=location or "",
        description=description or "",
        external_id=external_id or "",
    )
    before = shipment.status
    shipment.status = rules.shipment_status_after(
        current=shipment.status,
        kind=kind,
        occurred_at=occurred_at,
        last_event_at=shipment.last_event_at,
    )
    shipment.last_event_at = max(filter(None, [shipment.last_event_at, occurred_at]))
    first_signed = kind == "signed" and shipment.signed_at is None
    if first_signed:
        shipment.signed_at = occurred_at
    shipment.save(update_fields=["status", "last_event_at", "signed_at"])
    timeline_record(
        subject=shipment,
        verb="shipment.tracking_event",
        actor=actor,
        from_status=before if before != shipment.status else "",
        to_status=shipment.status if before != shipment.status else "",
        occurred_at=occurred_at,
        data={"event_id": event.pk, "kind": kind, "location": event.location},
    )
    event_publish(
        "shipment.tracking_event",
        subject=shipment,
        payload={
            "shipment_id": shipment.pk,
            "order_id": shipment.order_id,
            "line_id": shipment.line_id,
            "tracking_event_id": event.pk,
            "kind": kind,
            "occurred_at": _iso(occurred_at),
            "location": event.location,
            "description": event.description,
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "shipment_status": shipment.status,
        },
    )
    if first_signed:
        event_publish(
            "shipment.signed",
            subject=shipment,
            payload={
                "shipment_id": shipment.pk,
                "order_id": shipment.order_id,
                "line_id": shipment.line_id,
                "signed_at": _iso(occurred_at),
            },
        )
    return event, True, first_signed


def tracking_event_record(
    *, shipment, kind, occurred_at, actor, location="", description="", external_id=""
):
    """Add a node to a parcel's trajectory (standard 6.2.1, kept as evidence per 6.2.3.2).

    Events may arrive late and out of order; a repeat of ``external_id`` changes nothing.
    Returns ``(event, created)``. The first ``signed`` event marks the shipment signed and, once
    every line is signed for, the order delivered; a high-value line also needs its sign-off
    with an electronic signature (6.2.3.1, ``sign_off_record``).
    """
    require_merchant_write(actor, shipment.merchant_id, consumer_id=shipment.order.consumer_id)
    if kind not in TrackingEvent.Kind.values:
        raise InvalidInput(
            "轨迹节点无效。",
            code="tracking_kind_invalid",
            fields={"kind": TrackingEvent.Kind.values},
        )
    if occurred_at is None or occurred_at.tzinfo is None:
        raise InvalidInput(
            "发生时间必须带时区。",
            code="occurred_at_invalid",
            fields={"occurred_at": "timezone required"},
        )
    if occurred_at > clock.now() + FUTURE_TOLERANCE:
        raise InvalidInput(
            "发生时间不能在未来。", code="occurred_at_in_future", fields={"occurred_at": "future"}
        )
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if occurred_at < shipment.shipped_at - FUTURE_TOLERANCE:
            raise InvalidInput(
                "发生时间早于发货时间。",
                code="occurred_at_before_shipping",
                fields={"occurred_at": _iso(shipment.shipped_at)},
            )
        event, created, first_signed = _tracking_event_apply(
            shipment,
            kind=kind,
            occurred_at=occurred_at,
            location=location,
            description=description,
            external_id=external_id,
            actor=actor,
        )
        if first_signed and shipment.purpose == "outbound":
            _sync_order_progress(shipment.order, actor=actor, occurred_at=occurred_at)
    return event, created


def sign_off_record(
    *, shipment, signer_name, signed_at, actor, signer_relation="self", e_signature=""
):
    """Record who signed for a parcel (standard 6.2.3.1).

    For lines at or above the high-value threshold an electronic signature is required. When
    the carrier has not reported ``signed`` yet, the sign-off records that event too.
    """
    require_merchant_write(actor, shipment.merchant_id, consumer_id=shipment.order.consumer_id)
    if signer_relation not in rules.SIGNER_RELATIONS:
        raise InvalidInput(
            "签收关系无效。",
            code="signer_relation_invalid",
            fields={"signer_relation": sorted(rules.SIGNER_RELATIONS)},
        )
    if signed_at is None or signed_at.tzinfo is None or signed_at > clock.now() + FUTURE_TOLERANCE:
        raise InvalidInput(
            "签收时间无效。", code="signed_at_invalid", fields={"signed_at": "invalid"}
        )
    line = OrderLine.objects.select_related("order", "sku__product").get(pk=shipment.line_id)
    high_value = line_is_high_value(line)
    errors = rules.sign_off_errors(
        high_value=high_value, e_signature=e_signature, signer_name=signer_name
    )
    if errors:
        raise InvalidInput(
            "高价值商品签收须有电子签名（6.2.3.1）。"
            if "e_signature" in errors
            else "签收信息不完整。",
            code=next(iter(errors.values())),
            fields=errors,
        )
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        # The sign-off time starts the consumer's windows (RULES.md R1, G1); one before the
        # parcel left would shorten them, as tracking_event_record already refuses.
        if signed_at < shipment.shipped_at - FUTURE_TOLERANCE:
            raise InvalidInput(
                "签收时间早于发货时间。",
                code="signed_at_before_shipping",
                fields={"signed_at": _iso(shipment.shipped_at)},
            )
        if SignOff.objects.filter(shipment=shipment).exists():
            raise Conflict("该包裹已有签收记录。", code="already_signed_off")
        sign_off = SignOff.objects.create(
            shipment=shipment,
            signer_name=signer_name,
            signer_relation=signer_relation,
            signed_at=signed_at,
            e_signature=e_signature or "",
            recorded_by=actor.user if getattr(actor.user, "pk", None) else None,
        )
        timeline_record(
            subject=shipment,
            verb="shipment.signed_off",
            actor=actor,
            occurred_at=signed_at,
            data={
                "relation": signer_relation,
                "e_signature": bool(e_signature),
                "high_value": high_value,
            },
        )
        first_signed = False
        if shipment.signed_at is None:
            _, _, first_signed = _tracking_event_apply(
                shipment,
                kind="signed",
                occurred_at=signed_at,
                location="",
                description="签收人已签收",
                external_id=f"signoff-{shipment.pk}",
                actor=actor,
            )
        # A high-value parcel the carrier already reported signed is delivered only now.
        if (first_signed or high_value) and shipment.purpose == "outbound":
            _sync_order_progress(shipment.order, actor=actor, occurred_at=signed_at)
    return sign_off


# -- gateway refunds ----------------------------------------------------------------------------


def gateway_refund_request(*, tender, amount, request_id, actor, reason=""):
    """Ask the payment gateway to refund ``amount`` to ``tender`` (RULES.md R7).

    Idempotent by ``request_id``: a repeat returns the same request. The answer arrives
    asynchronously (``gateway_refund_attempt_record``); the tender's refunded amount grows only
    on success, and pending plus refunded never exceed what the tender paid.
    """
    amount = _money(amount, "amount")
    if not request_id:
        raise InvalidInput(
            "需要请求号。", code="request_id_required", fields={"request_id": "required"}
        )
    gateway = _payment_gateway()
    with transaction.atomic():
        tender = (
            Tender.objects.select_for_update().select_related("payment__order").get(pk=tender.pk)
        )
        order = tender.payment.order
        require_merchant_write(actor, order.merchant_id)
        existing = GatewayRefund.objects.filter(request_id=request_id).first()
        if existing is not None:
            if existing.tender_id != tender.pk or existing.amount != amount:
                raise Conflict(
                    "该请求号已用于另一笔退款。",
                    code="refund_request_id_reused",
                    fields={"request_id": request_id},
                )
            return existing
        pending = (
            tender.gateway_refunds.filter(status="pending").aggregate(s=Sum("amount"))["s"] or ZERO
        )
        if not rules.refundable(
            tender_amount=tender.amount,
            refunded=tender.refunded_amount,
            pending=pending,
            amount=amount,
        ):
            left = tender.amount - tender.refunded_amount - pending
            raise RuleViolation(
                f"退款金额超出该支付方式可退余额 {left}。",
                code="refund_exceeds_tender",
                fields={"amount": str(left)},
            )
        refund = GatewayRefund.objects.create(
            tender=tender,
            order=order,
            merchant_id=order.merchant_id,
            request_id=request_id,
            amount=amount,
            gateway=gateway.name,
            reason=reason or "",
            requested_at=clock.now(),
        )
        timeline_record(
            subject=order,
            verb="refund.requested",
            actor=actor,
            reason=reason,
            data={
                "gateway_refund_id": refund.pk,
                "tender": tender.kind,
                "amount": str(amount),
                "request_id": request_id,
            },
        )
        refund_id = refund.pk
        transaction.on_commit(lambda: gateway.submit_refund(refund_id), robust=True)
    return refund


def _attempt_retry(row, *, verb, id_field, reason, actor):
    """The gateway said "try again" for a pending refund or transfer (its ``attempts`` already
    counted): keep the error and record the attempt on the order's timeline."""
    row.last_error = reason[:200]
    row.save(update_fields=["attempts", "last_error"])
    timeline_record(
        subject=row.order,
        verb=f"{verb}.attempt_failed",
        actor=actor,
        reason=reason,
        data={id_field: row.pk, "attempt": row.attempts},
    )


def _attempt_settle(row, outcome, *, reason, gateway_ref, now):
    """The gateway settled a pending refund or transfer: ``succeeded`` or ``failed`` (with the
    reason), its reference kept when this answer has none."""
    row.status = outcome
    row.settled_at = now
    row.gateway_ref = gateway_ref or row.gateway_ref
    if outcome == "failed":
        row.failure_reason = reason[:200]
    row.save(update_fields=["attempts", "status", "settled_at", "gateway_ref", "failure_reason"])


def gateway_refund_attempt_record(*, refund, outcome, actor=SYSTEM, reason="", gateway_ref=""):
    """Record one answer of the gateway: ``succeeded``, ``failed`` or ``retry`` (try again).

    Only a pending refund changes, so a repeated callback changes nothing. Success adds to the
    tender's refunded amount (never above what it paid) and publishes ``refund.succeeded``;
    failure publishes ``refund.failed``.
    """
    if outcome not in ("succeeded", "failed", "retry"):
        raise InvalidInput("结果无效。", code="refund_outcome_invalid")
    with transaction.atomic():
        tender = Tender.objects.select_for_update().get(pk=refund.tender_id)
        refund = GatewayRefund.objects.select_for_update().select_related("order").get(pk=refund.pk)
        if refund.status != GatewayRefund.Status.PENDING:
            return refund
        refund.attempts += 1
        if outcome == "retry":
            _attempt_retry(
                refund, verb="refund", id_field="gateway_refund_id", reason=reason, actor=actor
            )
            return refund
        if outcome == "succeeded" and tender.refunded_amount + refund.amount > tender.amount:
            outcome, reason = "failed", "exceeds_tender"
        now = clock.now()
        if outcome == "succeeded":
            tender.refunded_amount += refund.amount
            tender.save(update_fields=["refunded_amount"])
        _attempt_settle(refund, outcome, reason=reason, gateway_ref=gateway_ref, now=now)
        timeline_record(
            subject=refund.order,
            verb=f"refund.{outcome}",
            actor=actor,
            reason=reason,
            data={
                "gateway_refund_id": refund.pk,
                "amount": str(refund.amount),
                "tender": tender.kind,
            },
        )
        event_publish(
            f"refund.{outcome}",
            subject=refund,
            payload={
                "gateway_refund_id": refund.pk,
                "request_id": refund.request_id,
                "tender_id": tender.pk,
                "tender_kind": tender.kind,
                "payment_id": tender.payment_id,
                "order_id": refund.order_id,
                "amount": str(refund.amount),
                "gateway_ref": refund.gateway_ref,
                "failure_reason": refund.failure_reason,
                "settled_at": _iso(now),
            },
        )
    return refund


# -- gateway charges and payouts ----------------------------------------------------------------

TRANSFER_METHODS = ("card", "balance")


def gateway_transfer_request(
    *,
    direction,
    order,
    amount,
    request_id,
    actor,
    tender=None,
    method="",
    refund_of=None,
    reason="",
):
    """Ask the payment gateway to collect (``charge``) or pay (``payout``) ``amount`` for
    ``order``: an exchange's price difference (R18), a return shipping reimbursement (R9), the
    refund of a charge (``refund_of``, never above it). Not a refund of a tender: the tender's
    refunded amount does not change (R7).

    Idempotent by ``request_id``: a repeat returns the same row. The answer arrives
    asynchronously (``gateway_transfer_attempt_record``).
    """
    amount = _money(amount, "amount")
    if direction not in GatewayTransfer.Direction.values:
        raise InvalidInput("方向无效。", code="transfer_direction_invalid")
    if not request_id:
        raise InvalidInput(
            "需要请求号。", code="request_id_required", fields={"request_id": "required"}
        )
    method = method or (tender.kind if tender is not None else "card")
    if method not in TRANSFER_METHODS:
        raise InvalidInput(
            "只能通过银行卡或余额收付款。",
            code="transfer_method_invalid",
            fields={"method": list(TRANSFER_METHODS)},
        )
    gateway = _payment_gateway()
    with transaction.atomic():
        order = Order.objects.get(pk=order.pk)
        require_merchant_write(actor, order.merchant_id, consumer_id=order.consumer_id)
        if tender is not None and tender.payment.order_id != order.pk:
            raise InvalidInput("支付方式不属于该订单。", code="tender_not_of_order")
        existing = GatewayTransfer.objects.filter(request_id=request_id).first()
        if existing is not None:
            if existing.amount != amount or existing.direction != direction:
                raise Conflict(
                    "该请求号已用于另一笔收付款。",
                    code="transfer_request_id_reused",
                    fields={"request_id": request_id},
                )
            return existing
        if refund_of is not None:
            # No row lock: the caller serializes give-backs of one charge (returns locks the
            # request), and locking here would invert the settle order (transfer → request).
            refund_of = GatewayTransfer.objects.get(pk=refund_of.pk)
            given_back = (
                refund_of.refunds.exclude(status="failed").aggregate(s=Sum("amount"))["s"] or ZERO
            )
            if refund_of.status != "succeeded" or given_back + amount > refund_of.amount:
                raise RuleViolation(
                    f"退还金额超出原收款可退余额 {refund_of.amount - given_back}。",
                    code="transfer_refund_exceeds_charge",
                    fields={"amount": str(refund_of.amount - given_back)},
                )
        transfer = GatewayTransfer.objects.create(
            direction=direction,
            order=order,
            merchant_id=order.merchant_id,
            tender=tender,
            method=method,
            refund_of=refund_of,
            request_id=request_id,
            amount=amount,
            gateway=gateway.name,
            reason=(reason or "")[:200],
            requested_at=clock.now(),
        )
        timeline_record(
            subject=order,
            verb=f"{direction}.requested",
            actor=actor,
            reason=reason,
            data={
                "gateway_transfer_id": transfer.pk,
                "method": method,
                "amount": str(amount),
                "request_id": request_id,
            },
        )
        transfer_id = transfer.pk
        transaction.on_commit(lambda: gateway.submit_transfer(transfer_id), robust=True)
    return transfer


def gateway_transfer_attempt_record(*, transfer, outcome, actor=SYSTEM, reason="", gateway_ref=""):
    """Record one answer of the gateway to a charge or payout: ``succeeded``, ``failed`` or
    ``retry``. Only a pending row changes (a repeated callback changes nothing); a settlement
    publishes ``charge.succeeded`` / ``charge.failed`` / ``payout.succeeded`` /
    ``payout.failed``."""
    if outcome not in ("succeeded", "failed", "retry"):
        raise InvalidInput("结果无效。", code="transfer_outcome_invalid")
    with transaction.atomic():
        transfer = (
            GatewayTransfer.objects.select_for_update().select_related("order").get(pk=transfer.pk)
        )
        if transfer.status != GatewayTransfer.Status.PENDING:
            return transfer
        transfer.attempts += 1
        verb = transfer.direction
        if outcome == "retry":
            _attempt_retry(
                transfer, verb=verb, id_field="gateway_transfer_id", reason=reason, actor=actor
            )
            return transfer
        now = clock.now()
        _attempt_settle(transfer, outcome, reason=reason, gateway_ref=gateway_ref, now=now)
        timeline_record(
            subject=transfer.order,
            verb=f"{verb}.{outcome}",
            actor=actor,
            reason=reason,
            data={"gateway_transfer_id": transfer.pk, "amount": str(transfer.amount)},
        )
        event_publish(
            f"{verb}.{outcome}",
            subject=transfer,
            payload={
                "gateway_transfer_id": transfer.pk,
                "direction": transfer.direction,
                "request_id": transfer.request_id,
                "order_id": transfer.order_id,
                "tender_id": transfer.tender_id,
                "method": transfer.method,
                "refund_of_id": transfer.refund_of_id,
                "amount": str(transfer.amount),
                "gateway_ref": transfer.gateway_ref,
                "failure_reason": transfer.failure_reason,
                "settled_at": _iso(now),
            },
        )
    return transfer


# -- pickups ------------------------------------------------------------------------------------


def pickup_book(*, request_id, slot_start, slot_end, contact, actor, merchant=None, subject=None):
    """Book a carrier pickup for a time slot (RULES.md R16, standard 6.3.2.3).

    Idempotent by ``request_id``. The carrier confirms asynchronously (``pickup_confirm``) or
    refuses the slot (``pickup_fail``). ``contact``: name, phone, province, city, district,
    street (encrypted at rest, D1).
    """
    if merchant is not None:
        require_merchant_write(actor, merchant.pk)
    elif not actor.platform_write and not actor.is_consumer:
        raise NotFound()
    if slot_end <= slot_start:
        raise InvalidInput(
            "预约结束时间必须晚于开始时间。",
            code="pickup_slot_invalid",
            fields={"slot_end": "after slot_start"},
        )
    if slot_start < clock.now():
        raise InvalidInput(
            "预约时间已过。", code="pickup_slot_in_past", fields={"slot_start": "past"}
        )
    carrier = _carrier()
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
        )
        timeline_record(
            subject=booking,
            verb="pickup.requested",
            actor=actor,
            to_status=booking.status,
            data={"slot_start": _iso(slot_start), "slot_end": _iso(slot_end)},
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
                "slot_start": _iso(booking.slot_start),
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
