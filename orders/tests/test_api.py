from datetime import timedelta
from decimal import Decimal as D

import pytest

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerProfile, Merchant
from orders import services
from orders.api.serializers import REFERENCE_NOT_FOUND
from orders.models import Order, OrderLine, Product, Shipment, Sku, TrackingEvent
from orders.tests import factories as of

pytestmark = pytest.mark.django_db


@pytest.fixture
def consumer_a(roles):
    return ConsumerProfile.objects.get(user=roles["consumer_a"])


@pytest.fixture
def consumer_b(roles):
    return ConsumerProfile.objects.get(user=roles["consumer_b"])


def _order_body(merchant, consumer, sku, number="API-1", **extra):
    return {
        "merchant": merchant.pk,
        "consumer": consumer.pk,
        "number": number,
        "shipping": {
            "recipient": "张三丰",
            "phone": "13812345678",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "street": "世纪大道100号",
            "unit": "1201室",
        },
        "lines": [
            {
                "sku": sku.pk,
                "quantity": 2,
                "unit_price": "50.00",
                "discount_amount": "10.00",
                "paid_amount": "90.00",
            }
        ],
        **extra,
    }


def test_catalog_write_permissions(api, merchant_a, merchant_b):
    body = {
        "code": "digital",
        "name": "数字商品",
        "no_reason_class": "excluded_by_law",
        "exclusion_reason": "digital",
    }
    assert api("merchant_key_a").post("/api/v1/categories/", body, format="json").status_code in (
        403,
        404,
    )
    r = api("platform_key").post("/api/v1/categories/", body, format="json")
    assert r.status_code == 201, r.json()
    assert api("platform_key").post("/api/v1/categories/", body, format="json").status_code == 200
    cat = r.json()["id"]
    # merchant key: own merchant by default; another merchant → 404, never success
    r = api("merchant_key_a").post(
        "/api/v1/products/", {"category": cat, "name": "电子书"}, format="json"
    )
    assert r.status_code == 201, r.json()
    assert r.json()["merchant"] == merchant_a.pk
    r = api("merchant_key_a").post(
        "/api/v1/products/",
        {"merchant": merchant_b.pk, "category": cat, "name": "x"},
        format="json",
    )
    assert r.status_code == 404 and r.json()["fields"] == {"merchant": REFERENCE_NOT_FOUND}
    assert not Product.objects.filter(merchant=merchant_b).exists()
    product = Product.objects.get(merchant=merchant_a)
    r = api("merchant_key_a").post(
        "/api/v1/skus/", {"product": product.pk, "code": "EB-1", "price": "30.00"}, format="json"
    )
    assert r.status_code == 201
    sku = r.json()["id"]
    r = api("merchant_a").post(f"/api/v1/skus/{sku}/price/", {"price": "25.00"}, format="json")
    assert r.status_code == 200
    assert [p["price"] for p in r.json()["price_history"]] == ["25.00", "30.00"]
    assert (
        api("merchant_b")
        .post(f"/api/v1/skus/{sku}/price/", {"price": "1.00"}, format="json")
        .status_code
        == 404
    )
    assert api("consumer_a").get(f"/api/v1/skus/{sku}/").status_code == 200
    assert (
        api("auditor")
        .post(f"/api/v1/skus/{sku}/price/", {"price": "1.00"}, format="json")
        .status_code
        == 403
    )


def test_order_create_and_detail(api, merchant_a, merchant_b, consumer_a):
    sku = of.SkuFactory(product__merchant=merchant_a)
    r = api("platform_key").post(
        "/api/v1/orders/", _order_body(merchant_a, consumer_a, sku), format="json"
    )
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["status"] == "pending_payment" and data["total_amount"] == "90.00"
    assert data["ship_phone"] == "138******78" and "1201" not in data["ship_address"]
    assert data["lines"][0]["paid_amount"] == "90.00"
    # a merchant key cannot create an order for another merchant
    r = api("merchant_key_a").post(
        "/api/v1/orders/", _order_body(merchant_b, consumer_a, sku, number="API-2"), format="json"
    )
    assert r.status_code in (400, 403, 404)
    assert not Order.objects.filter(number="API-2").exists()
    # validation errors carry stable codes
    body = _order_body(merchant_a, consumer_a, sku, number="API-3")
    body["lines"][0]["paid_amount"] = "80.00"
    r = api("platform_key").post("/api/v1/orders/", body, format="json")
    assert r.status_code == 400 and r.json()["code"] == "line_amounts_mismatch"
    assert r.json()["fields"]["lines"]["0"]["paid_amount"] == "line_amounts_mismatch"
    r = api("platform_key").post("/api/v1/orders/", {"number": "x"}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    assert "consumer" in r.json()["fields"]


def test_line_with_return_shipping_insurance_bought_at_checkout(api, merchant_a, consumer_a):
    """RULES.md R8: the line carries the 运费险 bought at checkout."""
    sku = of.SkuFactory(product__merchant=merchant_a)
    body = _order_body(merchant_a, consumer_a, sku, number="API-INS")
    body["lines"][0]["return_shipping_insured"] = True
    r = api("platform_key").post("/api/v1/orders/", body, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["lines"][0]["return_shipping_insured"] is True
    plain = api("platform_key").post(
        "/api/v1/orders/",
        _order_body(merchant_a, consumer_a, sku, number="API-NOINS"),
        format="json",
    )
    assert plain.json()["lines"][0]["return_shipping_insured"] is False


def test_full_flow_over_api(api, merchant_a, consumer_a):
    sku = of.SkuFactory(product__merchant=merchant_a)
    order = (
        api("platform_key")
        .post("/api/v1/orders/", _order_body(merchant_a, consumer_a, sku), format="json")
        .json()
    )
    r = api("merchant_key_a").post(
        "/api/v1/payments/",
        {
            "order": order["id"],
            "external_id": "PAY-1",
            "amount": "90.00",
            "tenders": [{"kind": "card", "amount": "80.00"}, {"kind": "coupon", "amount": "10.00"}],
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert len(r.json()["tenders"]) == 2
    r = api("merchant_a").post(
        "/api/v1/shipments/",
        {"line": order["lines"][0]["id"], "carrier": "SF", "tracking_number": "SF100"},
        format="json",
    )
    assert r.status_code == 201, r.json()
    shipment = r.json()["id"]
    t = clock.now() - timedelta(minutes=5)
    r = api("merchant_key_a").post(
        f"/api/v1/shipments/{shipment}/events/",
        {
            "kind": "picked_up",
            "occurred_at": t.isoformat(),
            "location": "上海",
            "external_id": "E1",
        },
        format="json",
    )
    assert r.status_code == 201
    r = api("merchant_key_a").post(
        f"/api/v1/shipments/{shipment}/events/",
        {
            "kind": "picked_up",
            "occurred_at": t.isoformat(),
            "location": "上海",
            "external_id": "E1",
        },
        format="json",
    )
    assert r.status_code == 200  # duplicate push: nothing new
    assert TrackingEvent.objects.filter(shipment_id=shipment).count() == 1
    r = api("merchant_key_a").post(
        f"/api/v1/shipments/{shipment}/sign-off/",
        {"signer_name": "张三丰", "signer_relation": "self", "signed_at": clock.now().isoformat()},
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert r.json()["sign_off"]["signer_name"] == "张*丰"
    detail = api("consumer_a").get(f"/api/v1/orders/{order['id']}/").json()
    assert detail["status"] == "delivered"
    assert [e["kind"] for e in detail["shipments"][0]["events"]] == ["picked_up", "signed"]
    assert detail["payments"][0]["tenders"][1]["kind"] == "coupon"
    # consumers read, but do not write
    assert (
        api("consumer_a")
        .post(
            f"/api/v1/shipments/{shipment}/events/",
            {"kind": "in_transit", "occurred_at": t.isoformat()},
            format="json",
        )
        .status_code
        == 403
    )
    assert api("consumer_b").get(f"/api/v1/orders/{order['id']}/").status_code == 404
    assert api("merchant_b").get(f"/api/v1/shipments/{shipment}/").status_code == 404
    assert (
        api("merchant_b")
        .post(
            f"/api/v1/shipments/{shipment}/events/",
            {"kind": "in_transit", "occurred_at": t.isoformat()},
            format="json",
        )
        .status_code
        == 404
    )


def test_shipment_errors_have_codes(api, merchant_a, consumer_a):
    order = of.paid_order(merchant_a, consumer_a, prices=("6000.00",))
    order.status = "pending_payment"
    order.save()
    line = order.lines.get()
    r = api("merchant_a").post(
        "/api/v1/shipments/",
        {"line": line.pk, "carrier": "SF", "tracking_number": "N1"},
        format="json",
    )
    assert r.status_code == 400 and r.json()["code"] == "line_not_paid"
    Order.objects.filter(pk=order.pk).update(status="paid")
    r = api("merchant_a").post(
        "/api/v1/shipments/",
        {"line": line.pk, "carrier": "SF", "tracking_number": "N1"},
        format="json",
    )
    assert r.status_code == 201 and r.json()["insured"] is True
    r = api("merchant_a").post(
        f"/api/v1/shipments/{r.json()['id']}/sign-off/",
        {"signer_name": "张三", "signed_at": clock.now().isoformat()},
        format="json",
    )
    assert r.status_code == 400 and r.json()["code"] == "e_signature_required"
    r = api("merchant_a").post(
        f"/api/v1/shipments/{Shipment.objects.get().pk}/events/",
        {"kind": "teleported", "occurred_at": clock.now().isoformat()},
        format="json",
    )
    assert r.status_code == 400 and "kind" in r.json()["fields"]


def test_idempotency_replay_and_key_reuse(api, merchant_a, consumer_a):
    sku = of.SkuFactory(product__merchant=merchant_a)
    client = api("platform_key")
    body = _order_body(merchant_a, consumer_a, sku, number="IDEM-1")
    first = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.filter(number="IDEM-1").count() == 1
    other = client.post(
        "/api/v1/orders/",
        _order_body(merchant_a, consumer_a, sku, number="IDEM-2"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 400 and other.json()["code"] == "idempotency_key_reused"
    assert not Order.objects.filter(number="IDEM-2").exists()


def test_order_list_filters_search_and_scope(api, merchant_a, merchant_b, consumer_a, consumer_b):
    tv = of.SkuFactory(product__merchant=merchant_a, product__name="液晶电视")
    services.order_create(
        merchant=merchant_a,
        consumer=consumer_a,
        number="A-TV",
        lines=[{"sku": tv, "quantity": 1}],
        actor=SYSTEM,
    )
    of.paid_order(merchant_a, consumer_b, number="A-OTHER")
    old = of.paid_order(merchant_a, consumer_a, number="A-OLD")
    Order.objects.filter(pk=old.pk).update(placed_at=clock.now() - timedelta(days=30))
    of.paid_order(merchant_b, consumer_a, number="B-1")

    def numbers(who, query=""):
        r = api(who).get(f"/api/v1/orders/{query}")
        assert r.status_code == 200, r.json()
        return sorted(o["number"] for o in r.json()["results"])

    assert numbers("merchant_a") == ["A-OLD", "A-OTHER", "A-TV"]
    assert numbers("consumer_a") == ["A-OLD", "A-TV", "B-1"]
    assert numbers("after_sales_agent", f"?merchant={merchant_b.pk}") == ["B-1"]
    assert numbers("merchant_a", "?status=pending_payment") == ["A-TV"]
    assert numbers("merchant_a", "?status=pending_payment&status=paid") == [
        "A-OLD",
        "A-OTHER",
        "A-TV",
    ]
    assert numbers("merchant_a", "?search=电视") == ["A-TV"]
    assert numbers("merchant_a", "?search=OTH") == ["A-OTHER"]
    today = clock.today().isoformat()
    assert numbers("merchant_a", f"?placed_from={today}") == ["A-OTHER", "A-TV"]
    assert numbers(
        "merchant_a", f"?placed_to={(clock.today() - timedelta(days=1)).isoformat()}"
    ) == ["A-OLD"]
    # The ends of the calendar have no UTC instant: an open bound, not a 500.
    assert numbers("merchant_a", "?placed_to=9999-12-31") == ["A-OLD", "A-OTHER", "A-TV"]
    assert numbers("merchant_a", "?placed_from=0001-01-01") == ["A-OLD", "A-OTHER", "A-TV"]
    row = api("merchant_a").get("/api/v1/orders/?search=A-TV").json()["results"][0]
    assert row["consumer_name"] == "张*丰" and row["total_amount"] == "100.00"
    assert api("merchant_a").get("/api/v1/orders/?status=bogus").status_code == 400


@pytest.mark.parametrize("page_size", [5, 100])
@pytest.mark.parametrize("who", ["merchant_a", "merchant_key_a"])
def test_order_list_constant_queries(
    api, merchant_a, consumer_a, django_assert_max_num_queries, page_size, who
):
    for _ in range(page_size + 1):
        of.paid_order(merchant_a, consumer_a)
    client = api(who)
    client.get("/api/v1/orders/?page_size=1")  # warm up (API key last-used write)
    with django_assert_max_num_queries(6):
        r = client.get(f"/api/v1/orders/?page_size={page_size}")
    assert r.status_code == 200 and len(r.json()["results"]) == page_size
    assert r.json()["next"]


def test_order_detail_constant_queries(api, merchant_a, consumer_a, django_assert_max_num_queries):
    order = of.paid_order(merchant_a, consumer_a, prices=("10.00", "20.00", "30.00"))
    for i, line in enumerate(order.lines.all()):
        s = services.shipment_create(line=line, carrier="SF", tracking_number=f"Q{i}", actor=SYSTEM)
        for k in ("picked_up", "in_transit"):
            services.tracking_event_record(
                shipment=s, kind=k, occurred_at=clock.now(), actor=SYSTEM
            )
    client = api("merchant_a")
    with django_assert_max_num_queries(12):
        r = client.get(f"/api/v1/orders/{order.pk}/")
    assert len(r.json()["shipments"]) == 3 and len(r.json()["shipments"][0]["events"]) == 2


def test_order_patch_status(api, merchant_a, consumer_a):
    order = of.paid_order(merchant_a, consumer_a)
    r = api("merchant_key_a").patch(
        f"/api/v1/orders/{order.pk}/", {"status": "completed"}, format="json"
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid_status_transition"
    r = api("merchant_key_a").patch(
        f"/api/v1/orders/{order.pk}/", {"status": "shipped"}, format="json"
    )
    assert r.status_code == 400 and r.json()["code"] == "order_status_derived"
    r = api("merchant_key_a").patch(
        f"/api/v1/orders/{order.pk}/", {"status": "cancelled", "reason": "缺货"}, format="json"
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (
        api("merchant_b")
        .patch(f"/api/v1/orders/{order.pk}/", {"status": "paid"}, format="json")
        .status_code
        == 404
    )


def test_payments_scoped(api, merchant_a, consumer_a, consumer_b):
    order = of.paid_order(merchant_a, consumer_a)
    assert len(api("consumer_a").get("/api/v1/payments/").json()["results"]) == 1
    assert api("consumer_b").get("/api/v1/payments/").json()["results"] == []
    assert api("merchant_b").get("/api/v1/payments/").json()["results"] == []
    body = {
        "external_id": "X",
        "amount": "1.00",
        "tenders": [{"kind": "card", "amount": "1.00"}],
    }
    r = api("merchant_b").post("/api/v1/payments/", {**body, "order": order.pk}, format="json")
    assert r.status_code == 404 and r.json()["fields"] == {"order": REFERENCE_NOT_FOUND}
    assert order.payments.count() == 1
    _ = D


@pytest.mark.parametrize("who", ["merchant_a", "merchant_key_a"])
def test_merchants_cannot_create_orders(api, merchant_a, consumer_a, consumer_b, who):
    """Orders are recorded by the platform's shop system: a merchant gets 403, nothing written,
    whichever consumer id it names (an existing one answers like a missing one)."""
    sku = of.SkuFactory(product__merchant=merchant_a)
    answers = []
    for consumer_id in (consumer_a.pk, consumer_b.pk, _missing_id(ConsumerProfile)):
        body = _order_body(merchant_a, consumer_a, sku, number="M-1")
        body["consumer"] = consumer_id
        r = api(who).post("/api/v1/orders/", body, format="json")
        assert r.status_code == 403, r.json()
        answers.append(r.json())
    assert answers[0]["code"] == "order_create_platform_only"
    assert "平台" in answers[0]["message"] and "platform" not in answers[0]["message"]
    assert answers[0] == answers[1] == answers[2]
    body = _order_body(merchant_a, consumer_a, sku, number="M-1")
    english = api(who).post("/api/v1/orders/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert "platform" in english.json()["message"] and "平台" not in english.json()["message"]
    assert not Order.objects.exists()
    r = api("platform_key").post(
        "/api/v1/orders/", _order_body(merchant_a, consumer_b, sku, number="M-1"), format="json"
    )
    assert r.status_code == 201, r.json()


def _missing_id(model):
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def _probe(api, who, method, url, body, field, foreign_id, missing_id):
    """The answers to ``body`` with ``field`` set to a foreign id and to a nonexistent one."""
    client = api(who)
    send = getattr(client, method)
    foreign = send(url, {**body, field: foreign_id}, format="json")
    missing = send(url, {**body, field: missing_id}, format="json")
    return foreign, missing


def test_foreign_ids_answer_like_missing_ids(api, merchant_a, merchant_b, consumer_a):
    """A body id of another tenant's row answers exactly like an id that does not exist."""
    mine = of.paid_order(merchant_a, consumer_a, number="MINE")
    theirs = of.paid_order(merchant_b, consumer_a, number="THEIRS")
    their_product = of.ProductFactory(merchant=merchant_b)
    inactive = of.ProductFactory(merchant=merchant_b, is_active=False)
    my_sku = of.SkuFactory(product__merchant=merchant_a)
    category = of.CategoryFactory()
    cases = [
        (
            "merchant_a",
            "post",
            "/api/v1/payments/",
            {"external_id": "P", "amount": "1.00", "tenders": [{"kind": "card", "amount": "1"}]},
            "order",
            theirs.pk,
            _missing_id(Order),
        ),
        (
            "merchant_key_a",
            "post",
            "/api/v1/shipments/",
            {"carrier": "SF", "tracking_number": "PROBE"},
            "line",
            theirs.lines.get().pk,
            _missing_id(OrderLine),
        ),
        (
            "merchant_a",
            "post",
            "/api/v1/products/",
            {"category": category.pk, "name": "探测"},
            "merchant",
            merchant_b.pk,
            _missing_id(Merchant),
        ),
        (
            "merchant_key_a",
            "post",
            "/api/v1/skus/",
            {"code": "PROBE-1", "price": "1.00"},
            "product",
            their_product.pk,
            _missing_id(Product),
        ),
        (
            "merchant_a",
            "patch",
            f"/api/v1/skus/{my_sku.pk}/",
            {},
            "product",
            their_product.pk,
            _missing_id(Product),
        ),
        (
            "consumer_a",
            "post",
            "/api/v1/skus/",
            {"code": "PROBE-2", "price": "1.00"},
            "product",
            inactive.pk,
            _missing_id(Product),
        ),
    ]
    for who, method, url, body, field, foreign_id, missing_id in cases:
        foreign, missing = _probe(api, who, method, url, body, field, foreign_id, missing_id)
        label = f"{who} {method} {url} {field}"
        assert foreign.status_code == missing.status_code == 404, label
        assert foreign.json() == missing.json(), label
        assert foreign.json()["code"] == "not_found", label
        assert foreign.json()["fields"] == {field: REFERENCE_NOT_FOUND}, label
    # order lines' SKU: a platform writer sees every SKU, so only a missing one is refused
    body = _order_body(merchant_a, consumer_a, my_sku, number="PROBE-O")
    body["lines"][0]["sku"] = _missing_id(Sku)
    r = api("platform_key").post("/api/v1/orders/", body, format="json")
    assert r.status_code == 404 and r.json()["fields"] == {"sku": REFERENCE_NOT_FOUND}
    # nothing was written by the refused requests
    assert not Shipment.objects.exists()
    assert mine.payments.count() == theirs.payments.count() == 1
    assert not Sku.objects.filter(code__startswith="PROBE").exists()
    my_sku.refresh_from_db()
    assert my_sku.product.merchant_id == merchant_a.pk
