"""Factories of catalog, orders, payments and shipments. Rows go through the services where
the test is about behaviour; these build fixtures quickly."""

from decimal import Decimal

import factory

from aftersales import clock
from aftersales.tests import factories as af
from orders.models import Category, Order, OrderLine, Payment, Product, Shipment, Sku, Tender


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"cat-{n}")
    name = factory.Sequence(lambda n: f"类目{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    merchant = factory.SubFactory(af.MerchantFactory)
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"商品{n}")


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    spec = "标准版"
    price = Decimal("100.00")
    stock = 10


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    merchant = factory.SubFactory(af.MerchantFactory)
    consumer = factory.SubFactory(af.ConsumerFactory)
    number = factory.Sequence(lambda n: f"SO{n:08d}")
    status = Order.Status.PAID
    placed_at = factory.LazyFunction(clock.now)
    paid_at = factory.LazyFunction(clock.now)
    total_amount = Decimal("100.00")
    ship_name = "张三丰"
    ship_phone = "13812345678"
    ship_province = "上海市"
    ship_city = "上海市"
    ship_district = "浦东新区"
    ship_street = "世纪大道100号"
    ship_unit = "1201室"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.SubFactory(
        SkuFactory, product__merchant=factory.SelfAttribute("...order.merchant")
    )
    product_name = factory.LazyAttribute(lambda o: o.sku.product.name)
    quantity = 1
    unit_price = Decimal("100.00")
    paid_amount = Decimal("100.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    order = factory.SubFactory(OrderFactory)
    external_id = factory.Sequence(lambda n: f"PAY{n:08d}")
    amount = Decimal("100.00")


class TenderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tender

    payment = factory.SubFactory(PaymentFactory)
    kind = Tender.Kind.CARD
    amount = Decimal("100.00")


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    line = factory.SubFactory(OrderLineFactory)
    order = factory.SelfAttribute("line.order")
    merchant = factory.SelfAttribute("line.order.merchant")
    carrier = "SF"
    tracking_number = factory.Sequence(lambda n: f"SF{n:010d}")


def paid_order(merchant, consumer, *, prices=("100.00",), quantity=1, category=None, number=None):
    """An order in ``paid`` with one line per price and a card payment covering it."""
    order = OrderFactory(
        merchant=merchant,
        consumer=consumer,
        total_amount=Decimal("0"),
        **({"number": number} if number else {}),
    )
    total = Decimal("0.00")
    for price in prices:
        sku = SkuFactory(
            product=ProductFactory(merchant=merchant, category=category or CategoryFactory()),
            price=Decimal(price),
        )
        amount = Decimal(price) * quantity
        OrderLineFactory(
            order=order, sku=sku, quantity=quantity, unit_price=Decimal(price), paid_amount=amount
        )
        total += amount
    order.total_amount = total
    order.save(update_fields=["total_amount"])
    payment = PaymentFactory(order=order, amount=total)
    TenderFactory(payment=payment, amount=total)
    return order
