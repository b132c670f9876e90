"""Who may read and change the orders endpoints and pages (``tests.matrix``).

Catalog rows are shared reference data (categories) or a merchant's (products, SKUs; consumers
see the active catalog). Orders, payments and parcels belong to their merchant and consumer.
"""

from datetime import timedelta
from decimal import Decimal

from aftersales import clock
from orders.models import (
    Category,
    Order,
    OrderLine,
    Payment,
    PriceChange,
    Product,
    Shipment,
    SignOff,
    Sku,
    Tender,
    TrackingEvent,
)
from tests.matrix import (
    CONSUMER_A,
    CONSUMERS,
    MERCHANT_A,
    PLATFORM_READ,
    PLATFORM_WRITE,
    SIGNED_IN,
    Read,
    Target,
    Write,
    register,
)

OWNERS_READ = CONSUMER_A | MERCHANT_A | PLATFORM_READ  # an order's consumer, merchant, platform
OWNER_WRITE = MERCHANT_A | PLATFORM_WRITE  # its merchant (staff or key) and platform writers
CATALOG_READ = CONSUMERS | MERCHANT_A | PLATFORM_READ


def _category(code="matrix"):
    return Category.objects.get_or_create(code=code, defaults={"name": "矩阵类目"})[0]


def _sku(side):
    product = Product.objects.create(
        merchant=side.merchant, category=_category(), name=f"矩阵商品-{side.code}"
    )
    return Sku.objects.create(
        product=product,
        code=f"MATRIX-{side.code}",
        spec="标准版",
        price=Decimal("100.00"),
        stock=10,
    )


def _order(side, *, shipped=True, paid=True, sku=None, suffix=""):
    """An order of side's consumer at side's merchant with one line, paid (and shipped)."""
    sku = sku or _sku(side)
    now = clock.now()
    status = Order.Status.SHIPPED if shipped else Order.Status.PAID
    order = Order.objects.create(
        merchant=side.merchant,
        consumer=side.consumer,
        number=f"MATRIX-ORDER-{side.code.upper()}{suffix}",
        status=status if paid else Order.Status.PENDING_PAYMENT,
        placed_at=now,
        paid_at=now if paid else None,
        total_amount=Decimal("100.00"),
        ship_name="张三丰",
        ship_phone="13812345678",
        ship_province="上海市",
        ship_city="上海市",
        ship_district="浦东新区",
        ship_street="世纪大道100号",
        ship_unit="1201室",
    )
    line = OrderLine.objects.create(
        order=order,
        sku=sku,
        product_name=sku.product.name,
        spec=sku.spec,
        quantity=1,
        unit_price=Decimal("100.00"),
        paid_amount=Decimal("100.00"),
    )
    payment = None
    if paid:
        payment = Payment.objects.create(
            order=order,
            external_id=f"MATRIX-PAY-{side.code}",
            amount=Decimal("100.00"),
            paid_at=now,
        )
        Tender.objects.create(payment=payment, kind="card", amount=Decimal("100.00"))
    shipment = None
    if shipped:
        shipment = Shipment.objects.create(
            order=order,
            line=line,
            merchant=side.merchant,
            carrier="SF",
            tracking_number=f"SF-MATRIX-{side.code}",
            status=Shipment.Status.IN_TRANSIT,
            shipped_at=now - timedelta(hours=2),
        )
    return {"sku": sku, "order": order, "line": line, "payment": payment, "shipment": shipment}


# -- catalog -------------------------------------------------------------------------------------
def _category_target(w, side):
    category = _category(f"matrix-{side.code}")
    return Target(kwargs={"pk": category.pk}, row=category.pk)


register(
    "category-list",
    setup=_category_target,
    get=Read(SIGNED_IN),
    post=Write(
        PLATFORM_WRITE,
        touches=[Category],
        body={"code": "matrix-new", "name": "新类目", "no_reason_class": "allowed"},
    ),
)
register(
    "category-detail",
    setup=_category_target,
    get=Read(SIGNED_IN),
    patch=Write(PLATFORM_WRITE, touches=[Category], body={"needs_installation": True}),
)


def _product_target(w, side):
    product = _sku(side).product
    return Target(kwargs={"pk": product.pk}, row=product.pk)


register(
    "product-list",
    setup=_product_target,
    get=Read(CATALOG_READ),
    post=Write(
        OWNER_WRITE,
        touches=[Product],
        body=lambda w, t: {
            "merchant": w.a.merchant.pk,
            "category": _category().pk,
            "name": "新商品",
        },
        foreign_body=lambda w, t: {
            "merchant": w.b.merchant.pk,
            "category": _category().pk,
            "name": "新商品",
        },
    ),
)
register(
    "product-detail",
    setup=_product_target,
    get=Read(CATALOG_READ),
    patch=Write(OWNER_WRITE, touches=[Product], body={"name": "改名商品"}),
)


def _sku_target(w, side):
    sku = _sku(side)
    return Target(kwargs={"pk": sku.pk}, row=sku.pk, extra={"product": sku.product_id})


register(
    "sku-list",
    setup=_sku_target,
    get=Read(CATALOG_READ),
    post=Write(
        OWNER_WRITE,
        touches=[Sku],
        body=lambda w, t: {
            "product": t.extra["product"],
            "code": "MATRIX-NEW",
            "price": "88.00",
            "stock": 3,
        },
        foreign_body=lambda w, t: {
            "product": _sku_target(w, w.b).extra["product"],
            "code": "MATRIX-NEW",
            "price": "88.00",
            "stock": 3,
        },
    ),
)
register(
    "sku-detail",
    setup=_sku_target,
    get=Read(CATALOG_READ),
    patch=Write(OWNER_WRITE, touches=[Sku], body={"stock": 99}),
)
register(
    "sku-price",
    setup=_sku_target,
    visible=CATALOG_READ,
    post=Write(OWNER_WRITE, touches=[Sku, PriceChange], body={"price": "79.00"}),
)


# -- orders and payments ---------------------------------------------------------------------------
def _order_target(w, side):
    rows = _order(side, shipped=False)
    order = rows["order"]
    return Target(
        kwargs={"pk": order.pk},
        row=order.pk,
        obj=order,
        extra={"sku": rows["sku"].pk, "number": order.number},
    )


register(
    "order-list",
    grant="orders.view_order",
    setup=_order_target,
    get=Read(OWNERS_READ),
    # Orders are recorded by the platform's shop system: merchants never create them.
    post=Write(
        PLATFORM_WRITE,
        touches=[Order, OrderLine],
        body=lambda w, t: {
            "merchant": w.a.merchant.pk,
            "consumer": w.a.consumer.pk,
            "number": "MATRIX-NEW-ORDER",
            "lines": [{"sku": t.extra["sku"], "quantity": 1}],
        },
        foreign_body=lambda w, t: {
            "merchant": w.b.merchant.pk,
            "consumer": w.b.consumer.pk,
            "number": "MATRIX-NEW-ORDER",
            "lines": [{"sku": _sku(w.b).pk, "quantity": 1}],
        },
    ),
)
register(
    "order-detail",
    grant="orders.view_order",
    setup=_order_target,
    get=Read(OWNERS_READ),
    patch=Write(OWNER_WRITE, touches=[Order], body={"status": "cancelled", "reason": "缺货"}),
)


def _digital_order_target(w, side):
    """An order whose line is digital goods (RULES.md R2: excluded once unsealed)."""
    category = Category.objects.get_or_create(
        code="matrix-digital",
        defaults={
            "name": "矩阵数字商品",
            "no_reason_class": "excluded_by_law",
            "exclusion_reason": "digital",
        },
    )[0]
    product = Product.objects.create(
        merchant=side.merchant, category=category, name=f"矩阵软件-{side.code}"
    )
    sku = Sku.objects.create(
        product=product, code=f"MATRIX-SW-{side.code}", price=Decimal("100.00"), stock=10
    )
    rows = _order(side, shipped=True, sku=sku, suffix="-SW")
    return Target(kwargs={"pk": rows["order"].pk}, extra={"line": rows["line"].pk})


register(
    "order-unsealed",
    setup=_digital_order_target,
    visible=OWNERS_READ,
    # the consumer confirms; the merchant (staff or key) and platform writers report a download
    post=Write(
        CONSUMER_A | OWNER_WRITE, touches=[OrderLine], body=lambda w, t: {"line": t.extra["line"]}
    ),
)


def _payment_target(w, side):
    rows = _order(side, shipped=False)
    unpaid = _order(side, shipped=False, paid=False, sku=rows["sku"], suffix="-UNPAID")
    return Target(
        kwargs={"pk": rows["payment"].pk},
        row=rows["payment"].pk,
        extra={"order": unpaid["order"].pk},
    )


register(
    "payment-list",
    setup=_payment_target,
    get=Read(OWNERS_READ),
    post=Write(
        OWNER_WRITE,
        touches=[Payment, Tender],
        body=lambda w, t: {
            "order": t.extra["order"],
            "external_id": "MATRIX-PAY-NEW",
            "amount": "100.00",
            "tenders": [{"kind": "balance", "amount": "100.00"}],
        },
        foreign_body=lambda w, t: {
            "order": _payment_target(w, w.b).extra["order"],
            "external_id": "MATRIX-PAY-NEW",
            "amount": "100.00",
            "tenders": [{"kind": "balance", "amount": "100.00"}],
        },
    ),
)
register("payment-detail", setup=_payment_target, get=Read(OWNERS_READ))


# -- parcels ------------------------------------------------------------------------------------
def _shipment_target(w, side):
    rows = _order(side, shipped=True)
    spare = _order_line_unshipped(rows["order"], rows["sku"])
    return Target(
        kwargs={"pk": rows["shipment"].pk}, row=rows["shipment"].pk, extra={"line": spare.pk}
    )


def _order_line_unshipped(order, sku):
    return OrderLine.objects.create(
        order=order,
        sku=sku,
        product_name=sku.product.name,
        spec=sku.spec,
        quantity=1,
        unit_price=Decimal("0.00"),
        paid_amount=Decimal("0.00"),
    )


def _recent():
    return (clock.now() - timedelta(minutes=30)).isoformat()


register(
    "shipment-list",
    setup=_shipment_target,
    get=Read(OWNERS_READ),
    post=Write(
        OWNER_WRITE,
        touches=[Shipment],
        body=lambda w, t: {
            "line": t.extra["line"],
            "carrier": "SF",
            "tracking_number": "SF-MATRIX-NEW",
        },
        foreign_body=lambda w, t: {
            "line": _shipment_target(w, w.b).extra["line"],
            "carrier": "SF",
            "tracking_number": "SF-MATRIX-NEW",
        },
    ),
)
register("shipment-detail", setup=_shipment_target, get=Read(OWNERS_READ))
register(
    "shipment-events",
    setup=_shipment_target,
    visible=OWNERS_READ,
    post=Write(
        OWNER_WRITE,
        touches=[TrackingEvent],
        body=lambda w, t: {
            "kind": "out_for_delivery",
            "occurred_at": _recent(),
            "location": "上海浦东",
            "external_id": "EV-MATRIX",
        },
    ),
)
register(
    "shipment-sign-off",
    setup=_shipment_target,
    visible=OWNERS_READ,
    post=Write(
        OWNER_WRITE,
        touches=[SignOff],
        body=lambda w, t: {
            "signer_name": "张三丰",
            "signer_relation": "self",
            "signed_at": _recent(),
        },
    ),
)


# -- pages: the consumer's orders (/my/) and the merchant portal (/merchant/) ---------------------
def _order_page(w, side):
    order = _order(side, shipped=True)["order"]
    return Target(kwargs={"pk": order.pk}, row=order.number)


register("my:order-list", setup=_order_page, get=Read(CONSUMER_A))
register("my:order-detail", setup=_order_page, get=Read(CONSUMER_A))
register("merchant:order-list", setup=_order_page, get=Read(frozenset({"merchant_a"})))
register("merchant:order-detail", setup=_order_page, get=Read(frozenset({"merchant_a"})))


def _unshipped_order_page(w, side):
    parts = _order(side, shipped=False)
    return Target(
        kwargs={"pk": parts["order"].pk},
        row=parts["order"].number,
        extra={"line": parts["line"].pk},
    )


register(
    "merchant:order-ship",
    setup=_unshipped_order_page,
    visible=frozenset({"merchant_a"}),
    post=Write(
        frozenset({"merchant_a"}),
        body=lambda w, t: {
            "line": t.extra["line"],
            "carrier": "顺丰速运",
            "tracking_number": "SFMATRIX0001",
        },
        touches=[Shipment],
        status=(302,),
    ),
)
