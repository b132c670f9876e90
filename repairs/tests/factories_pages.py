"""Warranty cards, providers and repairs for the page and browser tests, built through the
repairs services (the same path as production) on top of the orders factories."""

from datetime import timedelta
from decimal import Decimal

import time_machine

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests import factories as kernel
from orders.models import OrderLine
from orders.tests import factories as orders
from repairs import services
from repairs.models import SanbaoCatalogChange, SanbaoCatalogEntry
from repairs.seed import seed_catalog


def catalog(code="lcd_tv"):
    """The RULES.md seed entry ``code`` (seeded again after a transactional test's flush)."""
    seed_catalog(SanbaoCatalogEntry, SanbaoCatalogChange, now=clock.now())
    return SanbaoCatalogEntry.objects.get(code=code)


def sanbao_line(
    *,
    consumer,
    merchant,
    code="lcd_tv",
    product_name="液晶电视 55 英寸",
    unit_price=Decimal("3000.00"),
    quantity=1,
    ship_province="浙江省",
    stock=10,
):
    """A paid order line of a 三包 category (``code`` of the catalog)."""
    entry = catalog(code)
    category = orders.CategoryFactory(code=f"sanbao-{code}", name=entry.name, sanbao_code=code)
    product = orders.ProductFactory(merchant=merchant, category=category, name=product_name)
    sku = orders.SkuFactory(product=product, price=unit_price, stock=stock)
    order = orders.OrderFactory(
        merchant=merchant,
        consumer=consumer,
        total_amount=unit_price * quantity,
        ship_province=ship_province,
    )
    return OrderLine.objects.create(
        order=order,
        sku=sku,
        product_name=product_name,
        spec=sku.spec,
        quantity=quantity,
        unit_price=unit_price,
        paid_amount=unit_price * quantity,
    )


def card(*, consumer, merchant, signed_days_ago=30, signed_at=None, serials=None, **line_kwargs):
    """A warranty card (the first of its line) signed ``signed_days_ago`` days ago."""
    line = sanbao_line(consumer=consumer, merchant=merchant, **line_kwargs)
    signed_at = signed_at or clock.now() - timedelta(days=signed_days_ago)
    cards = services.warranty_card_create(
        line=line, actor=SYSTEM, signed_at=signed_at, serial_numbers=serials
    )
    return cards[0]


def provider(*, name="顺达家电维修中心", licence="LIC-0001", codes=("lcd_tv",), staff=()):
    """An admitted provider of ``codes`` (nationwide) with ``staff`` users as members."""
    entries = [catalog(code) for code in codes]
    p = services.provider_apply(
        actor=SYSTEM, name=name, licence_number=licence, categories=[e.code for e in entries]
    )
    services.provider_review(provider=p, actor=SYSTEM, approve=True)
    for user in staff:
        services.provider_member_add(provider=p, user=user, actor=SYSTEM)
    p.refresh_from_db()
    return p


def provider_user(username):
    return kernel.UserFactory(username=username)


def repair(
    *, card, provider=None, fault="开机后黑屏，有声音无图像", received_days_ago=None, ago=None
):
    """A repair of ``card`` assigned to ``provider`` and, with ``received_days_ago``, received
    (送修) that many days ago. It is requested and assigned ``ago`` before now (default: an hour
    before the receipt, or now), so the receipt can be recorded at an earlier time of its own."""
    now = clock.now()
    if ago is None and received_days_ago is not None:
        ago = timedelta(days=received_days_ago, hours=1)
    with time_machine.travel(now - (ago or timedelta(0)), tick=False):
        order = services.repair_request(card=card, fault_description=fault, actor=SYSTEM)
        if provider is not None:
            order = services.repair_assign(repair=order, provider=provider, actor=SYSTEM)
    if provider is not None and received_days_ago is not None:
        order = services.repair_receive(
            repair=order, actor=SYSTEM, occurred_at=now - timedelta(days=received_days_ago)
        )
    return order


def finished_repair(*, card, provider, received_days_ago, days, result="fixed"):
    """A repair received ``received_days_ago`` days ago, finished ``days`` later and returned;
    each step recorded at its own time."""
    now = clock.now()
    received = now - timedelta(days=received_days_ago)
    finished = received + timedelta(days=days)
    with time_machine.travel(received - timedelta(hours=2), tick=False):
        order = services.repair_request(card=card, fault_description="图像闪烁", actor=SYSTEM)
        order = services.repair_assign(repair=order, provider=provider, actor=SYSTEM)
    with time_machine.travel(received, tick=False):
        order = services.repair_receive(repair=order, actor=SYSTEM)
    with time_machine.travel(finished, tick=False):
        order = services.repair_finish(repair=order, actor=SYSTEM, result=result)
    with time_machine.travel(finished + timedelta(hours=1), tick=False):
        order = services.repair_return_to_consumer(repair=order, actor=SYSTEM)
    return order
