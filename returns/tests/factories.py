"""Factories and builders of return requests. Orders, lines, payments and parcels come from
``orders.tests.factories``; requests are made through the services where behaviour matters."""

from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from aftersales import clock
from aftersales.casefile.models import ActorKind
from aftersales.tenancy.actors import SYSTEM, Actor
from aftersales.tests import factories as af
from aftersales.tests.uploads import jpeg_bytes
from orders.models import OrderLine, Payment, Shipment, Tender
from orders.tests import factories as of


def consumer_actor(consumer):
    return Actor(kind=ActorKind.CONSUMER, user=consumer.user, consumer_id=consumer.pk)


def merchant_actor(merchant, user=None):
    return Actor(kind=ActorKind.MERCHANT, user=user, merchant_id=merchant.pk, merchant_role="owner")


def photo(name="damage.jpg", size=64):
    """A real JPEG (the upload check decodes it); ``size`` is its width in pixels."""
    return SimpleUploadedFile(name, jpeg_bytes(size=(size, 16)), content_type="image/jpeg")


def order_line(
    *,
    merchant=None,
    consumer=None,
    price="100.00",
    quantity=1,
    category=None,
    tenders=(("card", None),),
    exclusion_confirmed_at=None,
    paid=None,
):
    """A paid order with one line; ``tenders`` = ``[(kind, amount or None for the rest)]``."""
    merchant = merchant or af.MerchantFactory()
    af.MerchantMemberFactory(merchant=merchant)
    consumer = consumer or af.ConsumerFactory()
    paid_amount = Decimal(paid) if paid is not None else Decimal(price) * quantity
    order = of.OrderFactory(merchant=merchant, consumer=consumer, total_amount=paid_amount)
    sku = of.SkuFactory(
        product=of.ProductFactory(merchant=merchant, category=category or of.CategoryFactory()),
        price=Decimal(price),
        stock=10,
    )
    line = OrderLine.objects.create(
        order=order,
        sku=sku,
        product_name=sku.product.name,
        spec=sku.spec,
        quantity=quantity,
        unit_price=Decimal(price),
        discount_amount=Decimal(price) * quantity - paid_amount,
        paid_amount=paid_amount,
        exclusion_confirmed_at=exclusion_confirmed_at,
    )
    payment = Payment.objects.create(
        order=order, external_id=f"PAY-{order.pk}", amount=paid_amount, status="succeeded"
    )
    left = paid_amount
    for kind, amount in tenders:
        amount = Decimal(amount) if amount is not None else left
        Tender.objects.create(payment=payment, kind=kind, amount=amount)
        left -= amount
    return line


def ship(line, *, signed_at=None, shipped_at=None):
    """The line's outbound parcel, signed at ``signed_at`` when given."""
    shipped_at = shipped_at or (signed_at - timedelta(days=1) if signed_at else clock.now())
    return Shipment.objects.create(
        order=line.order,
        line=line,
        merchant=line.order.merchant,
        carrier="SF",
        tracking_number=f"SF{line.pk:010d}",
        shipped_at=shipped_at,
        signed_at=signed_at,
        status="signed" if signed_at else "created",
    )


def signed_line(signed_at=None, **kw):
    line = order_line(**kw)
    ship(line, signed_at=signed_at or clock.now() - timedelta(days=1))
    return line


STAGES = ("requested", "approved", "return_shipped", "received")


def request_at(line, stage="received", *, kind="return_refund", quantity=1, tracking=None):
    """A no-reason request of ``line`` taken through the services up to ``stage``; returns
    ``(request, consumer_actor, merchant_actor)``."""
    from returns import services

    consumer = consumer_actor(line.order.consumer)
    merchant = merchant_actor(line.order.merchant)
    request = services.return_request_create(
        line=line, kind=kind, reason="no_reason", quantity=quantity, actor=consumer
    )
    steps = STAGES[1 : STAGES.index(stage) + 1]
    if "approved" in steps:
        services.return_request_approve(request=request, actor=merchant)
    if "return_shipped" in steps:
        services.return_ship_back(
            request=request,
            actor=consumer,
            carrier="SF",
            tracking_number=tracking or f"RT{request.pk:08d}",
        )
    if "received" in steps:
        services.return_receive(request=request, actor=merchant, intact=True)
    request.refresh_from_db()
    return request, consumer, merchant


__all__ = [
    "SYSTEM",
    "consumer_actor",
    "merchant_actor",
    "order_line",
    "photo",
    "request_at",
    "ship",
    "signed_line",
]
