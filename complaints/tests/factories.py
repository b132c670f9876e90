"""Factories and helpers of the complaints tests."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from aftersales.tenancy.actors import Actor
from aftersales.tests import factories as af
from orders.tests.factories import OrderFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(year, month, day, hour=12, minute=0, second=0):
    """An aware Shanghai instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def consumer_actor(consumer):
    return Actor(kind="consumer", user=consumer.user, consumer_id=consumer.pk)


def merchant_actor(merchant):
    return Actor(kind="merchant", merchant_id=merchant.pk, merchant_role="agent")


def platform_actor():
    return Actor(kind="platform", groups=frozenset({"after_sales_agent"}))


def order_of(merchant=None, consumer=None):
    merchant = merchant or af.MerchantFactory()
    consumer = consumer or af.ConsumerFactory()
    return OrderFactory(merchant=merchant, consumer=consumer)


def complain(order=None, *, issue="product_quality", amount="100.00", actor=None, **kwargs):
    """A complaint about ``order`` (a new one unless given) made by its consumer."""
    from complaints.services import complaint_create

    order = order or order_of()
    actor = actor or consumer_actor(order.consumer)
    complaint, _created = complaint_create(
        actor=actor,
        subject_kind="order",
        order=order,
        issue=issue,
        description=kwargs.pop("description", "质量问题"),
        amount=Decimal(amount),
        **kwargs,
    )
    return complaint
