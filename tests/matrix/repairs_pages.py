"""Who may read and change the repairs pages under /my/ and /merchant/ (``tests.matrix``).

A consumer's cards, repairs and remedies are theirs alone; the merchant portal shows the
merchant's own repairs, cards and escalations to its staff. The /provider/ pages are outside the
matrix (it has no provider role): ``repairs/tests/test_pages.py`` checks their isolation.
"""

from datetime import timedelta
from decimal import Decimal

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests.uploads import png_bytes
from repairs.models import (
    RepairOrder,
    RepairProvider,
    SanbaoCatalogChange,
    SanbaoCatalogEntry,
    WarrantyCard,
    WarrantyEscalation,
)
from tests.matrix import CONSUMER_A, MERCHANT_A_STAFF, Read, Target, Write, register

CATALOG_CODE = "lcd_tv"
PAGE_POST = (302,)  # a page's successful form post redirects (post/redirect/get)


def _line(side):
    """A paid order line of an LCD TV (a 三包 category) of side's consumer at side's merchant."""
    from orders.models import Category, Order, OrderLine, Product, Sku
    from repairs.seed import seed_catalog

    seed_catalog(SanbaoCatalogEntry, SanbaoCatalogChange, now=clock.now())
    category, _ = Category.objects.get_or_create(
        code="matrix-sanbao", defaults={"name": "矩阵电视", "sanbao_code": CATALOG_CODE}
    )
    product = Product.objects.create(
        merchant=side.merchant, category=category, name=f"矩阵电视-{side.code}"
    )
    sku = Sku.objects.create(
        product=product, code=f"MATRIX-TV-{side.code}", price=Decimal("3000.00"), stock=5
    )
    order = Order.objects.create(
        merchant=side.merchant,
        consumer=side.consumer,
        number=f"MATRIX-TV-ORDER-{side.code.upper()}",
        status=Order.Status.DELIVERED,
        placed_at=clock.now() - timedelta(days=12),
        paid_at=clock.now() - timedelta(days=12),
        total_amount=Decimal("3000.00"),
        ship_province="上海市",
    )
    return OrderLine.objects.create(
        order=order,
        sku=sku,
        product_name=product.name,
        quantity=1,
        unit_price=Decimal("3000.00"),
        paid_amount=Decimal("3000.00"),
    )


def _card(side, *, signed_days_ago=10):
    """Side's card, signed 10 days ago: repair (G3) and exchange (G2) are open."""
    from repairs import services

    line = _line(side)
    signed_at = clock.now() - timedelta(days=signed_days_ago)
    return services.warranty_card_create(line=line, actor=SYSTEM, signed_at=signed_at)[0]


def _repair(side):
    from repairs import services

    return services.repair_request(
        card=_card(side), fault_description="矩阵：开机黑屏", actor=SYSTEM
    )


def _card_page(w, side):
    card = _card(side)
    return Target(kwargs={"pk": card.pk}, row=card.number)


def _line_page(w, side):
    card = _card(side)
    return Target(kwargs={"pk": card.order_line_id}, row=card.number)


def _repair_page(w, side):
    repair = _repair(side)
    return Target(kwargs={"pk": repair.pk}, row=repair.number)


def _evidence_page(w, side):
    """Side's repair with one photo (served only to who sees the repair)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from repairs import services

    photo = SimpleUploadedFile("matrix.png", png_bytes(), content_type="image/png")
    repair = services.repair_request(
        card=_card(side), fault_description="矩阵：开机黑屏", actor=SYSTEM, evidence=[photo]
    )
    return Target(kwargs={"pk": repair.pk, "evidence_pk": repair.evidence.get().pk})


def _returned_page(w, side):
    """Side's repair, done and returned to the consumer (who may confirm its end)."""
    from repairs import services

    repair = _repair(side)
    repair = services.repair_assign(repair=repair, provider=_provider(), actor=SYSTEM)
    for step in ("repair_receive", "repair_start"):
        repair = getattr(services, step)(repair=repair, actor=SYSTEM)
    repair = services.repair_finish(repair=repair, actor=SYSTEM, result="fixed")
    repair = services.repair_return_to_consumer(repair=repair, actor=SYSTEM)
    return Target(kwargs={"pk": repair.pk}, row=repair.number)


def _provider():
    from repairs import services

    found = RepairProvider.objects.filter(licence_number="MATRIX-LIC").first()
    if found is not None:
        return found
    provider = services.provider_apply(
        actor=SYSTEM, name="矩阵维修", licence_number="MATRIX-LIC", categories=[CATALOG_CODE]
    )
    return services.provider_review(provider=provider, actor=SYSTEM, approve=True)


def _assign_page(w, side):
    repair = _repair(side)
    return Target(kwargs={"pk": repair.pk}, row=repair.number, extra={"provider": _provider().pk})


def _escalation_page(w, side):
    card = _card(side)
    WarrantyEscalation.objects.create(
        card=card,
        merchant=side.merchant,
        consumer=side.consumer,
        rule="G6",
        granted_remedies=["exchange", "return"],
        explanation="矩阵：修理者责任时间超过 30 日",
    )
    return Target(row=card.number)


REPAIR_BODY = {"fault_description": "矩阵：屏幕闪烁无法使用", "service_mode": "send_in"}

# -- consumer pages (/my/) -----------------------------------------------------------------------
register("my:warranty-list", setup=_card_page, get=Read(CONSUMER_A))
register("my:warranty-detail", setup=_card_page, get=Read(CONSUMER_A))
register(
    "my:repair-request",
    setup=_card_page,
    get=Read(CONSUMER_A),
    post=Write(CONSUMER_A, body=REPAIR_BODY, touches=[RepairOrder], status=PAGE_POST),
)
register(
    "my:line-repair-request",
    setup=_line_page,
    get=Read(CONSUMER_A),
    post=Write(CONSUMER_A, body=REPAIR_BODY, touches=[RepairOrder], status=PAGE_POST),
)
register(
    "my:warranty-remedy",
    setup=_card_page,
    get=Read(CONSUMER_A),
    post=Write(
        CONSUMER_A,
        body={"remedy": "exchange", "confirm": "on"},
        touches=[WarrantyCard],
        status=PAGE_POST,
    ),
)
register("my:repair-list", setup=_repair_page, get=Read(CONSUMER_A))
register("my:repair-detail", setup=_repair_page, get=Read(CONSUMER_A))
register("my:repair-evidence", setup=_evidence_page, get=Read(CONSUMER_A))
register(
    "my:repair-cancel",
    setup=_repair_page,
    visible=CONSUMER_A,
    post=Write(CONSUMER_A, body={"confirm": "on"}, touches=[RepairOrder], status=PAGE_POST),
)

register(
    "my:repair-close",
    setup=_returned_page,
    visible=CONSUMER_A,
    post=Write(CONSUMER_A, body={"confirm": "on"}, touches=[RepairOrder], status=PAGE_POST),
)

# -- merchant portal (/merchant/) ----------------------------------------------------------------
register("merchant:repair-list", setup=_repair_page, get=Read(MERCHANT_A_STAFF))
register("merchant:repair-detail", setup=_repair_page, get=Read(MERCHANT_A_STAFF))
register("merchant:repair-evidence", setup=_evidence_page, get=Read(MERCHANT_A_STAFF))
register(
    "merchant:repair-assign",
    setup=_assign_page,
    visible=MERCHANT_A_STAFF,
    post=Write(
        MERCHANT_A_STAFF,
        body=lambda w, t: {"provider": t.extra["provider"]},
        touches=[RepairOrder],
        status=PAGE_POST,
    ),
)
register("merchant:warranty-list", setup=_card_page, get=Read(MERCHANT_A_STAFF))
register("merchant:warranty-detail", setup=_card_page, get=Read(MERCHANT_A_STAFF))
register("merchant:escalation-list", setup=_escalation_page, get=Read(MERCHANT_A_STAFF))
