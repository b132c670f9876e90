"""Demo catalog and orders (called by ``demo.seed.seed_all`` after the kernel's rows).

Categories in every no-reason class (RULES.md R1–R4) and in the 三包 catalog, products with
SKUs and price history (some with a price-protection badge), and 500 orders spread over every
shipping state over the last 60 days, with mixed-tender payments, tracking trajectories and
sign-offs (electronic signature above the high-value threshold).
"""

import hashlib
from datetime import timedelta
from decimal import Decimal

from aftersales import clock
from aftersales.money import ZERO, split_pro_rata, yuan
from orders.models import (
    Category,
    NoReasonClass,
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

ORDER_COUNT = 500
HIGH_VALUE = Decimal("5000.00")  # RULES.md R17 default; lines above it are insured and e-signed

A, X, E = NoReasonClass.ALLOWED, NoReasonClass.EXCLUDED_BY_LAW, NoReasonClass.EXCLUDABLE

# code, name, class, exclusion reason, needs installation, 三包 code, merchant code,
# [(product name, [(spec, price)])]
CATEGORIES = [
    (
        "apparel",
        "服装",  # i18n-exempt: demo data
        A,
        "",
        False,
        "",
        "living",
        [
            (
                "纯棉圆领T恤",  # i18n-exempt: demo data
                [
                    (
                        "白色 M",  # i18n-exempt: demo data
                        "79.00",
                    ),
                    (
                        "黑色 L",  # i18n-exempt: demo data
                        "79.00",
                    ),
                    (
                        "灰色 XL",  # i18n-exempt: demo data
                        "89.00",
                    ),
                ],
            ),
            (
                "羽绒服 轻薄款",  # i18n-exempt: demo data
                [
                    (
                        "藏青 170",  # i18n-exempt: demo data
                        "499.00",
                    ),
                    (
                        "米白 165",  # i18n-exempt: demo data
                        "499.00",
                    ),
                ],
            ),
        ],
    ),
    (
        "home",
        "家居日用",  # i18n-exempt: demo data
        A,
        "",
        False,
        "",
        "living",
        [
            ("记忆棉枕头", [("标准款", "129.00")]),  # i18n-exempt: demo data
            (
                "不锈钢保温杯 500ml",  # i18n-exempt: demo data
                [
                    (
                        "银色",  # i18n-exempt: demo data
                        "89.00",
                    ),
                    (
                        "玫瑰金",  # i18n-exempt: demo data
                        "99.00",
                    ),
                ],
            ),
        ],
    ),
    (
        "books",
        "图书",  # i18n-exempt: demo data
        A,
        "",
        False,
        "",
        "living",
        [
            ("《三体》全集", [("平装", "93.00")]),  # i18n-exempt: demo data
            ("《Python 编程：从入门到实践》", [("第3版", "89.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "accessories",
        "数码配件",  # i18n-exempt: demo data
        A,
        "",
        False,
        "",
        "digital",
        [
            ("65W 氮化镓充电器", [("白色", "149.00")]),  # i18n-exempt: demo data
            ("蓝牙耳机 Pro", [("白色", "899.00"), ("黑色", "899.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "custom-furniture",
        "定制家具",  # i18n-exempt: demo data
        X,
        "custom_made",
        True,
        "",
        "living",
        [
            ("全屋定制衣柜", [("按尺寸定制 / 米", "2680.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "fresh-fruit",
        "生鲜水果",  # i18n-exempt: demo data
        X,
        "perishable",
        False,
        "",
        "fresh",
        [
            ("赣南脐橙 5kg", [("精选果", "59.90")]),  # i18n-exempt: demo data
            ("智利车厘子 2kg", [("JJ 级", "268.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "digital-download",
        "数字音乐与软件",  # i18n-exempt: demo data
        X,
        "digital",
        False,
        "",
        "digital",
        [
            ("办公软件 年度授权（下载版）", [("个人版", "298.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "periodicals",
        "报纸期刊",  # i18n-exempt: demo data
        X,
        "periodical",
        False,
        "",
        "living",
        [
            ("《读者》年度订阅", [("2027 全年", "216.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "cosmetics",
        "美妆护肤",  # i18n-exempt: demo data
        E,
        "health_safety",
        False,
        "",
        "living",
        [
            ("保湿精华液 30ml", [("30ml", "329.00")]),  # i18n-exempt: demo data
            ("口红 经典色", [("#999", "320.00"), ("#196", "320.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "prepaid-cards",
        "充值卡与激活卡",  # i18n-exempt: demo data
        E,
        "activation_value",
        False,
        "",
        "digital",
        [
            ("视频会员年卡（激活码）", [("12 个月", "198.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "near-expiry",
        "临期食品",  # i18n-exempt: demo data
        E,
        "near_expiry",
        False,
        "",
        "fresh",
        [
            ("进口燕麦片 临期特价", [("1kg", "29.90")]),  # i18n-exempt: demo data
            ("坚果礼盒 临期", [("750g", "59.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "bicycle",
        "自行车",  # i18n-exempt: demo data
        A,
        "",
        True,
        "bicycle",
        "living",
        [
            (
                "城市通勤自行车",  # i18n-exempt: demo data
                [
                    (
                        "26 寸 7 速",  # i18n-exempt: demo data
                        "1299.00",
                    ),
                    (
                        "27.5 寸 21 速",  # i18n-exempt: demo data
                        "1699.00",
                    ),
                ],
            ),
        ],
    ),
    (
        "crt-tv",
        "彩色电视机（显像管）",  # i18n-exempt: demo data
        A,
        "",
        False,
        "crt_tv",
        "digital",
        [
            ("29 英寸纯平彩电", [("29 英寸", "1599.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "lcd-tv",
        "液晶/等离子电视",  # i18n-exempt: demo data
        A,
        "",
        True,
        "lcd_tv",
        "digital",
        [
            ("65 英寸 4K 液晶电视", [("65 英寸", "3000.00")]),  # i18n-exempt: demo data
            ("85 英寸 Mini LED 电视", [("85 英寸", "8999.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "video-recorder",
        "家用录像机",  # i18n-exempt: demo data
        A,
        "",
        False,
        "video_recorder",
        "digital",
        [
            ("家用数字录像机", [("标准版", "899.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "mobile-phone",
        "移动电话机",  # i18n-exempt: demo data
        A,
        "",
        False,
        "mobile_phone",
        "digital",
        [
            (
                "智能手机 X5",  # i18n-exempt: demo data
                [
                    (
                        "8+256G 黑色",  # i18n-exempt: demo data
                        "3999.00",
                    ),
                    (
                        "12+512G 蓝色",  # i18n-exempt: demo data
                        "5499.00",
                    ),
                ],
            ),
            ("老人手机", [("红色", "299.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "microcomputer",
        "微型计算机",  # i18n-exempt: demo data
        A,
        "",
        False,
        "microcomputer",
        "digital",
        [
            (
                "轻薄笔记本 14 英寸",  # i18n-exempt: demo data
                [("16G+1T", "6499.00"), ("32G+1T", "7999.00")],
            ),
            ("台式电脑主机", [("i5/16G/512G", "4299.00")]),  # i18n-exempt: demo data
        ],
    ),
    (
        "home-av",
        "家用视听设备",  # i18n-exempt: demo data
        A,
        "",
        True,
        "home_av",
        "digital",
        [
            ("回音壁音响套装", [("5.1 声道", "2599.00")]),  # i18n-exempt: demo data
            ("蓝光播放机", [("4K", "1299.00")]),  # i18n-exempt: demo data
        ],
    ),
]

# (state, weight, min age in days, max age in days). Each order is in one shipping state.
STATES = [
    ("pending_payment", 5, 0.02, 1.5),
    ("paid", 8, 0.1, 3),
    ("partially_shipped", 4, 1, 5),
    ("in_transit", 10, 1, 6),
    ("out_for_delivery", 6, 1.5, 6),
    ("exception", 5, 2, 20),
    ("signed", 20, 2, 20),
    ("completed", 35, 16, 60),
    ("cancelled", 7, 0.5, 60),
]
CARRIERS = [
    ("顺丰速运", "SF"),  # i18n-exempt: demo data
    ("中通快递", "ZTO"),  # i18n-exempt: demo data
    ("圆通速递", "YT"),  # i18n-exempt: demo data
    ("京东物流", "JD"),  # i18n-exempt: demo data
    ("韵达快递", "YD"),  # i18n-exempt: demo data
]
HUBS = [
    "上海转运中心",  # i18n-exempt: demo data
    "北京转运中心",  # i18n-exempt: demo data
    "广州转运中心",  # i18n-exempt: demo data
    "杭州转运中心",  # i18n-exempt: demo data
    "武汉转运中心",  # i18n-exempt: demo data
    "成都转运中心",  # i18n-exempt: demo data
    "郑州转运中心",  # i18n-exempt: demo data
    "深圳转运中心",  # i18n-exempt: demo data
]
MERCHANT_CITY = {
    "digital": "深圳市",  # i18n-exempt: demo data
    "living": "杭州市",  # i18n-exempt: demo data
    "fresh": "上海市",  # i18n-exempt: demo data
}
PRICE_PROTECTION = [None, None, 7, 15, 30]
TENDER_MIXES = [
    ("card",),
    ("card",),
    ("balance",),
    ("card", "balance"),
    ("card", "points"),
    ("card", "coupon"),
    ("balance", "points", "coupon"),
    ("card", "balance", "points", "coupon"),
]


def seed(ctx):
    rng = ctx.rng
    merchants = {m.code: m for m in ctx.data["merchants"]}
    categories, skus_by_merchant = _seed_catalog(ctx, rng, merchants)
    ctx.data["categories"] = categories
    orders = _seed_orders(ctx, rng, skus_by_merchant)
    ctx.data["orders"] = orders


def _seed_catalog(ctx, rng, merchants):
    Category.objects.bulk_create(
        [
            Category(
                code=code,
                name=name,
                no_reason_class=cls,
                exclusion_reason=reason,
                needs_installation=install,
                sanbao_code=sanbao,
            )
            for code, name, cls, reason, install, sanbao, _m, _p in CATEGORIES
        ]
    )
    categories = {c.code: c for c in Category.objects.filter(code__in=[c[0] for c in CATEGORIES])}

    products = []
    for code, _n, _c, _r, _i, _s, merchant_code, items in CATEGORIES:
        for name, specs in items:
            product = Product(
                merchant=merchants[merchant_code],
                category=categories[code],
                name=name,
                external_id=f"demo-p{len(products) + 1:03d}",
                price_protection_days=rng.choice(PRICE_PROTECTION),
                created_at=ctx.now - timedelta(days=90),
            )
            product.demo_specs = specs
            products.append(product)
    Product.objects.bulk_create(products)
    saved = {
        p.external_id: p
        for p in Product.objects.filter(external_id__in=[p.external_id for p in products])
    }

    skus = []
    for product in products:
        for i, (spec, price) in enumerate(product.demo_specs):
            skus.append(
                Sku(
                    product=saved[product.external_id],
                    code=f"DEMO-{product.external_id[6:]}-{i + 1}",
                    spec=spec,
                    price=Decimal(price),
                    stock=rng.randint(5, 500),
                )
            )
    Sku.objects.bulk_create(skus)
    skus = list(
        Sku.objects.filter(code__in=[s.code for s in skus])
        .select_related("product__category")
        .order_by("id")
    )

    # Price history: a launch price 90 days ago, then one to three changes; the current price
    # is the last one. Orders use the price in force when they were placed.
    history = []
    for sku in skus:
        current = sku.price
        points = [(ctx.now - timedelta(days=90), yuan(current * Decimal("1.15")))]
        for days in sorted(rng.sample(range(2, 85), rng.randint(1, 3)), reverse=True):
            factor = Decimal(rng.choice(["1.10", "1.05", "1.00", "0.95"]))
            points.append(
                (ctx.now - timedelta(days=days, hours=rng.randint(0, 23)), yuan(current * factor))
            )
        points[-1] = (points[-1][0], current)
        sku.demo_history = points
        history += [PriceChange(sku=sku, price=price, effective_at=at) for at, price in points]
    PriceChange.objects.bulk_create(history)

    by_merchant = {}
    for sku in skus:
        by_merchant.setdefault(sku.product.merchant_id, []).append(sku)
    ctx.count("categories", len(categories))
    ctx.count("products", len(products))
    ctx.count("skus", len(skus))
    ctx.count("price_changes", len(history))
    return categories, by_merchant


def _price_at(sku, at):
    price = sku.demo_history[0][1]
    for effective_at, value in sku.demo_history:
        if effective_at <= at:
            price = value
    return price


def _seed_orders(ctx, rng, skus_by_merchant):
    consumers = ctx.data["consumers"]
    merchants = ctx.data["merchants"]
    states = [s for s, w, _lo, _hi in STATES for _ in range(w)]
    ages = {s: (lo, hi) for s, _w, lo, hi in STATES}

    # Every state gets at least a few orders; the rest follow the weights.
    plan = [s for s, _w, _lo, _hi in STATES for _ in range(3)]
    plan += [rng.choice(states) for _ in range(ORDER_COUNT - len(plan))]
    rng.shuffle(plan)

    orders, lines_by_order = [], []
    for i, state in enumerate(plan):
        lo, hi = ages[state]
        placed_at = ctx.now - timedelta(days=rng.uniform(lo, hi))
        merchant = merchants[i % len(merchants)]
        consumer = consumers[rng.randrange(len(consumers))]
        address = consumer.demo_addresses[0]
        pool = skus_by_merchant[merchant.pk]
        n_lines = 2 if state == "partially_shipped" else rng.choice([1, 1, 1, 2, 2, 3])
        chosen = rng.sample(pool, min(n_lines, len(pool)))
        paid = state not in ("pending_payment", "cancelled")
        order = Order(
            merchant=merchant,
            consumer=consumer,
            number=f"{clock.local(placed_at):%Y%m%d}{merchant.pk:02d}{i + 1:05d}",
            status={
                "in_transit": "shipped",
                "out_for_delivery": "shipped",
                "exception": "shipped",
                "signed": "delivered",
            }.get(state, state),
            placed_at=placed_at,
            created_at=placed_at,
            paid_at=placed_at + timedelta(minutes=rng.randint(1, 30)) if paid else None,
            ship_name=address.recipient,
            ship_phone=address.phone,
            ship_province=address.province,
            ship_city=address.city,
            ship_district=address.district,
            ship_street=address.street,
            ship_unit=address.unit,
        )
        order.demo_state = state
        lines = []
        for sku in chosen:
            quantity = rng.choice([1, 1, 1, 2, 3]) if sku.price < 500 else 1
            unit_price = _price_at(sku, placed_at)
            gross = unit_price * quantity
            lines.append(
                OrderLine(
                    sku=sku,
                    product_name=sku.product.name,
                    spec=sku.spec,
                    quantity=quantity,
                    unit_price=unit_price,
                    paid_amount=gross,
                )
            )
        # A shop promotion on some orders, allocated over the lines pro rata.
        if rng.random() < 0.3:
            gross_total = sum((line.paid_amount for line in lines), ZERO)
            discount = min(
                yuan(gross_total * Decimal(rng.choice(["0.05", "0.10"]))), Decimal("300.00")
            )
            for line, share in zip(
                lines, split_pro_rata(discount, [ln.paid_amount for ln in lines]), strict=True
            ):
                line.discount_amount = share
                line.paid_amount = line.paid_amount - share
        for line in lines:
            category = line.sku.product.category
            if category.no_reason_class == NoReasonClass.EXCLUDABLE and rng.random() < 0.6:
                line.exclusion_confirmed_at = placed_at
        order.total_amount = sum((line.paid_amount for line in lines), ZERO)
        orders.append(order)
        lines_by_order.append(lines)

    Order.objects.bulk_create(orders, batch_size=250)
    saved = {o.number: o for o in Order.objects.filter(number__in=[o.number for o in orders])}
    all_lines = []
    for order, lines in zip(orders, lines_by_order, strict=True):
        order.pk = saved[order.number].pk
        for line in lines:
            line.order = order
            all_lines.append(line)
    OrderLine.objects.bulk_create(all_lines, batch_size=500)
    if any(line.pk is None for line in all_lines):  # backends that do not return ids
        ids = list(
            OrderLine.objects.filter(order__in=[o.pk for o in orders])
            .order_by("id")
            .values_list("id", flat=True)
        )
        for line, pk in zip(all_lines, ids, strict=True):
            line.pk = pk

    _seed_payments(ctx, rng, orders)
    _seed_shipments(ctx, rng, orders, lines_by_order)
    ctx.count("orders", len(orders))
    ctx.count("order_lines", len(all_lines))
    return orders


def _seed_payments(ctx, rng, orders):
    payments, tender_plan = [], []
    for order in orders:
        if order.paid_at is None:
            continue
        payments.append(
            Payment(
                order=order,
                external_id=f"PAY{order.number}",
                status="succeeded",
                amount=order.total_amount,
                paid_at=order.paid_at,
            )
        )
        kinds = rng.choice(TENDER_MIXES)
        total = order.total_amount
        # Points and coupons cover a small part; the card or balance pays the rest.
        small = {
            k: min(yuan(rng.randint(5, 50)), yuan(total * Decimal("0.2")))
            for k in kinds
            if k in ("points", "coupon")
        }
        main = [k for k in kinds if k not in small]
        rest = total - sum(small.values(), ZERO)
        if not main or rest <= 0:
            amounts = {kinds[0]: total}
        else:
            amounts = dict(small)
            weights = [rng.randint(1, 3) for _ in main]
            amounts.update(zip(main, split_pro_rata(rest, weights), strict=True))
        tender_plan.append({k: v for k, v in amounts.items() if v > 0} or {"card": total})
    Payment.objects.bulk_create(payments)
    saved = {
        p.external_id: p
        for p in Payment.objects.filter(external_id__in=[p.external_id for p in payments])
    }
    tenders = [
        Tender(
            payment=saved[payment.external_id],
            kind=kind,
            amount=amount,
            reference=f"{kind.upper()}-{payment.external_id[3:]}",
        )
        for payment, plan in zip(payments, tender_plan, strict=True)
        for kind, amount in plan.items()
    ]
    Tender.objects.bulk_create(tenders, batch_size=500)
    ctx.count("payments", len(payments))
    ctx.count("tenders", len(tenders))


def _trajectory(rng, state, shipped_at, origin, destination):
    """Tracking events ``[(kind, occurred_at, location, text)]`` for a parcel in ``state``."""
    events = [
        (
            "picked_up",
            shipped_at + timedelta(hours=rng.uniform(1, 6)),
            f"{origin}揽收网点",  # i18n-exempt: demo data
            "快件已由快递员揽收",  # i18n-exempt: demo data
        )
    ]
    at = events[0][1]
    for hub in rng.sample(HUBS, rng.randint(2, 3)):
        at += timedelta(hours=rng.uniform(4, 14))
        events.append(
            (
                "in_transit",
                at,
                hub,
                f"快件已到达【{hub}】，正发往下一站",  # i18n-exempt: demo data
            )
        )
    if state == "in_transit":
        return events
    if state == "exception":
        at += timedelta(hours=rng.uniform(2, 10))
        reason = rng.choice(
            [
                "收件人电话无法接通，派送失败",  # i18n-exempt: demo data
                "包裹外包装破损，待核实",  # i18n-exempt: demo data
                "地址不详，无法派送",  # i18n-exempt: demo data
            ]
        )
        events.append(("exception", at, f"{destination}派送站", reason))  # i18n-exempt: demo data
        return events
    at += timedelta(hours=rng.uniform(4, 12))
    events.append(
        (
            "out_for_delivery",
            at,
            f"{destination}派送站",  # i18n-exempt: demo data
            "快件正在派送中，快递员将尽快送达",  # i18n-exempt: demo data
        )
    )
    if state == "out_for_delivery":
        return events
    at += timedelta(hours=rng.uniform(1, 5))
    events.append(("signed", at, destination, "快件已签收"))  # i18n-exempt: demo data
    return events


def _fit(start, shipped_at, events, limit):
    """Compress a trajectory that would run past ``limit`` so that it ends before it, keeping
    its order and proportions (``start`` is the payment time)."""
    last = events[-1][1]
    if last <= limit:
        return shipped_at, events
    factor = (limit - start) / (last - start)
    shrink = lambda at: start + (at - start) * factor  # noqa: E731
    return shrink(shipped_at), [(kind, shrink(at), loc, text) for kind, at, loc, text in events]


def _seed_shipments(ctx, rng, orders, lines_by_order):
    now = ctx.now
    shipments, trajectories = [], []
    serial = 0
    for order, lines in zip(orders, lines_by_order, strict=True):
        state = order.demo_state
        if state in ("pending_payment", "paid", "cancelled"):
            continue
        shipped_lines = lines[:1] if state == "partially_shipped" else lines
        parcel_state = {"partially_shipped": "in_transit", "completed": "signed"}.get(state, state)
        shipped_at = order.paid_at + timedelta(hours=rng.uniform(2, 20))
        origin = MERCHANT_CITY.get(order.merchant.code, "杭州市")  # i18n-exempt: demo data
        destination = f"{order.ship_city}{order.ship_district}"
        for line in shipped_lines:
            serial += 1
            carrier, prefix = CARRIERS[serial % len(CARRIERS)]
            events = _trajectory(rng, parcel_state, shipped_at, origin, destination)
            # Every trajectory ends in the past, whatever the order's age.
            line_shipped_at, events = _fit(
                order.paid_at, shipped_at, events, now - timedelta(minutes=20)
            )
            last_kind, last_at = events[-1][0], events[-1][1]
            shipments.append(
                Shipment(
                    order=order,
                    line=line,
                    merchant=order.merchant,
                    carrier=carrier,
                    tracking_number=f"{prefix}{7000000000 + serial * 7919:d}",
                    status=last_kind if parcel_state != "exception" else "exception",
                    insured=line.paid_amount >= HIGH_VALUE,
                    shipped_at=line_shipped_at,
                    last_event_at=last_at,
                    signed_at=last_at if last_kind == "signed" else None,
                )
            )
            trajectories.append((line, events))
    Shipment.objects.bulk_create(shipments, batch_size=500)
    saved = {
        s.tracking_number: s
        for s in Shipment.objects.filter(tracking_number__in=[s.tracking_number for s in shipments])
    }
    tracking, sign_offs = [], []
    for shipment, (line, events) in zip(shipments, trajectories, strict=True):
        shipment = saved[shipment.tracking_number]
        for n, (kind, at, location, description) in enumerate(events):
            tracking.append(
                TrackingEvent(
                    shipment=shipment,
                    kind=kind,
                    occurred_at=at,
                    location=location,
                    description=description,
                    recorded_at=at,
                    external_id=f"{shipment.tracking_number}-{n + 1}",
                )
            )
        if shipment.status == "signed":
            order = line.order
            relation = rng.choice(["self", "self", "self", "family", "locker", "front_desk"])
            signer = {
                "self": order.ship_name,
                "family": "家人代收",  # i18n-exempt: demo data
                "locker": "快递柜",  # i18n-exempt: demo data
                "front_desk": "前台代收",  # i18n-exempt: demo data
            }[relation]
            signature = ""
            if line.paid_amount >= HIGH_VALUE:  # standard 6.2.3.1: e-signature for high-value goods
                digest = hashlib.sha256(f"{shipment.tracking_number}:{signer}".encode()).hexdigest()
                signature = f"sha256:{digest}"
            sign_offs.append(
                SignOff(
                    shipment=shipment,
                    signer_name=signer,
                    signer_relation=relation,
                    signed_at=shipment.signed_at,
                    e_signature=signature,
                )
            )
    TrackingEvent.objects.bulk_create(tracking, batch_size=1000)
    SignOff.objects.bulk_create(sign_offs, batch_size=500)
    ctx.count("shipments", len(shipments))
    ctx.count("tracking_events", len(tracking))
    ctx.count("sign_offs", len(sign_offs))
