"""Orders with lines, payments, parcels and trajectories for the page and browser tests.

``orders/tests/factories.py`` belongs to the orders services work; these builders only make
the rows the consumer and merchant pages show.
"""

from datetime import timedelta
from decimal import Decimal

import factory

from aftersales import clock
from orders.models import Order, OrderLine, Payment, Shipment, SignOff, Tender, TrackingEvent
from orders.tests import factories

# The page builders are the service factories with the values the page tests look for.


class PageCategoryFactory(factories.CategoryFactory):
    code = "phones"
    name = "手机"


class PageProductFactory(factories.ProductFactory):
    category = factory.SubFactory(PageCategoryFactory)


class PageSkuFactory(factories.SkuFactory):
    product = factory.SubFactory(PageProductFactory)
    code = factory.Sequence(lambda n: f"SKU-P{n:05d}")
    price = Decimal("199.00")


class PageOrderFactory(factories.OrderFactory):
    number = factory.Sequence(lambda n: f"PO2026{n:08d}")
    total_amount = Decimal("0.00")
    ship_province = "浙江省"
    ship_city = "杭州市"
    ship_district = "西湖区"
    ship_street = "文三路 90 号"
    ship_unit = "3 幢 1201 室"


def page_order(
    *,
    consumer,
    merchant,
    product_name="智能手机 X1",
    spec="8GB+256GB",
    quantity=1,
    unit_price=Decimal("2999.00"),
    discount=Decimal("0.00"),
    status=Order.Status.PAID,
    placed_at=None,
    tenders=(("card", None),),
    **kwargs,
):
    """An order with one line and a successful payment split over ``tenders``.

    ``tenders`` is ``((kind, amount), ...)``; ``None`` takes what is left of the paid amount.
    """
    placed_at = placed_at or clock.now() - timedelta(days=3)
    paid = (unit_price * quantity - discount).quantize(Decimal("0.01"))
    order = PageOrderFactory(
        consumer=consumer,
        merchant=merchant,
        status=status,
        placed_at=placed_at,
        paid_at=placed_at + timedelta(minutes=5),
        total_amount=paid,
        **kwargs,
    )
    product = PageProductFactory(merchant=merchant, name=product_name)
    sku = PageSkuFactory(product=product, spec=spec, price=unit_price)
    OrderLine.objects.create(
        order=order,
        sku=sku,
        product_name=product_name,
        spec=spec,
        quantity=quantity,
        unit_price=unit_price,
        discount_amount=discount,
        paid_amount=paid,
    )
    payment = Payment.objects.create(
        order=order,
        external_id=f"PAY-{order.number}",
        amount=paid,
        paid_at=placed_at + timedelta(minutes=5),
    )
    left = paid
    for kind, amount in tenders:
        amount = left if amount is None else Decimal(amount)
        Tender.objects.create(payment=payment, kind=kind, amount=amount, reference=f"T-{kind}")
        left -= amount
    return order


TRAJECTORY = [
    ("picked_up", "杭州市", "快递员已揽收"),
    ("in_transit", "杭州转运中心", "已发往上海转运中心"),
    ("in_transit", "上海转运中心", "已到达上海转运中心"),
    ("out_for_delivery", "上海市浦东新区", "派送员正在为您派件"),
    ("signed", "上海市浦东新区", "已签收，签收人：本人"),
]


def ship_with_trajectory(order, *, events=None, start=None, carrier="顺丰速运", signer="张三丰"):
    """Ship the order's first line and add the first ``events`` nodes of ``TRAJECTORY``,
    six hours apart (all of them by default); a complete trajectory ends with a sign-off."""
    events = len(TRAJECTORY) if events is None else events
    line = order.lines.first()
    start = start or order.placed_at + timedelta(hours=2)
    shipment = Shipment.objects.create(
        order=order,
        line=line,
        merchant=order.merchant,
        carrier=carrier,
        tracking_number=f"SF{order.pk:010d}",
        shipped_at=start,
    )
    last = None
    for i, (kind, location, description) in enumerate(TRAJECTORY[:events]):
        last = TrackingEvent.objects.create(
            shipment=shipment,
            kind=kind,
            location=location,
            description=description,
            occurred_at=start + timedelta(hours=6 * i),
            external_id=f"E{shipment.pk}-{i}",
        )
    if last is not None:
        shipment.status = last.kind
        shipment.last_event_at = last.occurred_at
    if last is not None and last.kind == "signed":
        shipment.signed_at = last.occurred_at
        SignOff.objects.create(
            shipment=shipment,
            signer_name=signer,
            signer_relation="self",
            signed_at=last.occurred_at,
            e_signature="sha256:demo",
        )
    shipment.save()
    return shipment
