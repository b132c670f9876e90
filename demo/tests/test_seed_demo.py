"""The demo data (``manage.py seed_demo``): counts, every shipping state and category class."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from aftersales import clock
from aftersales.tenancy.auth import api_key_lookup
from aftersales.tenancy.models import (
    ApiKey,
    ConsumerProfile,
    Merchant,
    MerchantMember,
    PlatformGroup,
    User,
)
from demo import seed as demo
from orders.models import (
    Category,
    NoReasonClass,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    SignOff,
    Tender,
    TrackingEvent,
)

SANBAO_CODES = {
    "bicycle",
    "crt_tv",
    "lcd_tv",
    "video_recorder",
    "mobile_phone",
    "microcomputer",
    "home_av",
}


@pytest.fixture
def seeded(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_modules_run_in_dependency_order(seeded):
    names = [m.__name__ for m in demo.MODULES]
    assert names == ["demo.kernel", "demo.orders", "demo.returns", "demo.repairs"]
    logged = [line.split(":")[0].strip() for line in seeded.splitlines() if line.startswith("  ")]
    assert logged[: len(names)] == names


def test_people_and_logins(seeded):
    assert Merchant.objects.count() == 3
    for merchant in Merchant.objects.all():
        roles = sorted(
            MerchantMember.objects.filter(merchant=merchant).values_list("role", flat=True)
        )
        assert roles == ["agent", "owner"]
    assert ConsumerProfile.objects.count() == 50
    scores = list(ConsumerProfile.objects.values_list("credit_score", flat=True))
    assert min(scores) == 300 and max(scores) == 950
    assert len(set(scores)) >= 45
    assert sum(s >= 600 for s in scores) >= 10 and sum(s < 600 for s in scores) >= 10
    for group in PlatformGroup.values:
        user = User.objects.get(groups__name=group)
        assert user.is_staff and user.check_password(demo.DEMO_PASSWORD)
    assert User.objects.filter(is_superuser=True, username="admin").exists()
    logins = dict((u, label) for label, u in demo.demo_logins())
    assert {"admin", "agent", "manager", "mediator", "auditor", "consumer01"} <= set(logins)
    assert sum(u.endswith("-owner") for u in logins) == 3
    assert sum(u.endswith("-agent") and u != "agent" for u in logins) == 3


def test_personal_data_is_encrypted_at_rest(seeded):
    consumer = ConsumerProfile.objects.order_by("id").first()
    assert consumer.name and consumer.phone.isdigit() and len(consumer.phone) == 11
    assert all("\u4e00" <= ch <= "\u9fff" for ch in consumer.name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, phone FROM aftersales_consumerprofile WHERE id = %s", [consumer.pk]
        )
        raw_name, raw_phone = cursor.fetchone()
        cursor.execute("SELECT ship_name, ship_street FROM orders_order LIMIT 1")
        ship_name, ship_street = cursor.fetchone()
    for raw in (raw_name, raw_phone, ship_name, ship_street):
        assert raw.startswith("pii1:")
    assert consumer.addresses.filter(is_default=True).count() == 1


def test_catalog_covers_every_class_and_the_sanbao_catalog(seeded):
    classes = set(
        Category.objects.filter(products__isnull=False).values_list("no_reason_class", flat=True)
    )
    assert classes == set(NoReasonClass.values)
    reasons = set(
        Category.objects.exclude(exclusion_reason="").values_list("exclusion_reason", flat=True)
    )
    assert {"custom_made", "perishable", "digital", "periodical"} <= reasons
    assert {"health_safety", "activation_value", "near_expiry"} <= reasons
    sanbao = set(
        Category.objects.filter(products__isnull=False)
        .exclude(sanbao_code="")
        .values_list("sanbao_code", flat=True)
    )
    assert sanbao == SANBAO_CODES
    badges = set(
        Product.objects.exclude(price_protection_days=None).values_list(
            "price_protection_days", flat=True
        )
    )
    assert badges == {7, 15, 30}
    for product in Product.objects.prefetch_related("skus__price_history"):
        for sku in product.skus.all():
            history = sorted(sku.price_history.all(), key=lambda p: p.effective_at)
            assert len(history) >= 2
            assert history[-1].price == sku.price


def test_orders_cover_every_shipping_state(seeded):
    now = clock.now()
    assert Order.objects.count() == 500
    statuses = dict(Order.objects.values_list("status").annotate(n=Count("id")))
    assert set(statuses) == set(Order.Status.values)
    parcels = dict(Shipment.objects.values_list("status").annotate(n=Count("id")))
    assert {"in_transit", "out_for_delivery", "signed", "exception"} <= set(parcels)
    oldest = Order.objects.order_by("placed_at").first().placed_at
    assert now - timedelta(days=61) < oldest < now - timedelta(days=30)
    assert not Order.objects.filter(placed_at__gt=now).exists()
    assert not TrackingEvent.objects.filter(occurred_at__gt=now).exists()

    # Unpaid and cancelled orders have no payment and no parcel; paid ones have both or wait.
    unpaid = Order.objects.filter(status__in=["pending_payment", "cancelled"])
    assert not Payment.objects.filter(order__in=unpaid).exists()
    assert not Shipment.objects.filter(order__in=unpaid).exists()
    assert not Shipment.objects.filter(order__status="paid").exists()
    for order in Order.objects.filter(status="partially_shipped").prefetch_related(
        "lines", "shipments"
    ):
        assert 0 < len(order.shipments.all()) < len(order.lines.all())

    # In-transit parcels have several tracking events, in order; signed ones a sign-off.
    for shipment in Shipment.objects.filter(status="in_transit").prefetch_related("events")[:20]:
        kinds = [e.kind for e in shipment.events.all()]
        assert len(kinds) >= 3 and kinds[0] == "picked_up" and kinds[-1] == "in_transit"
    signed = Shipment.objects.filter(status="signed")
    assert SignOff.objects.filter(shipment__in=signed).count() == signed.count()
    assert not Shipment.objects.filter(status="signed", signed_at=None).exists()
    high_value = SignOff.objects.filter(shipment__line__paid_amount__gte=5000)
    assert high_value.exists() and not high_value.filter(e_signature="").exists()
    assert Shipment.objects.filter(status="exception", events__kind="exception").exists()


def test_payments_are_mixed_tenders_that_add_up(seeded):
    assert set(Tender.objects.values_list("kind", flat=True)) == {
        "card",
        "balance",
        "points",
        "coupon",
    }
    multi = Payment.objects.annotate(n=Count("tenders")).filter(n__gt=1)
    assert multi.count() > 50
    for payment in Payment.objects.annotate(total=Sum("tenders__amount")).select_related("order"):
        assert payment.total == payment.amount == payment.order.total_amount
    for line in OrderLine.objects.all()[:200]:
        assert line.paid_amount == line.unit_price * line.quantity - line.discount_amount


def test_exclusions_are_confirmed_only_where_the_category_allows_it(seeded):
    confirmed = OrderLine.objects.exclude(exclusion_confirmed_at=None)
    assert confirmed.exists()
    assert set(confirmed.values_list("sku__product__category__no_reason_class", flat=True)) == {
        NoReasonClass.EXCLUDABLE
    }
    unconfirmed = OrderLine.objects.filter(
        exclusion_confirmed_at=None,
        sku__product__category__no_reason_class=NoReasonClass.EXCLUDABLE,
    )
    assert unconfirmed.exists()  # RULES.md R4 has something to show too


def test_seed_demo_runs_once(seeded):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "already loaded" in out.getvalue()
    assert Order.objects.count() == 500


def test_demo_api_keys_are_kept_and_reissued(seeded, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first = demo.demo_api_keys()
    assert len(first) == 2
    platform_raw, merchant_raw = first[0][1], first[1][1]
    assert api_key_lookup(platform_raw).scope == ApiKey.Scope.PLATFORM
    merchant_key = api_key_lookup(merchant_raw)
    assert merchant_key.scope == ApiKey.Scope.MERCHANT and merchant_key.merchant is not None
    assert demo.demo_api_keys() == first
    ApiKey.objects.filter(pk=merchant_key.pk).update(revoked_at=clock.now())
    again = demo.demo_api_keys()
    assert again[0] == first[0] and again[1][1] != merchant_raw
    assert api_key_lookup(again[1][1]).is_active


def test_an_account_made_before_the_demo_is_kept(db):
    User.objects.create_superuser("admin", password="my-own-password-1")
    call_command("seed_demo", stdout=StringIO())
    admin = User.objects.get(username="admin")
    assert admin.check_password("my-own-password-1")
    assert Merchant.objects.count() == 3 and Order.objects.count() == 500
