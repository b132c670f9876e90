from datetime import timedelta
from decimal import Decimal as D

import pytest

from aftersales import clock
from aftersales.casefile.events import subscribe
from aftersales.casefile.models import ActorKind, DomainEvent, TimelineEvent
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.policies import policy_set
from aftersales.tenancy.actors import SYSTEM, Actor, actor_for_user
from aftersales.tests import factories as af
from orders import services
from orders.models import Order, PriceChange, Shipment, TrackingEvent
from orders.tests import factories as of

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return af.MerchantFactory()


@pytest.fixture
def consumer():
    return af.ConsumerFactory()


def _names():
    return list(DomainEvent.objects.order_by("id").values_list("name", flat=True))


def test_catalog_upserts_and_price_history(merchant):
    category, created = services.category_upsert(
        code="fresh",
        name="生鲜",
        no_reason_class="excluded_by_law",
        exclusion_reason="perishable",
        actor=SYSTEM,
    )
    assert created
    same, created = services.category_upsert(code="fresh", name="生鲜水果", actor=SYSTEM)
    assert not created and same.pk == category.pk and same.name == "生鲜水果"
    with pytest.raises(InvalidInput) as e:
        services.category_upsert(
            code="x",
            name="x",
            no_reason_class="excludable",
            exclusion_reason="perishable",
            actor=SYSTEM,
        )
    assert e.value.code == "exclusion_reason_invalid"

    product, created = services.product_upsert(
        merchant=merchant, category=category, name="苹果", external_id="P1", actor=SYSTEM
    )
    again, created2 = services.product_upsert(
        merchant=merchant, name="红富士苹果", external_id="P1", actor=SYSTEM
    )
    assert created and not created2 and again.pk == product.pk and again.name == "红富士苹果"

    sku, created = services.sku_upsert(product=product, code="APL-5KG", price="59.90", actor=SYSTEM)
    assert created and sku.price == D("59.90")
    change = services.sku_set_price(sku=sku, price="49.90", actor=SYSTEM)
    assert change.price == D("49.90")
    assert services.sku_set_price(sku=sku, price="49.90", actor=SYSTEM) is None
    assert list(
        PriceChange.objects.filter(sku=sku).order_by("id").values_list("price", flat=True)
    ) == [D("59.90"), D("49.90")]
    assert "sku.price_changed" in _names()


def test_merchant_scoped_writes(merchant):
    other = af.MerchantFactory()
    staff = af.MerchantMemberFactory(merchant=merchant).user
    actor = actor_for_user(staff)
    category = of.CategoryFactory()
    with pytest.raises(NotFound):
        services.product_upsert(merchant=other, category=category, name="x", actor=actor)
    with pytest.raises(PermissionDenied):
        services.category_upsert(code="c", name="c", actor=actor)
    product, _ = services.product_upsert(
        merchant=merchant, category=category, name="x", actor=actor
    )
    other_sku = of.SkuFactory(product__merchant=other, code="TAKEN")
    with pytest.raises(Conflict) as e:
        services.sku_upsert(product=product, code="TAKEN", price="1", actor=actor)
    assert e.value.code == "sku_code_taken"
    other_sku.refresh_from_db()
    assert other_sku.product.merchant_id == other.pk


def _order(merchant, consumer, **kwargs):
    excludable = of.CategoryFactory(
        code="cosmetics", no_reason_class="excludable", exclusion_reason="health_safety"
    )
    tv = of.SkuFactory(product__merchant=merchant, price=D("5999.00"))
    lipstick = of.SkuFactory(
        product__merchant=merchant, product__category=excludable, price=D("39.90")
    )
    lines = [
        {"sku": tv, "quantity": 1, "discount_amount": D("200.00"), "paid_amount": D("5799.00")},
        {"sku": lipstick, "quantity": 2, "exclusion_confirmed": True},
    ]
    shipping = {
        "recipient": "欧阳娜娜",
        "phone": "13912345678",
        "province": "上海市",
        "city": "上海市",
        "district": "浦东新区",
        "street": "世纪大道100号",
        "unit": "8号楼1201室",
    }
    return services.order_create(
        merchant=merchant,
        consumer=consumer,
        number="SO-1",
        lines=lines,
        shipping=shipping,
        actor=SYSTEM,
        **kwargs,
    )


def test_order_create_validates_and_snapshots(merchant, consumer):
    order = _order(merchant, consumer, total_amount=D("5878.80"))
    assert order.status == "pending_payment"
    assert order.total_amount == D("5878.80")
    lines = list(order.lines.order_by("id"))
    assert lines[1].paid_amount == D("79.80") and lines[1].exclusion_confirmed_at is not None
    assert lines[0].exclusion_confirmed_at is None
    # the address is encrypted at rest and masked for display
    from django.db import connection

    with connection.cursor() as c:
        c.execute("select ship_street, ship_phone from orders_order where id=%s", [order.pk])
        raw = c.fetchone()
    assert raw[0].startswith("pii1:") and "13912345678" not in raw[1]
    assert order.masked_ship_phone == "139******78"
    assert "1201" not in order.masked_ship_address
    assert "order.created" in _names()
    assert TimelineEvent.objects.filter(
        subject_type="orders.order", subject_id=order.pk, verb="order.created"
    ).exists()


def test_order_create_refuses_bad_amounts_and_foreign_skus(merchant, consumer):
    sku = of.SkuFactory(product__merchant=merchant, price=D("10.00"))
    foreign = of.SkuFactory(price=D("10.00"))
    with pytest.raises(InvalidInput) as e:
        services.order_create(
            merchant=merchant,
            consumer=consumer,
            number="N1",
            actor=SYSTEM,
            lines=[{"sku": sku, "quantity": 1, "paid_amount": D("9.00")}],
        )
    assert e.value.code == "line_amounts_mismatch"
    assert e.value.fields["lines"]["0"]["paid_amount"] == "line_amounts_mismatch"
    with pytest.raises(InvalidInput) as e:
        services.order_create(
            merchant=merchant,
            consumer=consumer,
            number="N1",
            actor=SYSTEM,
            lines=[{"sku": foreign, "quantity": 1}],
        )
    assert e.value.code == "sku_not_of_merchant"
    with pytest.raises(InvalidInput) as e:
        services.order_create(
            merchant=merchant,
            consumer=consumer,
            number="N1",
            actor=SYSTEM,
            lines=[{"sku": sku, "quantity": 1, "exclusion_confirmed": True}],
        )
    assert e.value.code == "exclusion_not_applicable"
    with pytest.raises(InvalidInput) as e:
        services.order_create(
            merchant=merchant,
            consumer=consumer,
            number="N1",
            actor=SYSTEM,
            lines=[{"sku": sku, "quantity": 1}],
            total_amount=D("11"),
        )
    assert e.value.code == "total_mismatch"
    assert not Order.objects.filter(number="N1").exists()


def test_order_discount_is_allocated_pro_rata(merchant, consumer):
    a = of.SkuFactory(product__merchant=merchant, price=D("30.00"))
    b = of.SkuFactory(product__merchant=merchant, price=D("70.00"))
    order = services.order_create(
        merchant=merchant,
        consumer=consumer,
        number="N2",
        actor=SYSTEM,
        order_discount=D("10.00"),
        lines=[{"sku": a, "quantity": 1}, {"sku": b, "quantity": 1}],
    )
    discounts = list(order.lines.order_by("id").values_list("discount_amount", flat=True))
    assert discounts == [D("3.00"), D("7.00")]
    assert order.total_amount == D("90.00")


def test_payment_with_tenders_marks_order_paid(merchant, consumer):
    order = _order(merchant, consumer)
    with pytest.raises(InvalidInput) as e:
        services.payment_record(
            order=order,
            external_id="P1",
            amount=D("5878.80"),
            actor=SYSTEM,
            tenders=[{"kind": "card", "amount": D("5000.00")}],
        )
    assert e.value.code == "tenders_mismatch"
    with pytest.raises(RuleViolation) as e:
        services.payment_record(
            order=order,
            external_id="P1",
            amount=D("9999.00"),
            actor=SYSTEM,
            tenders=[{"kind": "card", "amount": D("9999.00")}],
        )
    assert e.value.code == "payment_exceeds_total"
    payment = services.payment_record(
        order=order,
        external_id="P1",
        amount=D("5878.80"),
        actor=SYSTEM,
        tenders=[
            {"kind": "card", "amount": D("5000.00")},
            {"kind": "balance", "amount": D("800")},
            {"kind": "points", "amount": D("58.80")},
            {"kind": "coupon", "amount": D("20")},
        ],
    )
    assert payment.tenders.count() == 4
    order.refresh_from_db()
    assert order.status == "paid" and order.paid_at is not None
    with pytest.raises(Conflict):
        services.payment_record(
            order=order,
            external_id="P1",
            amount=D("1"),
            actor=SYSTEM,
            tenders=[{"kind": "card", "amount": D("1")}],
        )
    assert {"payment.recorded", "order.status_changed"} <= set(_names())


def test_order_update_uses_moves_table(merchant, consumer):
    order = _order(merchant, consumer)
    with pytest.raises(Conflict) as e:
        services.order_update(order=order, status="delivered", actor=SYSTEM)
    assert e.value.code == "invalid_status_transition"
    order = services.order_update(order=order, status="cancelled", reason="买家取消", actor=SYSTEM)
    assert order.status == "cancelled" and order.cancelled_at is not None
    event = DomainEvent.objects.filter(name="order.status_changed").last()
    assert event.payload["from"] == "pending_payment" and event.payload["to"] == "cancelled"


def test_shipment_refused_when_unpaid_or_cancelled(merchant, consumer):
    order = _order(merchant, consumer)
    line = order.lines.first()
    with pytest.raises(RuleViolation) as e:
        services.shipment_create(line=line, carrier="SF", tracking_number="1", actor=SYSTEM)
    assert e.value.code == "line_not_paid"
    paid = of.paid_order(merchant, consumer, prices=("10.00", "20.00"))
    l1, l2 = paid.lines.order_by("id")
    services.line_cancel(line=l2, reason="未发货仅退款", actor=SYSTEM)
    with pytest.raises(RuleViolation) as e:
        services.shipment_create(line=l2, carrier="SF", tracking_number="2", actor=SYSTEM)
    assert e.value.code == "line_cancelled"
    services.shipment_create(line=l1, carrier="SF", tracking_number="3", actor=SYSTEM)
    paid.refresh_from_db()
    assert paid.status == "shipped"  # the only open line shipped
    with pytest.raises(Conflict) as e:
        services.shipment_create(line=l1, carrier="SF", tracking_number="4", actor=SYSTEM)
    assert e.value.code == "line_already_shipped"


def test_shipment_insured_at_policy_threshold(merchant, consumer):
    order = of.paid_order(merchant, consumer, prices=("5000.00", "4999.99"))
    hv, low = order.lines.order_by("id")
    s1 = services.shipment_create(line=hv, carrier="SF", tracking_number="A", actor=SYSTEM)
    s2 = services.shipment_create(line=low, carrier="SF", tracking_number="B", actor=SYSTEM)
    assert s1.insured and not s2.insured
    order.refresh_from_db()
    assert order.status == "shipped"
    policy_set(key="returns.high_value_threshold", value="4000", actor=SYSTEM)
    other = of.paid_order(merchant, consumer, prices=("4500.00",))
    s3 = services.shipment_create(
        line=other.lines.get(), carrier="SF", tracking_number="C", actor=SYSTEM
    )
    assert s3.insured


def test_merchant_cannot_ship_other_merchants_line(merchant, consumer):
    order = of.paid_order(af.MerchantFactory(), consumer)
    actor = actor_for_user(af.MerchantMemberFactory(merchant=merchant).user)
    with pytest.raises(NotFound):
        services.shipment_create(
            line=order.lines.get(), carrier="SF", tracking_number="X", actor=actor
        )
    with pytest.raises(PermissionDenied):
        services.shipment_create(
            line=order.lines.get(),
            carrier="SF",
            tracking_number="X",
            actor=actor_for_user(consumer.user),
        )


@pytest.fixture
def tracking_events_seen():
    from aftersales.casefile import events

    seen = []
    subscribe("shipment.tracking_event")(seen.append)
    yield seen
    events._handlers["shipment.tracking_event"].remove(seen.append)


def test_tracking_events_dedup_out_of_order_and_delivery(merchant, consumer, tracking_events_seen):
    seen = tracking_events_seen
    order = of.paid_order(merchant, consumer, prices=("10.00", "20.00"))
    l1, l2 = order.lines.order_by("id")
    t0 = clock.now() - timedelta(days=2)
    s1 = services.shipment_create(
        line=l1, carrier="SF", tracking_number="A", actor=SYSTEM, shipped_at=t0
    )
    s2 = services.shipment_create(
        line=l2, carrier="SF", tracking_number="B", actor=SYSTEM, shipped_at=t0
    )
    e1, created = services.tracking_event_record(
        shipment=s1,
        kind="out_for_delivery",
        occurred_at=t0 + timedelta(hours=20),
        location="浦东营业部",
        external_id="ev-3",
        actor=SYSTEM,
    )
    assert created
    again, created = services.tracking_event_record(
        shipment=s1,
        kind="out_for_delivery",
        occurred_at=t0 + timedelta(hours=20),
        location="浦东营业部",
        external_id="ev-3",
        actor=SYSTEM,
    )
    assert not created and again.pk == e1.pk
    # a late, older event is kept but does not move the status back
    services.tracking_event_record(
        shipment=s1,
        kind="picked_up",
        occurred_at=t0 + timedelta(hours=1),
        location="上海",
        external_id="ev-1",
        actor=SYSTEM,
    )
    s1.refresh_from_db()
    assert s1.status == "out_for_delivery" and s1.last_event_at == t0 + timedelta(hours=20)
    assert list(s1.events.values_list("external_id", flat=True)) == ["ev-1", "ev-3"]
    assert len(seen) == 2 and {e.payload["kind"] for e in seen} == {"out_for_delivery", "picked_up"}
    assert all("occurred_at" in e.payload and e.payload["shipment_id"] == s1.pk for e in seen)

    signed_at = t0 + timedelta(hours=30)
    services.tracking_event_record(
        shipment=s1, kind="signed", occurred_at=signed_at, external_id="ev-4", actor=SYSTEM
    )
    order.refresh_from_db()
    assert order.status == "shipped"  # line 2 not signed yet
    services.tracking_event_record(
        shipment=s2, kind="signed", occurred_at=signed_at + timedelta(hours=1), actor=SYSTEM
    )
    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.delivered_at == signed_at + timedelta(hours=1)
    assert _names().count("shipment.signed") == 2
    with pytest.raises(InvalidInput) as e:
        services.tracking_event_record(
            shipment=s1,
            kind="in_transit",
            occurred_at=clock.now() + timedelta(days=1),
            actor=SYSTEM,
        )
    assert e.value.code == "occurred_at_in_future"


def test_sign_off_requires_e_signature_for_high_value(merchant, consumer):
    order = of.paid_order(merchant, consumer, prices=("6000.00",))
    shipment = services.shipment_create(
        line=order.lines.get(), carrier="SF", tracking_number="HV", actor=SYSTEM
    )
    with pytest.raises(InvalidInput) as e:
        services.sign_off_record(
            shipment=shipment, signer_name="张三", signed_at=clock.now(), actor=SYSTEM
        )
    assert e.value.code == "e_signature_required"
    sign_off = services.sign_off_record(
        shipment=shipment,
        signer_name="张三",
        signer_relation="family",
        signed_at=clock.now(),
        e_signature="data:image/png;base64,AAAA",
        actor=SYSTEM,
    )
    assert sign_off.has_e_signature
    shipment.refresh_from_db()
    assert shipment.status == "signed"
    assert TrackingEvent.objects.filter(shipment=shipment, kind="signed").count() == 1
    order.refresh_from_db()
    assert order.status == "delivered"
    with pytest.raises(Conflict):
        services.sign_off_record(
            shipment=shipment,
            signer_name="张三",
            signed_at=clock.now(),
            e_signature="x",
            actor=SYSTEM,
        )


def test_sign_off_without_signature_below_threshold(merchant, consumer):
    order = of.paid_order(merchant, consumer, prices=("100.00",))
    shipment = services.shipment_create(
        line=order.lines.get(), carrier="SF", tracking_number="L", actor=SYSTEM
    )
    services.sign_off_record(
        shipment=shipment,
        signer_name="丰巢",
        signer_relation="locker",
        signed_at=clock.now(),
        actor=SYSTEM,
    )
    assert Shipment.objects.get(pk=shipment.pk).signed_at is not None


def test_sign_off_before_shipping_is_refused(merchant, consumer):
    """A sign-off time anchors the return windows (R1): it cannot precede the shipment."""
    order = of.paid_order(merchant, consumer, prices=("100.00",))
    shipment = services.shipment_create(
        line=order.lines.get(), carrier="SF", tracking_number="EARLY", actor=SYSTEM
    )
    with pytest.raises(InvalidInput) as e:
        services.sign_off_record(
            shipment=shipment,
            signer_name="张三",
            signed_at=shipment.shipped_at - timedelta(days=2),
            actor=SYSTEM,
        )
    assert e.value.code == "signed_at_before_shipping"
    shipment.refresh_from_db()
    assert shipment.status != "signed" and shipment.signed_at is None
    assert not TrackingEvent.objects.filter(shipment=shipment).exists()


def test_order_update_refuses_derived_statuses(merchant, consumer):
    """``paid`` needs a payment (its tenders are the refund paths, R7); ``shipped`` and
    ``delivered`` need parcels and sign-offs (6.2.1, 6.2.3): none can be set by hand."""
    order = _order(merchant, consumer)
    with pytest.raises(RuleViolation) as e:
        services.order_update(order=order, status="paid", actor=SYSTEM)
    assert e.value.code == "order_status_derived"
    paid = of.paid_order(merchant, consumer, prices=("100.00",))
    for status in ("shipped", "partially_shipped"):
        with pytest.raises(RuleViolation) as e:
            services.order_update(order=paid, status=status, actor=SYSTEM)
        assert e.value.code == "order_status_derived"
    order.refresh_from_db()
    paid.refresh_from_db()
    assert (order.status, paid.status) == ("pending_payment", "paid")
    assert not TimelineEvent.objects.filter(
        verb="order.status_changed", subject_id=order.pk, to_status="paid"
    ).exists()


@pytest.mark.parametrize("who", ["merchant_staff", "merchant_key"])
def test_only_platform_writers_create_orders(merchant, consumer, who):
    """A merchant could otherwise put an order on any consumer's pages: platform only."""
    if who == "merchant_staff":
        actor = actor_for_user(af.MerchantMemberFactory(merchant=merchant).user)
    else:
        key, _ = af.api_key("merchant", merchant=merchant)
        actor = Actor(kind=ActorKind.INTEGRATOR, api_key=key, merchant_id=merchant.pk)
    sku = of.SkuFactory(product__merchant=merchant)
    with pytest.raises(PermissionDenied) as e:
        services.order_create(
            merchant=merchant,
            consumer=consumer,
            number="M-1",
            lines=[{"sku": sku, "quantity": 1}],
            actor=actor,
        )
    assert e.value.code == "order_create_platform_only"
    assert "平台" in e.value.message  # in the active language, one language only
    assert not Order.objects.exists()
    order = services.order_create(
        merchant=merchant,
        consumer=consumer,
        number="M-1",
        lines=[{"sku": sku, "quantity": 1}],
        actor=SYSTEM,
    )
    assert order.consumer_id == consumer.pk


def test_carrier_signed_alone_does_not_deliver_high_value(merchant, consumer):
    """6.2.3.1: the carrier's ``signed`` node is recorded, but a high-value order is delivered
    only once its parcel has a sign-off with an electronic signature."""
    order = of.paid_order(merchant, consumer, prices=("6000.00",))
    t0 = clock.now() - timedelta(days=1)
    shipment = services.shipment_create(
        line=order.lines.get(), carrier="SF", tracking_number="HV1", shipped_at=t0, actor=SYSTEM
    )
    carrier_signed = t0 + timedelta(hours=20)
    services.tracking_event_record(
        shipment=shipment, kind="signed", occurred_at=carrier_signed, actor=SYSTEM
    )
    shipment.refresh_from_db()
    assert shipment.status == "signed" and shipment.signed_at == carrier_signed
    order.refresh_from_db()
    assert order.status == "shipped" and order.delivered_at is None
    signed_off = t0 + timedelta(hours=21)
    services.sign_off_record(
        shipment=shipment,
        signer_name="张三",
        signed_at=signed_off,
        e_signature="data:image/png;base64,AAAA",
        actor=SYSTEM,
    )
    order.refresh_from_db()
    assert order.status == "delivered" and order.delivered_at == signed_off
    assert TrackingEvent.objects.filter(shipment=shipment, kind="signed").count() == 1


def test_high_value_line_blocks_delivery_of_mixed_order(merchant, consumer):
    """Every high-value parcel needs its e-signed sign-off; normal parcels need only the node."""
    order = of.paid_order(merchant, consumer, prices=("6000.00", "100.00"))
    hv, low = order.lines.order_by("id")
    t0 = clock.now() - timedelta(days=1)
    s_hv = services.shipment_create(
        line=hv, carrier="SF", tracking_number="HV2", shipped_at=t0, actor=SYSTEM
    )
    s_low = services.shipment_create(
        line=low, carrier="SF", tracking_number="LO2", shipped_at=t0, actor=SYSTEM
    )
    for s in (s_hv, s_low):
        services.tracking_event_record(
            shipment=s, kind="signed", occurred_at=t0 + timedelta(hours=5), actor=SYSTEM
        )
    order.refresh_from_db()
    assert order.status == "shipped"
    # a sign-off on the normal parcel does not stand in for the high-value one
    services.sign_off_record(
        shipment=s_low, signer_name="李四", signed_at=t0 + timedelta(hours=5), actor=SYSTEM
    )
    order.refresh_from_db()
    assert order.status == "shipped"
    services.sign_off_record(
        shipment=s_hv,
        signer_name="张三",
        signed_at=t0 + timedelta(hours=6),
        e_signature="sha256:abc",
        actor=SYSTEM,
    )
    order.refresh_from_db()
    assert order.status == "delivered"


def test_carrier_signed_delivers_normal_line(merchant, consumer):
    order = of.paid_order(merchant, consumer, prices=("4999.99",))
    t0 = clock.now() - timedelta(days=1)
    shipment = services.shipment_create(
        line=order.lines.get(), carrier="SF", tracking_number="N1", shipped_at=t0, actor=SYSTEM
    )
    services.tracking_event_record(
        shipment=shipment, kind="signed", occurred_at=t0 + timedelta(hours=3), actor=SYSTEM
    )
    order.refresh_from_db()
    assert order.status == "delivered" and order.delivered_at == t0 + timedelta(hours=3)
