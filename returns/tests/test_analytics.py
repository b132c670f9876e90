"""Return analytics (standard 6.4.2.1) on a hand-built data set: exact rates, filters, the
Shanghai day edge, tenant isolation, fixed query counts and the CSV export."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from aftersales.clock import SHANGHAI
from aftersales.errors import NotFound
from aftersales.policies import policy_set
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as af
from orders.tests import factories as of
from returns import analytics
from returns.analytics import AnalyticsFilterForm, AnalyticsQuery
from returns.models import ReturnRequest

pytestmark = pytest.mark.django_db

NOV_FROM, NOV_TO = date(2026, 11, 1), date(2026, 11, 30)


def shanghai(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def sale(product, quantity, paid_at, *, consumer=None):
    """One paid order of ``quantity`` units of ``product``; returns its line."""
    merchant = product.merchant
    order = of.OrderFactory(
        merchant=merchant,
        consumer=consumer or af.ConsumerFactory(),
        placed_at=paid_at or shanghai(2026, 11, 10, 8, 0),
        paid_at=paid_at,
        status="paid" if paid_at else "pending_payment",
    )
    sku = of.SkuFactory(product=product)
    return of.OrderLineFactory(
        order=order,
        sku=sku,
        quantity=quantity,
        unit_price=Decimal("10.00"),
        paid_amount=Decimal("10.00") * quantity,
    )


def ask(line, quantity, reason, status):
    kind = "quality" if reason not in ("no_reason", "changed_mind", "wrong_size") else "no_reason"
    return ReturnRequest.objects.create(
        number_day="20261201",
        order=line.order,
        line=line,
        merchant=line.order.merchant,
        consumer=line.order.consumer,
        kind="return_refund",
        reason=reason,
        reason_kind=kind,
        quantity=quantity,
        amount=Decimal("10.00") * quantity,
        status=status,
    )


@pytest.fixture
def data(merchant_a, merchant_b):
    clothes = of.CategoryFactory(code="clothes", name="服装")
    shoes = of.CategoryFactory(code="shoes", name="鞋靴", parent=clothes)
    digital = of.CategoryFactory(code="digital", name="数码")
    p1 = of.ProductFactory(merchant=merchant_a, category=clothes, name="纯棉T恤")
    p2 = of.ProductFactory(merchant=merchant_a, category=digital, name="蓝牙耳机")
    p3 = of.ProductFactory(merchant=merchant_b, category=shoes, name="跑步鞋")

    # P1: 10 sold in November; 2 refunded (quality), 1 open (no reason), 1 cancelled.
    l1 = sale(p1, 4, shanghai(2026, 11, 1, 0, 30))  # = 10-31 16:30 UTC: November in Shanghai
    l2 = sale(p1, 6, shanghai(2026, 11, 30, 23, 59))
    ask(l1, 2, "quality", "refunded")
    ask(l2, 1, "no_reason", "requested")
    ask(l2, 1, "quality", "cancelled")
    # Outside the range by one minute on either side, with returns that must not count.
    before = sale(p1, 5, shanghai(2026, 10, 31, 23, 59))
    ask(before, 5, "quality", "refunded")
    after = sale(p1, 5, shanghai(2026, 12, 1, 0, 0))
    ask(after, 5, "quality", "refunded")
    sale(p2, 2, None)  # never paid: not sold
    # P2: 3 sold; 1 closed (damaged, does not count), 1 completed exchange (changed mind).
    l3 = sale(p2, 3, shanghai(2026, 11, 15, 12, 0))
    ask(l3, 1, "damaged", "closed")
    ask(l3, 1, "changed_mind", "completed")
    # P3 (merchant B): 8 sold; 3 quality (received), 1 not as described (refunded).
    l4 = sale(p3, 8, shanghai(2026, 11, 20, 9, 0))
    ask(l4, 3, "quality", "received")
    ask(l4, 1, "not_as_described", "refunded")
    return {"p1": p1, "p2": p2, "p3": p3, "clothes": clothes, "digital": digital}


def q(**kwargs):
    return AnalyticsQuery(date_from=NOV_FROM, date_to=NOV_TO, **kwargs)


def by(rows, key):
    return {row[key]: row for row in rows}


def test_rate_is_exact_and_rounded_half_up():
    assert analytics.rate(4, 13) == Decimal("0.3077")
    assert analytics.rate(1, 8) == Decimal("0.1250")
    assert analytics.rate(1, 0) is None
    assert analytics.percent(Decimal("0.3077")) == "30.77%"
    assert analytics.percent(None) == "—"


def test_rate_by_product_counts_the_cohort_sold_in_the_range(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = analytics.return_rate_by_product(q(), actor=SYSTEM)
    assert [r["product"] for r in rows] == ["跑步鞋", "蓝牙耳机", "纯棉T恤"]  # by rate
    rows = by(rows, "product_id")
    p1, p2, p3 = (rows[data[k].pk] for k in ("p1", "p2", "p3"))
    assert (p1["sold"], p1["returned"], p1["quality"], p1["rate"]) == (10, 3, 2, Decimal("0.3"))
    assert (p2["sold"], p2["returned"], p2["quality"], p2["rate"]) == (3, 1, 0, Decimal("0.3333"))
    assert (p3["sold"], p3["returned"], p3["quality"], p3["rate"]) == (8, 4, 4, Decimal("0.5"))
    assert p3["quality_rate"] == Decimal("0.5") and p1["quality_rate"] == Decimal("0.2")


def test_completed_scope_counts_only_refunded_and_completed(data):
    rows = by(analytics.return_rate_by_product(q(status="completed"), actor=SYSTEM), "product_id")
    assert rows[data["p1"].pk]["returned"] == 2
    assert rows[data["p2"].pk]["rate"] == Decimal("0.3333")
    assert rows[data["p3"].pk]["rate"] == Decimal("0.125")


def test_rate_by_merchant(data, merchant_a, merchant_b, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = analytics.return_rate_by_merchant(q(), actor=SYSTEM)
    assert [r["merchant_id"] for r in rows] == [merchant_b.pk, merchant_a.pk]
    rows = by(rows, "merchant_id")
    assert (rows[merchant_a.pk]["sold"], rows[merchant_a.pk]["returned"]) == (13, 4)
    assert rows[merchant_a.pk]["rate"] == Decimal("0.3077")
    assert rows[merchant_b.pk]["rate"] == Decimal("0.5")


def test_rate_by_reason_and_summary(data, django_assert_num_queries):
    with django_assert_num_queries(2):
        rows = analytics.return_rate_by_reason(q(), actor=SYSTEM)
    assert [r["reason"] for r in rows][0] == "quality"
    rows = by(rows, "reason")
    assert set(rows) == {"quality", "no_reason", "changed_mind", "not_as_described"}
    quality = rows["quality"]
    assert (quality["returned"], quality["requests"], quality["sold"]) == (5, 2, 21)
    assert quality["rate"] == Decimal("0.2381") and quality["share"] == Decimal("0.625")
    assert quality["reason_label"] == "质量问题"
    assert rows["not_as_described"]["share"] == Decimal("0.125")
    with django_assert_num_queries(1):
        total = analytics.summary(q(), actor=SYSTEM)
    assert (total["sold"], total["returned"], total["quality"]) == (21, 8, 6)
    assert total["rate"] == Decimal("0.381")


def test_category_filter_includes_subcategories(data):
    rows = analytics.return_rate_by_product(q(category_id=data["clothes"].pk), actor=SYSTEM)
    assert {r["product_id"] for r in rows} == {data["p1"].pk, data["p3"].pk}
    rows = analytics.return_rate_by_product(q(category_id=data["digital"].pk), actor=SYSTEM)
    assert {r["product_id"] for r in rows} == {data["p2"].pk}


def test_problem_products_thresholds_from_policy_and_query(data, merchant_b):
    # Defaults: at least 3 quality units and 5 %: only the running shoes (4 units, 50 %).
    assert [r["product"] for r in analytics.problem_products(q(), actor=SYSTEM)] == ["跑步鞋"]
    # 2 units: the T-shirt (2 of 10 = 20 %) joins; 25 % leaves it out again.
    assert [r["product"] for r in analytics.problem_products(q(min_units=2), actor=SYSTEM)] == [
        "跑步鞋",
        "纯棉T恤",
    ]
    rows = analytics.problem_products(q(min_units=2, min_rate=25), actor=SYSTEM)
    names = [r["product"] for r in rows]
    assert names == ["跑步鞋"]
    # Exactly at the rate threshold counts (20 % ≥ 20 %); just above it does not.
    at = analytics.problem_products(q(min_units=2, min_rate=Decimal("20")), actor=SYSTEM)
    assert {r["product"] for r in at} == {"跑步鞋", "纯棉T恤"}
    above = analytics.problem_products(q(min_units=2, min_rate=Decimal("20.01")), actor=SYSTEM)
    assert {r["product"] for r in above} == {"跑步鞋"}
    # A merchant-scope policy raises the bar for merchant B only.
    policy_set(
        key="returns.problem_min_quality_units",
        value=5,
        scope="merchant",
        scope_id=merchant_b.pk,
        actor=SYSTEM,
    )
    assert analytics.problem_products(q(merchant_id=merchant_b.pk), actor=SYSTEM) == []
    assert analytics.thresholds(q()) == (3, Decimal("5"))


def test_merchant_sees_only_their_own(data, roles, merchant_a, merchant_b):
    actor = actor_for_user(roles["merchant_a"])
    form = AnalyticsFilterForm(
        {"date_from": "2026-11-01", "date_to": "2026-11-30", "merchant": merchant_b.pk},
        actor=actor,
    )
    query = form.query()
    assert query.merchant_id == merchant_a.pk  # the merchant filter is not theirs to choose
    assert {r["product_id"] for r in analytics.return_rate_by_product(query, actor=actor)} == {
        data["p1"].pk,
        data["p2"].pk,
    }
    assert analytics.summary(query, actor=actor)["sold"] == 13
    # The selectors scope by themselves: a query naming merchant B still shows merchant A's.
    foreign = q(merchant_id=merchant_b.pk)
    assert {r["merchant_id"] for r in analytics.return_rate_by_merchant(foreign, actor=actor)} == {
        merchant_a.pk
    }
    assert {r["reason"] for r in analytics.return_rate_by_reason(foreign, actor=actor)} == {
        "quality",
        "no_reason",
        "changed_mind",
    }
    problems = analytics.problem_products(q(merchant_id=merchant_b.pk, min_units=1), actor=actor)
    assert [r["product"] for r in problems] == ["纯棉T恤"]  # B's running shoes stay out
    with pytest.raises(NotFound):
        analytics.summary(q(), actor=actor_for_user(roles["consumer_a"]))
    platform = AnalyticsFilterForm(
        {"date_from": "2026-11-01", "date_to": "2026-11-30", "merchant": merchant_b.pk},
        actor=actor_for_user(roles["auditor"]),
    ).query()
    assert platform.merchant_id == merchant_b.pk
    for role in ("consumer_a", "mediator"):
        with pytest.raises(NotFound):
            AnalyticsFilterForm({}, actor=actor_for_user(roles[role])).query()


def test_filter_form_defaults_and_errors(roles):
    actor = actor_for_user(roles["auditor"])
    from aftersales import clock

    query = AnalyticsFilterForm({}, actor=actor).query()
    assert query.date_to == clock.today() and (query.date_to - query.date_from).days == 29
    assert query.status == "all"
    bad = AnalyticsFilterForm({"date_from": "2026-11-30", "date_to": "2026-11-01"}, actor=actor)
    with pytest.raises(Exception) as exc:
        bad.query()
    assert exc.value.code == "filter_invalid" and "date_to" in exc.value.fields


def parse_csv(content):
    assert content.startswith("\ufeff".encode())  # the BOM Excel needs for Chinese
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_csv_export_of_every_report(data):
    name, text = analytics.report_csv("products", q(), actor=SYSTEM)
    assert name == "return-products-20261101-20261130.csv"
    rows = parse_csv(text.encode("utf-8"))
    assert rows[0][:3] == ["商品编号", "商品名称", "商家"]
    assert rows[1][1] == "跑步鞋" and rows[1][4:7] == ["8", "4", "50.00%"]
    assert len(rows) == 4
    for report in analytics.REPORTS:
        assert analytics.report_csv(report, q(), actor=SYSTEM)[1].startswith("\ufeff")
    rows = parse_csv(analytics.report_csv("reasons", q(), actor=SYSTEM)[1].encode("utf-8"))
    assert rows[1][:5] == ["quality", "质量问题", "5", "2", "62.50%"]


# -- API ------------------------------------------------------------------------------------------

PARAMS = {"date_from": "2026-11-01", "date_to": "2026-11-30"}


def test_api_reports_for_platform_and_merchant(data, api, merchant_a, merchant_b):
    url = reverse("return-analytics-products")
    body = api("platform_key").get(url, PARAMS).json()
    assert {r["product_name"] for r in body["results"]} == {"纯棉T恤", "蓝牙耳机", "跑步鞋"}
    row = next(r for r in body["results"] if r["product_name"] == "跑步鞋")
    assert row["rate"] == "0.5000" and row["sold"] == 8 and row["returned"] == 4
    for role in ("merchant_a", "merchant_key_a"):
        body = api(role).get(url, {**PARAMS, "merchant": merchant_b.pk}).json()
        assert {r["product_name"] for r in body["results"]} == {"纯棉T恤", "蓝牙耳机"}
    assert api("merchant_b").get(url, PARAMS).json()["results"][0]["product_name"] == "跑步鞋"
    assert api("consumer_a").get(url, PARAMS).status_code == 404
    assert api("mediator").get(url, PARAMS).status_code == 404
    assert api(None).get(url, PARAMS).status_code == 401

    merchants = api("auditor").get(reverse("return-analytics-merchants"), PARAMS).json()
    assert {r["merchant_id"]: r["rate"] for r in merchants["results"]} == {
        merchant_a.pk: "0.3077",
        merchant_b.pk: "0.5000",
    }
    own = api("merchant_a").get(reverse("return-analytics-merchants"), PARAMS).json()
    assert [r["merchant_id"] for r in own["results"]] == [merchant_a.pk]

    reasons = api("merchant_b").get(reverse("return-analytics-reasons"), PARAMS).json()
    assert {r["reason"]: r["returned"] for r in reasons["results"]} == {
        "quality": 3,
        "not_as_described": 1,
    }
    assert reasons["summary"]["sold"] == 8

    problems = api("after_sales_agent").get(reverse("return-analytics-problem-products"), PARAMS)
    assert [r["product_name"] for r in problems.json()["results"]] == ["跑步鞋"]
    assert problems.json()["thresholds"] == {"min_units": 3, "min_rate": "5.00"}


def test_api_csv_export_is_scoped(data, api):
    url = reverse("return-analytics-products")
    response = api("merchant_key_a").get(url, {**PARAMS, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = parse_csv(response.content)
    assert {r[1] for r in rows[1:]} == {"纯棉T恤", "蓝牙耳机"}
    response = api("platform_key").get(
        reverse("return-analytics-problem-products"), {**PARAMS, "format": "csv"}
    )
    assert [r[1] for r in parse_csv(response.content)[1:]] == ["跑步鞋"]
    bad = api("platform_key").get(url, {"date_from": "x", "format": "csv"})
    assert bad.status_code == 400


def test_api_filter_errors_use_the_error_body(data, api):
    response = api("auditor").get(
        reverse("return-analytics-products"), {"date_from": "2026-12-01", "date_to": "2026-11-01"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "filter_invalid" and "date_to" in response.json()["fields"]


def test_api_product_list_pages_by_cursor(data, api):
    url = reverse("return-analytics-products")
    first = api("auditor").get(url, {**PARAMS, "page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = api("auditor").get(first["next"]).json()
    ids = [r["product_id"] for r in first["results"] + second["results"]]
    assert sorted(ids) == ids and len(set(ids)) == 3


# -- merchant portal ------------------------------------------------------------------------------


def test_merchant_page_shows_own_numbers_and_exports(data, client, roles):
    client.force_login(roles["merchant_a"])
    url = reverse("merchant:returns-analytics")
    page = client.get(url, PARAMS)
    html = page.content.decode()
    assert page.status_code == 200
    assert "纯棉T恤" in html and "30.00%" in html and "跑步鞋" not in html
    export = client.get(url, {**PARAMS, "export": "reasons"})
    assert export["Content-Type"].startswith("text/csv")
    assert {r[0] for r in parse_csv(export.content)[1:]} == {"quality", "no_reason", "changed_mind"}
    assert client.get(url, {**PARAMS, "export": "nope"}).status_code == 400


def test_merchant_page_refuses_other_roles(client, roles):
    for role in ("consumer_a", "after_sales_agent"):
        client.force_login(roles[role])
        assert client.get(reverse("merchant:returns-analytics")).status_code == 404


def queries_do_not_grow(client, url, grow, params=None):
    """Request ``url`` before and after ``grow()`` adds rows: the second answer takes no more
    queries than the first (the session's first read and the clock's once-a-second offset
    read are kept out of the comparison). Returns the second response."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftersales import clock

    client.get(url, params)
    clock.invalidate()
    with CaptureQueriesContext(connection) as before:
        client.get(url, params)
    grow()
    clock.invalidate()
    with CaptureQueriesContext(connection) as after:
        response = client.get(url, params)
    assert len(after) <= len(before), [q["sql"][:150] for q in after.captured_queries]
    return response


def test_merchant_page_query_count_does_not_grow_with_products(data, client, roles, merchant_a):
    def grow():
        for i in range(5):
            product = of.ProductFactory(merchant=merchant_a, name=f"新品{i}")
            ask(sale(product, 4, shanghai(2026, 11, 5, 10, 0)), 3, "quality", "received")

    client.force_login(roles["merchant_a"])
    page = queries_do_not_grow(client, reverse("merchant:returns-analytics"), grow, PARAMS)
    assert "新品4" in page.content.decode()
