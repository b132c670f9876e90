"""Consumer pages (/my/orders/) and merchant portal (/merchant/orders/): scope, filters,
pagination, masking, trajectory, query counts and the English switch."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.models import Order

from .factories_pages import page_order, ship_with_trajectory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_as(client, roles):
    def login(name):
        client.force_login(roles[name])
        return client

    return login


@pytest.fixture
def orders(roles, merchant_a, merchant_b):
    """Consumer A has an order at each merchant; consumer B one at merchant A."""
    a = roles["consumer_a"].consumer
    b = roles["consumer_b"].consumer
    return {
        "a_at_a": page_order(consumer=a, merchant=merchant_a, product_name="降噪耳机 Pro"),
        "a_at_b": page_order(consumer=a, merchant=merchant_b, product_name="电饭煲 5L"),
        "b_at_a": page_order(
            consumer=b,
            merchant=merchant_a,
            product_name="机械键盘",
            ship_name="李四",
            ship_phone="13900001111",
        ),
    }


def rows(response):
    return response.content.decode().count('data-testid="order-row"')


# -- sign-in and the landing redirect -----------------------------------------------------


def test_login_page_renders_and_signs_in(client, roles):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert "售后服务平台" in page.content.decode()
    response = client.post("/accounts/login/", {"username": "consumer-a", "password": "pass-1234"})
    assert response.status_code == 302
    assert client.get("/").url == "/my/"


def test_login_rejects_a_wrong_password(client, roles):
    response = client.post("/accounts/login/", {"username": "consumer-a", "password": "nope"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


@pytest.mark.parametrize(
    ("role", "target"),
    [("consumer_a", "/my/"), ("merchant_a", "/merchant/"), ("after_sales_agent", "/admin/")],
)
def test_home_sends_each_role_to_its_place(client_as, role, target):
    assert client_as(role).get("/").url == target


@pytest.mark.parametrize(
    ("path", "target"), [("/my/", "/my/orders/"), ("/merchant/", "/merchant/orders/")]
)
def test_portal_home_opens_the_order_list(client_as, path, target):
    role = "consumer_a" if path == "/my/" else "merchant_a"
    assert client_as(role).get(path).url == target


@pytest.mark.parametrize("path", ["/my/orders/", "/merchant/orders/"])
def test_anonymous_is_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("merchant_a", "/my/orders/"),
        ("after_sales_manager", "/my/orders/"),
        ("consumer_a", "/merchant/orders/"),
        ("auditor", "/merchant/orders/"),
    ],
)
def test_wrong_role_for_a_portal_is_404(client_as, role, path):
    assert client_as(role).get(path).status_code == 404


# -- consumer pages ----------------------------------------------------------------------


def test_consumer_lists_only_own_orders(client_as, orders):
    response = client_as("consumer_a").get("/my/orders/")
    body = response.content.decode()
    assert response.status_code == 200
    assert rows(response) == 2
    assert orders["a_at_a"].number in body and orders["a_at_b"].number in body
    assert orders["b_at_a"].number not in body
    assert "降噪耳机 Pro" in body


def test_consumer_order_of_someone_else_is_404(client_as, orders):
    client = client_as("consumer_a")
    assert client.get(f"/my/orders/{orders['b_at_a'].pk}/").status_code == 404
    assert client.get("/my/orders/999999/").status_code == 404
    assert client.get(f"/my/orders/{orders['a_at_a'].pk}/").status_code == 200


def test_consumer_detail_shows_lines_tenders_trajectory_and_sign_off(client_as, roles, merchant_a):
    order = page_order(
        consumer=roles["consumer_a"].consumer,
        merchant=merchant_a,
        product_name="智能手表",
        unit_price=Decimal("1000.00"),
        quantity=2,
        tenders=(("coupon", "50.00"), ("balance", "150.00"), ("card", None)),
    )
    # 2026-11-20 16:30 UTC is 2026-11-21 00:30 in Shanghai: the page must show the latter.
    ship_with_trajectory(order, start=datetime(2026, 11, 20, 16, 30, tzinfo=UTC), signer="王小明")
    response = client_as("consumer_a").get(f"/my/orders/{order.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "智能手表" in body and "¥2000.00" in body
    assert body.count('data-testid="tender"') == 3
    assert "优惠券" in body and "¥1800.00" in body
    assert body.count('data-testid="tracking-event"') == 5
    assert "2026-11-21 00:30:00" in body
    assert "2026-11-20 16:30" not in body
    assert "上海转运中心" in body and "派送员正在为您派件" in body
    # Newest node first.
    assert body.index("已签收，签收人：本人") < body.index("快递员已揽收")
    assert 'data-testid="sign-off"' in body and "王小明" in body
    # The consumer sees their own address in full.
    assert "3 幢 1201 室" in body and "13812345678" in body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "delivered"}, {"delivered"}),
        ({"q": "耳机"}, {"headphones"}),
        ({"q": "PO-FIND-ME"}, {"delivered"}),
        ({"placed_from": "2026-11-10", "placed_to": "2026-11-12"}, {"headphones"}),
        ({"placed_from": "2026-11-20"}, {"delivered"}),
        ({"placed_from": "not-a-date"}, {"delivered", "headphones", "kettle"}),
        # The ends of the calendar have no UTC instant: an open bound, not a 500.
        ({"placed_to": "9999-12-31"}, {"delivered", "headphones", "kettle"}),
        ({"placed_from": "0001-01-01"}, {"delivered", "headphones", "kettle"}),
        ({}, {"delivered", "headphones", "kettle"}),
    ],
)
def test_consumer_filters(client_as, roles, merchant_a, params, expected):
    consumer = roles["consumer_a"].consumer
    made = {
        "delivered": page_order(
            consumer=consumer,
            merchant=merchant_a,
            number="PO-FIND-ME",
            status=Order.Status.DELIVERED,
            product_name="台灯",
            placed_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        ),
        # 2026-11-11 23:30 Shanghai (15:30 UTC): still the 11th for the date filter.
        "headphones": page_order(
            consumer=consumer,
            merchant=merchant_a,
            product_name="蓝牙耳机",
            placed_at=datetime(2026, 11, 11, 15, 30, tzinfo=UTC),
        ),
        "kettle": page_order(
            consumer=consumer,
            merchant=merchant_a,
            product_name="电水壶",
            placed_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
        ),
    }
    body = client_as("consumer_a").get("/my/orders/", params).content.decode()
    shown = {name for name, order in made.items() if order.number in body}
    assert shown == expected


def test_date_range_upside_down_is_reported(client_as, orders):
    response = client_as("consumer_a").get(
        "/my/orders/", {"placed_from": "2026-11-20", "placed_to": "2026-11-01"}
    )
    assert response.status_code == 200
    assert "结束日期不能早于开始日期" in response.content.decode()


def test_pagination_keeps_the_filters(client_as, roles, merchant_a):
    consumer = roles["consumer_a"].consumer
    for _ in range(23):
        page_order(consumer=consumer, merchant=merchant_a, status=Order.Status.SHIPPED)
    page_order(consumer=consumer, merchant=merchant_a, status=Order.Status.CANCELLED)
    client = client_as("consumer_a")
    first = client.get("/my/orders/", {"status": "shipped"})
    assert rows(first) == 20
    assert "status=shipped&amp;page=2" in first.content.decode()
    second = client.get("/my/orders/", {"status": "shipped", "page": 2})
    assert rows(second) == 3


def test_htmx_filter_answers_only_the_results(client_as, orders):
    response = client_as("consumer_a").get(
        "/my/orders/", {"q": "耳机"}, headers={"HX-Request": "true", "HX-Target": "order-results"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="order-results"')
    assert "<header" not in body
    assert rows(response) == 1
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("count", [3, 25])
def test_consumer_pages_run_a_fixed_number_of_queries(
    client_as, roles, merchant_a, django_assert_max_num_queries, count
):
    consumer = roles["consumer_a"].consumer
    made = [page_order(consumer=consumer, merchant=merchant_a) for _ in range(count)]
    for order in made[:3]:
        ship_with_trajectory(order)
    client = client_as("consumer_a")
    with django_assert_max_num_queries(8):
        assert rows(client.get("/my/orders/")) == min(count, 20)
    with django_assert_max_num_queries(12):  # +1: the case's pending deadlines
        assert client.get(f"/my/orders/{made[0].pk}/").status_code == 200


# -- merchant portal ---------------------------------------------------------------------


def test_merchant_lists_only_own_merchant_orders_masked(client_as, orders):
    response = client_as("merchant_a").get("/merchant/orders/")
    body = response.content.decode()
    assert rows(response) == 2
    assert orders["a_at_a"].number in body and orders["b_at_a"].number in body
    assert orders["a_at_b"].number not in body
    # RULES.md D2: names and phones masked.
    assert "张*丰" in body and "138******78" in body and "李*" in body
    assert "张三丰" not in body and "13812345678" not in body and "13900001111" not in body


def test_merchant_order_of_another_merchant_is_404(client_as, orders):
    client = client_as("merchant_a")
    assert client.get(f"/merchant/orders/{orders['a_at_b'].pk}/").status_code == 404
    assert client.get(f"/merchant/orders/{orders['a_at_a'].pk}/").status_code == 200
    other = client_as("merchant_b")
    assert other.get(f"/merchant/orders/{orders['a_at_a'].pk}/").status_code == 404


def test_merchant_detail_masks_consumer_and_shows_trajectory(client_as, orders):
    order = orders["a_at_a"]
    ship_with_trajectory(order, start=datetime(2026, 11, 2, 1, 0, tzinfo=UTC), signer="张三丰")
    body = client_as("merchant_a").get(f"/merchant/orders/{order.pk}/").content.decode()
    assert "张*丰" in body and "138******78" in body
    assert "浙江省杭州市西湖区" in body
    for secret in ("张三丰", "13812345678", "1201", "文三路 90 号"):
        assert secret not in body
    assert body.count('data-testid="tracking-event"') == 5
    assert "2026-11-02 09:00:00" in body  # 01:00 UTC in Shanghai


def test_merchant_filters_by_status_and_search(client_as, orders, merchant_a, roles):
    delivered = page_order(
        consumer=roles["consumer_b"].consumer,
        merchant=merchant_a,
        status=Order.Status.DELIVERED,
        product_name="投影仪",
    )
    client = client_as("merchant_a")
    body = client.get("/merchant/orders/", {"status": "delivered"}).content.decode()
    assert delivered.number in body and orders["a_at_a"].number not in body
    body = client.get("/merchant/orders/", {"q": "机械"}).content.decode()
    assert orders["b_at_a"].number in body and delivered.number not in body


@pytest.mark.parametrize("count", [3, 25])
def test_merchant_pages_run_a_fixed_number_of_queries(
    client_as, roles, merchant_a, django_assert_max_num_queries, count
):
    made = [
        page_order(consumer=roles["consumer_a"].consumer, merchant=merchant_a) for _ in range(count)
    ]
    ship_with_trajectory(made[0])
    client = client_as("merchant_a")
    with django_assert_max_num_queries(9):
        assert rows(client.get("/merchant/orders/")) == min(count, 20)
    with django_assert_max_num_queries(13):  # +1: the case's pending deadlines
        assert client.get(f"/merchant/orders/{made[0].pk}/").status_code == 200


# -- language ----------------------------------------------------------------------------


def test_chinese_by_default_and_english_after_the_switch(client_as, orders):
    client = client_as("consumer_a")
    body = client.get("/my/orders/").content.decode()
    assert "我的订单" in body and 'lang="zh-hans"' in body
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/my/orders/"})
    assert response.status_code == 302 and response.url == "/my/orders/"
    body = client.get("/my/orders/").content.decode()
    assert 'lang="en"' in body
    assert "My orders" in body and "Sign out" in body and "Paid" in body
    assert "我的订单" not in body
    detail = client.get(f"/my/orders/{orders['a_at_a'].pk}/").content.decode()
    assert "Tracking" in detail and "Order items" in detail


def test_login_page_in_english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    body = client.get("/accounts/login/").content.decode()
    assert "Sign in" in body and "Username" in body and "Password" in body


def test_timeline_times_are_shanghai_even_in_english(client_as, orders):
    order = orders["a_at_a"]
    ship_with_trajectory(order, start=datetime(2026, 11, 20, 16, 30, tzinfo=UTC))
    client = client_as("consumer_a")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get(f"/my/orders/{order.pk}/").content.decode()
    assert "2026-11-21 00:30:00" in body
    assert "2026-11-21 06:30:00" in body  # the second node, six hours later


def test_order_pages_show_pending_deadlines(client_as, orders):
    """Issue 3: a case shows its pending deadlines and what happens then — here the 72 h
    logistics alert of a parcel that was picked up (standard 6.2.1.2)."""
    from datetime import timedelta

    from aftersales import clock
    from aftersales.tenancy.actors import SYSTEM
    from orders import services

    order = orders["a_at_a"]
    picked = clock.now() - timedelta(hours=1)
    shipment = services.shipment_create(
        line=order.lines.get(),
        carrier="顺丰速运",
        tracking_number="SF-DUE",
        actor=SYSTEM,
        shipped_at=picked,
    )
    services.tracking_event_record(
        shipment=shipment, kind="picked_up", occurred_at=picked, actor=SYSTEM
    )
    due = clock.local(picked + timedelta(hours=72)).strftime("%Y-%m-%d %H:%M")
    for who, url in [("merchant_a", "merchant"), ("consumer_a", "my")]:
        body = client_as(who).get(f"/{url}/orders/{order.pk}/").content.decode()
        section = body.split('data-testid="deadlines"', 1)[1].split("</section>", 1)[0]
        assert due in section and "物流长时间未更新" in section, who
    services.tracking_event_record(
        shipment=shipment, kind="signed", occurred_at=clock.now(), actor=SYSTEM
    )
    body = client_as("merchant_a").get(f"/merchant/orders/{order.pk}/").content.decode()
    section = body.split('data-testid="deadlines"', 1)[1].split("</section>", 1)[0]
    assert due not in section and "暂无待办期限" in section
