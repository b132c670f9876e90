"""Warranty cards over the API: scoped lists, coverage per part, and the entitlement engine's
answer — the rule granting each remedy, the deciding dates, the G8 refund (the worked example of
RULES.md) or why it cannot be computed; a chosen remedy goes into the returns flow."""

from datetime import timedelta

import pytest

from aftersales import clock
from aftersales.clock import SHANGHAI
from repairs import rules
from repairs.tests.factories import finished_repair, provider_with_staff, signed_card

pytestmark = pytest.mark.django_db

URL = "/api/v1/warranty-cards/"
DAY = timedelta(days=1)


@pytest.fixture
def tech(db):
    return provider_with_staff(staff=("card-tech",), codes=("lcd_tv", "microcomputer"))


def _two_repairs(merchant, consumer, tech, *, code="lcd_tv"):
    """Day 100 after sign-off today; repaired twice, 5 days each (days 20–25 and 40–45)."""
    signed = (clock.now() - 100 * DAY).astimezone(SHANGHAI).replace(hour=10, minute=0)
    card = signed_card(merchant, consumer, signed_at=signed, code=code)
    provider, (user,) = tech
    for start in (20, 40):
        finished_repair(
            card,
            provider,
            user,
            received_at=signed + start * DAY,
            finished_at=signed + (start + 5) * DAY,
        )
    return card


def test_g8_worked_example_through_the_api(merchant_a, roles, api, tech):
    """¥3,000 LCD TV, 0.10 %/day, day 100, 10 days in repair → refund ¥2,730 (RULES.md G8)."""
    card = _two_repairs(merchant_a, roles["consumer_a"].consumer, tech)
    response = api("consumer_a").get(f"{URL}{card.pk}/entitlements/")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["day"] == 100 and answer["kinds"] == ["return", "exchange", "free_repair"]
    exchange = next(r for r in answer["remedies"] if r["kind"] == "exchange")
    assert exchange["rule"] == "G4" and len(exchange["dates"]["repairs_finished"]) == 2
    refund = next(r for r in answer["remedies"] if r["kind"] == "return")
    assert refund["rule"] == "G8" and refund["with_depreciation"] is True
    assert refund["refund"] == "2730.00" and refund["refund_error"] == ""
    assert refund["dates"]["days_since_start"] == 100 and refund["dates"]["days_in_repair"] == 10


def test_g8_refuses_to_compute_while_the_rate_is_unknown(merchant_a, roles, api, tech):
    card = _two_repairs(merchant_a, roles["consumer_a"].consumer, tech, code="microcomputer")
    answer = api("merchant_a").get(f"{URL}{card.pk}/entitlements/").json()
    refund = next(r for r in answer["remedies"] if r["kind"] == "return")
    assert refund["rule"] == "G8" and refund["refund"] is None
    assert refund["refund_error"] == "depreciation_rate_unknown"
    chosen = api("consumer_a").post(
        f"{URL}{card.pk}/choose-remedy/", {"remedy": "return"}, format="json"
    )
    assert chosen.status_code == 400 and chosen.json()["code"] == "depreciation_rate_unknown"


def test_why_can_i_only_repair_after_day_15(merchant_a, roles, api):
    card = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - 16 * DAY)
    answer = api("consumer_a").get(f"{URL}{card.pk}/entitlements/").json()
    assert answer["kinds"] == ["free_repair"] and answer["summary"].startswith("签收后第 16 天")
    (remedy,) = answer["remedies"]
    assert remedy["rule"] == "G3" and "ends_at" in remedy["dates"]
    refused = api("consumer_a").post(
        f"{URL}{card.pk}/choose-remedy/", {"remedy": "exchange"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "remedy_not_granted"


def test_card_detail_shows_coverage_per_part_extended_by_repair_days(merchant_a, roles, api, tech):
    card = _two_repairs(merchant_a, roles["consumer_a"].consumer, tech)
    detail = api("consumer_a").get(f"{URL}{card.pk}/").json()
    whole, *parts = detail["coverage"]
    assert whole["part"] is None and whole["months"] == 12 and whole["extension_days"] == 10
    assert [p["part"] for p in parts] == ["显示屏", "驱动/背光板", "逻辑板", "高频调谐器"]
    for part in parts:
        assert part["months"] == 36 and part["extension_days"] == 10
        assert part["last_day"] > whole["last_day"]
    signed = clock.local(card.starts_at).date()
    base = rules.add_months(signed, 12)  # 29 February has no day a year later
    assert whole["base_last_day"] == base.isoformat()
    assert whole["last_day"] == (base + 10 * DAY).isoformat()


def test_choosing_an_exchange_goes_to_the_returns_flow(merchant_a, roles, api, tech):
    card = _two_repairs(merchant_a, roles["consumer_a"].consumer, tech)
    chosen = api("consumer_a").post(
        f"{URL}{card.pk}/choose-remedy/", {"remedy": "exchange"}, format="json"
    )
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["pending_remedy"] == "exchange"
    assert chosen.json()["return_request_id"] is not None
    (escalation,) = api("after_sales_agent").get("/api/v1/warranty-escalations/").json()["results"]
    assert escalation["rule"] == "G4" and escalation["chosen_remedy"] == "exchange"
    again = api("consumer_a").post(
        f"{URL}{card.pk}/choose-remedy/", {"remedy": "refund"}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "remedy_already_chosen"


def test_cards_are_scoped_and_filtered(merchant_a, merchant_b, roles, api):
    mine = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - DAY)
    theirs = signed_card(merchant_b, roles["consumer_b"].consumer, signed_at=clock.now() - DAY)

    def ids(role, **params):
        return {c["id"] for c in api(role).get(URL, params).json()["results"]}

    assert ids("consumer_a") == {mine.pk} and ids("merchant_b") == {theirs.pk}
    assert ids("auditor") == {mine.pk, theirs.pk}
    assert ids("auditor", order=mine.order_line.order_id) == {mine.pk}
    assert ids("auditor", search=theirs.number[-6:]) == {theirs.pk}
    assert api("consumer_b").get(f"{URL}{mine.pk}/entitlements/").status_code == 404


def test_card_list_runs_a_fixed_number_of_queries(
    merchant_a, roles, api, django_assert_max_num_queries
):
    for _ in range(5):
        signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - DAY)
    client = api("merchant_key_a")
    with django_assert_max_num_queries(4):
        response = client.get(URL, {"page_size": 25})
    assert len(response.json()["results"]) == 5


def test_merchant_issues_cards_with_serial_numbers(merchant_a, merchant_b, roles, api):
    from repairs.tests.factories import sanbao_line

    line = sanbao_line(merchant_a, roles["consumer_a"].consumer, quantity=2)
    body = {
        "order_line": line.pk,
        "signed_at": (clock.now() - DAY).isoformat(),
        "serial_numbers": ["SN-1", "SN-2"],
    }
    created = api("merchant_a").post(URL, body, format="json")
    assert created.status_code == 201, created.content
    assert sorted(c["serial_number"] for c in created.json()) == ["SN-1", "SN-2"]
    assert api("merchant_a").post(URL, body, format="json").json() == []  # already issued
    assert api("merchant_b").post(URL, body, format="json").status_code == 404


def test_entitlements_take_the_same_queries_whatever_the_history(merchant_a, roles, tech):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import client_for

    busy = _two_repairs(merchant_a, roles["consumer_a"].consumer, tech)
    fresh = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - DAY)
    client = client_for(roles["merchant_key_a"])
    client.get(f"{URL}{fresh.pk}/entitlements/")  # the key's last-used time is written once
    counts = []
    for card in (fresh, busy):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{URL}{card.pk}/entitlements/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 6, counts


def test_g13_a_paid_repair_is_not_one_of_g4s_two_repairs(merchant_a, roles, api, tech):
    """The second repair found misuse and was charged (G11): no G4 exchange on the third fault,
    and its days do not extend the period (G13)."""
    from aftersales.tenancy.actors import actor_for_user
    from repairs import services
    from repairs.tests.factories import at, received_repair

    signed = (clock.now() - 100 * DAY).astimezone(SHANGHAI).replace(hour=10, minute=0)
    card = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=signed)
    provider, (user,) = tech
    finished_repair(
        card, provider, user, received_at=signed + 20 * DAY, finished_at=signed + 25 * DAY
    )
    second = received_repair(
        card, provider, user, reported_at=signed + 40 * DAY, received_at=signed + 40 * DAY
    )
    with at(signed + 45 * DAY):
        services.repair_finish(
            repair=second,
            actor=actor_for_user(user),
            result="fixed",
            paid_reason="misuse",
            labour_fee="80.00",
        )
    answer = api("consumer_a").get(f"{URL}{card.pk}/entitlements/").json()
    assert answer["kinds"] == ["free_repair"]
    detail = api("consumer_a").get(f"{URL}{card.pk}/").json()
    whole = next(c for c in detail["coverage"] if c["part"] is None)
    assert whole["extension_days"] == 5  # the free repair's days only
    refused = api("consumer_a").post(
        f"{URL}{card.pk}/choose-remedy/", {"remedy": "exchange"}, format="json"
    )
    assert refused.status_code == 400 and refused.json()["code"] == "remedy_not_granted"


def test_g7_out_of_stock_on_day_10_alternative_or_full_refund_over_the_api(merchant_a, roles, api):
    from orders.tests.factories import SkuFactory

    card = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - 10 * DAY)
    card.sku.stock = 0
    card.sku.save(update_fields=["stock"])
    other = SkuFactory(product=card.sku.product, price=card.unit_price, stock=2, spec="另一规格")
    answer = api("consumer_a").get(f"{URL}{card.pk}/entitlements/").json()
    assert answer["kinds"] == ["return", "exchange", "free_repair"]
    exchange = next(r for r in answer["remedies"] if r["kind"] == "exchange")
    refund = next(r for r in answer["remedies"] if r["kind"] == "return")
    assert exchange["rule"] == "G7" and exchange["alternative"] is True
    assert refund["rule"] == "G7" and refund["refund"] == "3000.00"
    missing = api("consumer_a").post(
        f"{URL}{card.pk}/choose-remedy/", {"remedy": "exchange"}, format="json"
    )
    assert missing.status_code == 400 and missing.json()["code"] == "exchange_sku_required"
    chosen = api("consumer_a").post(
        f"{URL}{card.pk}/choose-remedy/",
        {"remedy": "exchange", "exchange_sku": other.pk},
        format="json",
    )
    assert chosen.status_code == 200, chosen.content
    assert chosen.json()["pending_remedy"] == "exchange"
