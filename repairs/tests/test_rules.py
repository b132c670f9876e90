"""Boundaries of every 三包 rule G1–G12 (RULES.md "Three guarantees"), pure — no database."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aftersales.errors import RuleViolation
from repairs import rules
from repairs.rules import (
    EXCHANGE,
    FREE_REPAIR,
    PAID_REPAIR,
    RETURN,
    ExchangeFacts,
    RepairFacts,
    entitlements,
)
from repairs.tests.factories import card, sh

SIGNED = sh(2026, 11, 21, 0, 30)  # RULES.md "Time" example: day 7 ends 2026-11-29 00:00
US = timedelta(microseconds=1)


def day_end(n, start=SIGNED):
    """The last instant of day n after ``start`` (Shanghai)."""
    return rules.window_closes_at(start, n) - US


def day_start(n, start=SIGNED):
    """The first instant of day n after ``start`` (Shanghai)."""
    return rules.window_closes_at(start, n - 1)


# -- G1 / G2 -------------------------------------------------------------------------------------


def test_g1_day_7_return_exchange_repair():
    answer = entitlements(card(), day_end(7))
    assert answer.day == 7
    assert answer.rules_for(RETURN) == ["G1"]
    assert answer.remedy(RETURN).refund == Decimal("3000.00")
    assert not answer.remedy(RETURN).with_depreciation
    assert EXCHANGE in answer.kinds and FREE_REPAIR in answer.kinds
    assert answer.remedy(RETURN).dates["closes_at"] == sh(2026, 11, 29, 0, 0)


def test_g1_closes_on_day_8_exchange_repair_or_depreciated_refund():
    answer = entitlements(card(), day_start(8))
    assert answer.day == 8
    assert answer.kinds == [RETURN, EXCHANGE, FREE_REPAIR]
    assert answer.rules_for(EXCHANGE) == ["G2"]
    # G8 under G2: the same model is available, a refund instead is with depreciation
    refund = answer.remedy(RETURN)
    assert refund.rule == "G8" and refund.with_depreciation
    assert refund.refund == Decimal("3000.00") - Decimal("3000") * Decimal("0.001") * 8
    assert answer.summary.startswith("签收后第 8 天：可退货或换货或免费维修")
    # Consumers read the law, not the platform's codes: the rule is on each remedy.
    assert "G" not in answer.summary


def test_g1_shanghai_midnight_is_16_utc():
    before = datetime(2026, 11, 28, 15, 59, 59, 999999, tzinfo=UTC)
    after = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert entitlements(card(), before).rules_for(RETURN) == ["G1"]
    assert entitlements(card(), after).rules_for(RETURN) == ["G8"]


def test_g1_signed_late_utc_evening_counts_in_shanghai():
    # 2026-11-20 17:00 UTC is already 2026-11-21 01:00 Shanghai: day 7 ends 2026-11-29 00:00.
    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    assert entitlements(card(start), sh(2026, 11, 28, 23, 59)).rules_for(RETURN) == ["G1"]
    assert entitlements(card(start), sh(2026, 11, 29, 0, 0)).rules_for(RETURN) == ["G8"]


def test_g2_day_15_and_16():
    assert entitlements(card(), day_end(15)).rules_for(EXCHANGE) == ["G2"]
    answer = entitlements(card(), day_start(16))
    assert answer.kinds == [FREE_REPAIR]
    assert answer.rules_for(FREE_REPAIR) == ["G3"]
    assert answer.summary.startswith("签收后第 16 天：只能免费维修")


def test_same_day_phrase():
    assert entitlements(card(), SIGNED + timedelta(hours=1)).summary.startswith("签收当天")


# -- G3 / G9 -------------------------------------------------------------------------------------


def test_g3_whole_unit_last_day_and_after():
    # LCD TV: whole unit 12 months → last day 2027-11-21, panel etc. 36 months.
    assert entitlements(card(), sh(2027, 11, 21, 23, 59)).rules_for(FREE_REPAIR) == ["G3"]
    after = entitlements(card(), sh(2027, 11, 22, 0, 0))
    parts_remedy = after.remedy(FREE_REPAIR)
    assert parts_remedy.rule == "G3" and "主要部件" in parts_remedy.explanation
    assert set(parts_remedy.dates["parts"]) == {"显示屏", "驱动/背光板", "逻辑板", "高频调谐器"}


def test_g9_all_covers_ended_paid_repair_only():
    answer = entitlements(card(), sh(2029, 11, 22, 0, 0))
    assert answer.kinds == [PAID_REPAIR]
    assert answer.remedies[0].rule == "G9"
    # the parts' last day 2029-11-21 still covers them
    assert answer.kinds != entitlements(card(), sh(2029, 11, 21, 23, 0)).kinds


def test_g9_installation_start_is_whatever_the_card_says():
    installed = sh(2026, 12, 3, 15, 0)
    whole = rules.warranty_ends(card(installed), sh(2027, 1, 1))[0]
    assert whole.base_last_day == sh(2027, 12, 3).date()
    assert whole.ends_at == sh(2027, 12, 4, 0, 0)


def test_g9_repair_days_extend_whole_unit_and_parts():
    repair = RepairFacts(received_at=sh(2027, 1, 10), finished_at=sh(2027, 1, 20), fixed=True)
    coverage = rules.warranty_ends(card(repairs=(repair,)), sh(2027, 6, 1))
    assert [c.extension_days for c in coverage] == [10] * 5
    assert coverage[0].last_day == sh(2027, 12, 1).date()
    # the extended last day is still covered
    answer = entitlements(card(repairs=(repair,)), sh(2027, 12, 1, 23, 0))
    assert "G3" in answer.rules_for(FREE_REPAIR)
    assert answer.remedy(FREE_REPAIR).explanation.startswith("三包有效期内（至 2027年12月1日")


def test_g9_open_repair_counts_up_to_now():
    repair = RepairFacts(received_at=sh(2027, 1, 10))
    assert rules.warranty_ends(card(repairs=(repair,)), sh(2027, 1, 13))[0].extension_days == 3


def test_g9_repair_received_after_cover_extends_nothing():
    late = RepairFacts(received_at=sh(2028, 1, 10), finished_at=sh(2028, 1, 20), fixed=True)
    whole = rules.warranty_ends(card(repairs=(late,)), sh(2028, 2, 1))[0]
    assert whole.extension_days == 0


def test_mobile_phone_parts_periods():
    coverage = rules.warranty_ends(card(code="mobile_phone"), sh(2027, 1, 1))
    assert {c.part: c.last_day for c in coverage} == {
        None: sh(2027, 11, 21).date(),
        "电池": sh(2027, 5, 21).date(),
        "充电器": sh(2027, 11, 21).date(),
        "有线耳机": sh(2027, 2, 21).date(),
    }


def test_add_months_clamps_to_month_end():
    assert rules.add_months(sh(2027, 8, 31).date(), 6) == sh(2028, 2, 29).date()
    assert rules.add_months(sh(2026, 1, 31).date(), 1) == sh(2026, 2, 28).date()


# -- G4 ------------------------------------------------------------------------------------------


def two_repairs(first_fixed=True):
    return (
        RepairFacts(received_at=sh(2027, 1, 1), finished_at=sh(2027, 1, 6), fixed=first_fixed),
        RepairFacts(received_at=sh(2027, 3, 1), finished_at=sh(2027, 3, 6), fixed=True),
    )


def test_g4_third_fault_after_two_repairs_exchange_or_depreciated_return():
    answer = entitlements(card(repairs=two_repairs()), sh(2027, 6, 1))
    assert answer.rules_for(EXCHANGE) == ["G4"]
    refund = answer.remedy(RETURN)
    assert refund.rule == "G8" and refund.with_depreciation
    # days since start 192 (2026-11-21 → 2027-06-01) minus 10 days in repair
    assert refund.dates["days_since_start"] == 192
    assert refund.dates["days_in_repair"] == 10
    assert refund.refund == Decimal("3000.00") - Decimal("3000") * Decimal("0.001") * 182


def test_g4_one_repair_is_not_enough():
    answer = entitlements(card(repairs=two_repairs()[:1]), sh(2027, 6, 1))
    assert answer.kinds == [FREE_REPAIR]


def test_g4_second_repair_still_open_is_not_done():
    first, second = two_repairs()
    open_second = RepairFacts(received_at=second.received_at)
    answer = entitlements(card(repairs=(first, open_second)), sh(2027, 3, 10))
    assert "G4" not in answer.rules_for(EXCHANGE)


def test_g4_not_after_the_period():
    facts = card(code="video_recorder", repairs=two_repairs())
    assert entitlements(facts, sh(2027, 12, 1, 23, 0)).rules_for(EXCHANGE) == ["G4"]
    answer = entitlements(facts, sh(2027, 12, 2, 0, 0))  # 2027-11-21 + 10 repair days
    assert EXCHANGE not in answer.kinds and answer.kinds == [PAID_REPAIR]


# -- G5 ------------------------------------------------------------------------------------------

RECEIVED = sh(2027, 2, 1, 10, 0)


def waiting_for_parts():
    return RepairFacts(received_at=RECEIVED, parts_wait_since=RECEIVED + timedelta(days=1))


def test_g5_day_90_and_91():
    repair = waiting_for_parts()
    at_90 = entitlements(card(repairs=(repair,)), day_end(90, RECEIVED))
    assert "G5" not in at_90.rules_for(EXCHANGE)
    at_91 = entitlements(card(repairs=(repair,)), day_start(91, RECEIVED))
    assert at_91.rules_for(EXCHANGE) == ["G5"]
    assert at_91.remedy(EXCHANGE).cost_borne_by == "seller"
    assert at_91.remedy(EXCHANGE).dates["limit_passed_at"] == day_start(91, RECEIVED)
    assert at_91.remedy(RETURN).rule == "G8"


def test_g5_mobile_phone_day_60_and_61():
    repair = waiting_for_parts()
    phone = card(code="mobile_phone", repairs=(repair,))
    assert "G5" not in entitlements(phone, day_end(60, RECEIVED)).rules_for(EXCHANGE)
    assert entitlements(phone, day_start(61, RECEIVED)).rules_for(EXCHANGE) == ["G5"]
    # a TV waiting as long is still within its 90 days
    tv = card(repairs=(repair,))
    assert "G5" not in entitlements(tv, day_start(61, RECEIVED)).rules_for(EXCHANGE)


def test_g5_repair_finished_within_the_limit_grants_nothing():
    repair = RepairFacts(
        received_at=RECEIVED, finished_at=day_end(90, RECEIVED), parts_wait_days=85, fixed=True
    )
    assert "G5" not in entitlements(card(repairs=(repair,)), sh(2027, 7, 1)).rules_for(EXCHANGE)


def test_g5_rate_unknown_refund_is_refused_but_exchange_stays():
    phone = card(code="mobile_phone", repairs=(waiting_for_parts(),))
    answer = entitlements(phone, day_start(61, RECEIVED))
    refund = answer.remedy(RETURN)
    assert refund.rule == "G8" and refund.refund is None
    assert refund.refund_error == "depreciation_rate_unknown"


# -- G6 ------------------------------------------------------------------------------------------


def test_g6_30th_and_31st_repairer_day():
    repair = RepairFacts(received_at=RECEIVED)
    at_30 = entitlements(card(repairs=(repair,)), day_end(30, RECEIVED))
    assert EXCHANGE not in at_30.kinds
    at_31 = entitlements(card(repairs=(repair,)), day_start(31, RECEIVED))
    assert at_31.rules_for(EXCHANGE) == ["G6"]
    assert at_31.remedy(EXCHANGE).cost_borne_by == "repairer"


def test_g6_days_waiting_for_parts_do_not_count():
    repair = RepairFacts(received_at=RECEIVED, parts_wait_days=5)
    assert rules.repairer_days(repair, day_end(35, RECEIVED)) == 30
    assert EXCHANGE not in entitlements(card(repairs=(repair,)), day_end(35, RECEIVED)).kinds
    at_36 = entitlements(card(repairs=(repair,)), day_start(36, RECEIVED))
    assert at_36.rules_for(EXCHANGE) == ["G6"]
    assert at_36.remedy(EXCHANGE).dates["limit_passed_at"] == day_start(36, RECEIVED)


def test_g6_finished_repair_that_took_31_days_still_grants_exchange():
    repair = RepairFacts(
        received_at=RECEIVED, finished_at=day_start(31, RECEIVED) + timedelta(hours=3), fixed=True
    )
    assert entitlements(card(repairs=(repair,)), sh(2027, 6, 1)).rules_for(EXCHANGE) == ["G6"]


# -- G7 / G8 -------------------------------------------------------------------------------------


def test_g7_no_same_model_and_alternative_refused_full_refund():
    facts = card(repairs=two_repairs(), same_model_available=False, alternative_refused=True)
    refund = entitlements(facts, sh(2027, 6, 1)).remedy(RETURN)
    assert refund.rule == "G7" and not refund.with_depreciation
    assert refund.refund == Decimal("3000.00")


def test_g7_same_model_unavailable_offers_an_alternative_or_a_full_refund():
    facts = card(repairs=two_repairs(), same_model_available=False, alternative_refused=False)
    answer = entitlements(facts, sh(2027, 6, 1))
    exchange, refund = answer.remedy(EXCHANGE), answer.remedy(RETURN)
    assert exchange.rule == "G7" and exchange.alternative and "其他型号" in exchange.explanation
    assert refund.rule == "G7" and not refund.with_depreciation
    assert refund.refund == Decimal("3000.00")
    # the alternative refused: the full refund only
    refused = card(repairs=two_repairs(), same_model_available=False, alternative_refused=True)
    assert entitlements(refused, sh(2027, 6, 1)).kinds == [RETURN, FREE_REPAIR]


@pytest.mark.parametrize(
    "day,rule,kinds",
    [
        (7, "G1", [RETURN, EXCHANGE, FREE_REPAIR]),
        (8, "G2", [RETURN, EXCHANGE, FREE_REPAIR]),
        (15, "G2", [RETURN, EXCHANGE, FREE_REPAIR]),
    ],
)
def test_g7_whenever_an_exchange_is_due_out_of_stock_no_same_model_exchange(day, rule, kinds):
    out = card(same_model_available=False)
    answer = entitlements(out, day_end(day))
    assert answer.kinds == kinds
    exchange = answer.remedy(EXCHANGE)
    assert exchange.alternative and exchange.rule == "G7"
    assert rule in exchange.dates["exchange_rules"] and "G" not in exchange.explanation
    refund = answer.remedy(RETURN)
    assert refund.refund == Decimal("3000.00") and not refund.with_depreciation
    assert refund.rule == ("G1" if day <= 7 else "G7")
    # in stock: the same-model exchange of G1/G2, never an alternative
    assert not entitlements(card(), day_end(day)).remedy(EXCHANGE).alternative
    # day 16: no exchange is due, so G7 opens nothing
    assert entitlements(out, day_start(16)).kinds == [FREE_REPAIR]


def test_g8_worked_example():
    assert rules.depreciation_refund(Decimal("3000"), Decimal("0.10"), 100, 10) == Decimal(
        "2730.00"
    )


def test_g8_worked_example_through_entitlements():
    # day 100 after sign-off, two repairs of 5 days each: 90 used days → ¥2,730.
    repairs = (
        RepairFacts(received_at=sh(2026, 12, 1), finished_at=sh(2026, 12, 6), fixed=True),
        RepairFacts(received_at=sh(2027, 1, 10), finished_at=sh(2027, 1, 15), fixed=True),
    )
    answer = entitlements(card(repairs=repairs), day_end(100))
    refund = answer.remedy(RETURN)
    assert (refund.dates["days_since_start"], refund.dates["days_in_repair"]) == (100, 10)
    assert refund.refund == Decimal("2730.00")


def test_g8_unknown_rate_refuses():
    with pytest.raises(RuleViolation) as exc:
        rules.depreciation_refund(Decimal("3000"), None, 100, 10)
    assert exc.value.code == "depreciation_rate_unknown"


def test_g8_refund_bounds():
    assert rules.depreciation_refund(Decimal("100"), Decimal("1"), 500, 0) == Decimal("0.00")
    assert rules.depreciation_refund(Decimal("100"), Decimal("1"), 5, 10) == Decimal("100.00")
    with pytest.raises(TypeError):
        rules.depreciation_refund(100.0, Decimal("1"), 5, 0)


# -- G10 -----------------------------------------------------------------------------------------


def test_g10_exchange_restarts_period_and_history():
    exchange = ExchangeFacts(at=sh(2027, 7, 1, 9, 0))
    facts = card(repairs=two_repairs(), exchanges=(exchange,))
    whole = rules.warranty_ends(facts, sh(2027, 8, 1))[0]
    assert whole.starts_at == exchange.at
    assert whole.last_day == sh(2028, 7, 1).date() and whole.extension_days == 0
    answer = entitlements(facts, sh(2027, 8, 1))
    assert answer.kinds == [FREE_REPAIR]  # the two repairs were of the old unit


def test_g10_depreciation_counts_from_the_exchange():
    exchange = ExchangeFacts(at=sh(2027, 1, 1, 9, 0))
    repairs = (
        RepairFacts(received_at=sh(2027, 2, 1), finished_at=sh(2027, 2, 3), fixed=True),
        RepairFacts(received_at=sh(2027, 3, 1), finished_at=sh(2027, 3, 4), fixed=True),
    )
    refund = entitlements(card(repairs=repairs, exchanges=(exchange,)), sh(2027, 4, 11)).remedy(
        RETURN
    )
    assert (refund.dates["days_since_start"], refund.dates["days_in_repair"]) == (100, 5)
    assert refund.refund == Decimal("2715.00")


# -- G11 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["misuse", "disassembly", "voucher", "force_majeure"])
def test_g11_misuse_paid_repair_only_even_on_day_1(reason):
    answer = entitlements(card(misuse=frozenset({reason})), day_end(1))
    assert answer.kinds == [PAID_REPAIR]
    assert answer.remedies[0].rule == "G11"
    assert str(rules.MISUSE_LABELS[reason]) in answer.remedies[0].explanation


# -- G12 -----------------------------------------------------------------------------------------

FINISHED = sh(2027, 11, 20, 18, 0)


def late_repair(fixed=True):
    # video recorder: cover extended by these 5 days to 2027-11-26
    return RepairFacts(received_at=sh(2027, 11, 15), finished_at=FINISHED, fixed=fixed)


def test_g12_fault_on_day_30_after_repair_is_not_fixed_and_redone_free():
    # the whole unit (extended to 2027-11-26) has ended; the redo is still free
    facts = card(code="video_recorder", repairs=(late_repair(),))
    answer = entitlements(facts, day_end(30, FINISHED))
    assert answer.not_fixed_repairs == (late_repair(),)
    assert answer.rules_for(FREE_REPAIR) == ["G12"]
    assert answer.remedy(FREE_REPAIR).cost_borne_by == "repairer"


def test_g12_day_31_is_a_new_fault():
    facts = card(code="video_recorder", repairs=(late_repair(),))
    answer = entitlements(facts, day_start(31, FINISHED))
    assert answer.not_fixed_repairs == ()
    assert answer.kinds == [PAID_REPAIR]


def test_g12_repairer_result_not_fixed_counts():
    facts = card(repairs=(late_repair(fixed=False),))
    assert rules.not_fixed_repairs(facts, sh(2028, 6, 1)) == (late_repair(fixed=False),)


# -- G13 -----------------------------------------------------------------------------------------


def test_g13_paid_repairs_do_not_count_towards_g4():
    first, second = two_repairs()
    paid = RepairFacts(
        received_at=second.received_at, finished_at=second.finished_at, fixed=True, paid=True
    )
    answer = entitlements(card(repairs=(first, paid)), sh(2027, 6, 1))
    assert EXCHANGE not in answer.kinds and answer.kinds == [FREE_REPAIR]
    # the same two repairs free: G4
    assert entitlements(card(repairs=(first, second)), sh(2027, 6, 1)).rules_for(EXCHANGE) == ["G4"]


def test_g13_a_repair_closed_without_a_result_is_no_repair():
    first, second = two_repairs()
    closed = RepairFacts(received_at=second.received_at, finished_at=second.finished_at)
    answer = entitlements(card(repairs=(first, closed)), sh(2027, 6, 1))
    assert EXCHANGE not in answer.kinds
    coverage = rules.warranty_ends(card(repairs=(first, closed)), sh(2027, 6, 1))[0]
    assert coverage.extension_days == 5  # only the first repair's days
    # nor is it a repair that "failed again within 30 days" (G12)
    assert rules.not_fixed_repairs(card(repairs=(closed,)), sh(2027, 3, 7)) == ()


def test_g13_paid_repair_days_do_not_extend_the_period():
    paid = RepairFacts(
        received_at=sh(2027, 1, 10), finished_at=sh(2027, 1, 20), fixed=True, paid=True
    )
    whole = rules.warranty_ends(card(repairs=(paid,)), sh(2027, 6, 1))[0]
    assert whole.extension_days == 0 and whole.last_day == sh(2027, 11, 21).date()
    assert entitlements(card(repairs=(paid,)), sh(2027, 11, 22, 0, 0)).remedy(FREE_REPAIR).rule == (
        "G3"  # main parts only
    )
    # G8 counts only the 三包 repairs' days
    free, _second = two_repairs()
    facts = card(repairs=(free, _second, paid))
    assert entitlements(facts, sh(2027, 6, 1)).remedy(RETURN).dates["days_in_repair"] == 10


def test_g13_paid_repair_over_the_limits_is_never_escalated():
    waiting = RepairFacts(received_at=RECEIVED, parts_wait_since=RECEIVED + timedelta(days=1))
    paid_waiting = RepairFacts(
        received_at=RECEIVED, parts_wait_since=RECEIVED + timedelta(days=1), paid=True
    )
    at_91 = day_start(91, RECEIVED)
    assert entitlements(card(repairs=(waiting,)), at_91).rules_for(EXCHANGE) == ["G5"]
    assert EXCHANGE not in entitlements(card(repairs=(paid_waiting,)), at_91).kinds
    paid_open = RepairFacts(received_at=RECEIVED, paid=True)
    assert EXCHANGE not in entitlements(card(repairs=(paid_open,)), day_start(31, RECEIVED)).kinds


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        entitlements(card(), datetime(2026, 12, 1))


def test_explanations_name_the_law_in_both_languages_never_the_codes():
    """Issue 14: consumer-facing texts carry no internal code; the citation names the law, and
    the English answer has no Chinese left in it."""
    from django.utils import translation

    from repairs import citations

    answer = entitlements(card(), day_end(8))
    assert all("G" not in r.explanation for r in answer.remedies)
    assert citations.cite("G2") == "《部分商品修理更换退货责任规定》第十条"
    assert citations.cite("G2", with_code=True) == "G2：《部分商品修理更换退货责任规定》第十条"
    with translation.override("en"):
        answer = entitlements(card(), day_end(8))
        texts = [answer.summary, *(r.explanation for r in answer.remedies)]
        texts.append(citations.cite("G5、G8"))
        assert citations.cite("G1").startswith("Article 9 of the Provisions")
    assert texts and not any(re.search(r"[\u4e00-\u9fff]", t) for t in texts), texts
