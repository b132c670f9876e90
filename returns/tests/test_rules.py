"""What an order line allows right now: RULES.md R1–R4, R10, R11, R15, R18 at their boundaries."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from returns import rules
from returns.citations import citation
from returns.rules import LineFacts, WindowSettings

SH = ZoneInfo("Asia/Shanghai")
SHIPPED = datetime(2026, 11, 19, 2, 0, tzinfo=UTC)
SIGNED = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 2026-11-21 00:30 Shanghai
CLOSES = datetime(2026, 11, 29, 0, 0, tzinfo=SH)  # 24:00 of 2026-11-28 Shanghai
LAST_MINUTE = datetime(2026, 11, 28, 23, 59, tzinfo=SH)
LAST_INSTANT = datetime(2026, 11, 28, 23, 59, 59, 999000, tzinfo=SH)
FIRST_MINUTE_AFTER = datetime(2026, 11, 29, 0, 0, tzinfo=SH)
CONFIRMED = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def signed_line(**kw):
    base = {"shipped_at": SHIPPED, "signed_at": SIGNED, "quantity": 2}
    return LineFacts(**{**base, **kw})


def option(facts, kind, now=LAST_MINUTE, **kw):
    return rules.option_for(rules.return_options(facts, now=now, **kw), kind)


# -- R1: the 7-day window and the Shanghai/UTC date edge ---------------------------------------


def test_no_reason_closes_at_rules_example():
    closes = rules.no_reason_closes_at(SIGNED)
    assert closes == CLOSES
    # A UTC-date implementation would end at 2026-11-27 24:00 UTC = 11-28 08:00 Shanghai.
    assert closes.astimezone(UTC) == datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    assert rules.display_instant(closes) == "2026-11-28 24:00"


@pytest.mark.parametrize(
    "now", [LAST_MINUTE, LAST_INSTANT, datetime(2026, 11, 28, 12, 0, tzinfo=UTC)]
)
def test_no_reason_open_until_the_last_instant(now):
    opt = option(signed_line(), rules.NO_REASON_RETURN, now=now)
    assert opt.available
    assert (opt.rule, opt.code, opt.decided_by) == ("R1", "no_reason_open", CLOSES)
    assert "七天无理由退货可申请至 2026-11-28 24:00" in opt.message
    assert citation("R1") in opt.message and "2026-11-21 00:30" in opt.message
    assert "R1" not in opt.message  # consumers read the law by name, not the code
    assert (opt.min_quantity, opt.max_quantity) == (1, 2)


@pytest.mark.parametrize(
    "now", [FIRST_MINUTE_AFTER, CLOSES + timedelta(microseconds=1), CLOSES + timedelta(days=30)]
)
def test_no_reason_closed_from_the_first_instant_after(now):
    opt = option(signed_line(), rules.NO_REASON_RETURN, now=now)
    assert not opt.available
    assert (opt.rule, opt.code, opt.decided_by) == ("R1", "no_reason_window_closed", CLOSES)
    assert "已于 2026-11-28 24:00 截止" in opt.message
    assert opt.max_quantity == 0


def test_sign_off_late_in_the_shanghai_day_counts_from_that_day():
    signed = datetime(2026, 11, 21, 23, 59, tzinfo=SH)  # 15:59 UTC, same Shanghai day
    assert rules.no_reason_closes_at(signed) == CLOSES
    just_after_midnight = datetime(2026, 11, 22, 0, 0, tzinfo=SH)
    assert rules.no_reason_closes_at(just_after_midnight) == CLOSES + timedelta(days=1)


def test_no_reason_days_may_lengthen_but_never_shorten_the_law():
    assert rules.no_reason_closes_at(SIGNED, 15) == datetime(2026, 12, 7, 0, 0, tzinfo=SH)
    with pytest.raises(ValueError):
        rules.no_reason_closes_at(SIGNED, 6)
    opt = option(
        signed_line(),
        rules.NO_REASON_RETURN,
        now=FIRST_MINUTE_AFTER,
        windows=WindowSettings(no_reason_days=8),
    )
    assert opt.available and opt.decided_by == CLOSES + timedelta(days=1)


def test_holiday_extension_moves_a_rest_day_end():
    # 2026-11-28 is a Saturday: with the extension on, the window ends Monday 11-30 24:00.
    windows = WindowSettings(holiday_extension=True, exceptions={})
    opt = option(signed_line(), rules.NO_REASON_RETURN, now=FIRST_MINUTE_AFTER, windows=windows)
    assert opt.available
    assert opt.decided_by == datetime(2026, 12, 1, 0, 0, tzinfo=SH)
    assert "2026-11-30 24:00" in opt.message
    made_up = WindowSettings(holiday_extension=True, exceptions={date(2026, 11, 28): "workday"})
    assert not option(
        signed_line(), rules.NO_REASON_RETURN, now=FIRST_MINUTE_AFTER, windows=made_up
    ).available


def test_not_signed_yet_waits_for_sign_off():
    facts = LineFacts(shipped_at=SHIPPED)
    opt = option(facts, rules.NO_REASON_RETURN)
    assert (opt.available, opt.code) == (False, "no_reason_awaiting_sign_off")
    quality = option(facts, rules.QUALITY_RETURN)
    assert (quality.available, quality.code) == (False, "quality_awaiting_receipt")


# -- R2, R3, R4: each category class with and without the recorded confirmation -----------------


@pytest.mark.parametrize(
    "cls,reason,confirmed,available,rule,code",
    [
        ("allowed", "", None, True, "R1", "no_reason_open"),
        ("allowed", "", CONFIRMED, True, "R1", "no_reason_open"),  # confirmation means nothing
        ("excluded_by_law", "custom_made", None, False, "R2", "no_reason_excluded_by_law"),
        ("excluded_by_law", "perishable", CONFIRMED, False, "R2", "no_reason_excluded_by_law"),
        ("excluded_by_law", "digital", None, True, "R1", "no_reason_open_sealed"),  # R2: sealed
        ("excluded_by_law", "periodical", None, False, "R2", "no_reason_excluded_by_law"),
        ("excludable", "health_safety", CONFIRMED, False, "R3", "no_reason_excluded_confirmed"),
        ("excludable", "activation_value", CONFIRMED, False, "R3", "no_reason_excluded_confirmed"),
        ("excludable", "near_expiry", CONFIRMED, False, "R3", "no_reason_excluded_confirmed"),
        ("excludable", "health_safety", None, True, "R4", "no_reason_open_not_confirmed"),
        ("excludable", "activation_value", None, True, "R4", "no_reason_open_not_confirmed"),
        ("excludable", "near_expiry", None, True, "R4", "no_reason_open_not_confirmed"),
    ],
)
def test_category_classes(cls, reason, confirmed, available, rule, code):
    facts = signed_line(
        no_reason_class=cls, exclusion_reason=reason, exclusion_confirmed_at=confirmed
    )
    opts = rules.return_options(facts, now=LAST_MINUTE)
    no_reason = rules.option_for(opts, rules.NO_REASON_RETURN)
    assert (no_reason.available, no_reason.rule, no_reason.code) == (available, rule, code)
    assert citation(rule) in no_reason.message and rule not in no_reason.message
    # Quality claims stay open whatever the class (R2: "quality claims still allowed").
    assert rules.option_for(opts, rules.QUALITY_RETURN).available
    assert rules.option_for(opts, rules.QUALITY_EXCHANGE).available
    # R18 exchange follows the no-reason option.
    assert rules.option_for(opts, rules.SPEC_EXCHANGE).available is available


def test_excluded_by_law_explains_the_category():
    opt = option(
        signed_line(no_reason_class="excluded_by_law", exclusion_reason="perishable"),
        rules.NO_REASON_RETURN,
    )
    assert (
        "鲜活易腐" in opt.message and "《网络购买商品七日无理由退货暂行办法》第六条" in opt.message
    )
    assert opt.decided_by is None


def test_r2_digital_goods_excluded_only_once_downloaded_or_unsealed():
    unsealed = datetime(2026, 11, 25, 20, 0, tzinfo=SH)
    sealed = signed_line(no_reason_class="excluded_by_law", exclusion_reason="digital")
    opt = option(sealed, rules.NO_REASON_RETURN)
    assert (opt.available, opt.rule, opt.code) == (True, "R1", "no_reason_open_sealed")
    assert "下载或拆封" in opt.message and opt.decided_by == CLOSES
    # unsealed: refused from that instant on, the instant named
    opened = signed_line(
        no_reason_class="excluded_by_law", exclusion_reason="digital", unsealed_at=unsealed
    )
    opt = option(opened, rules.NO_REASON_RETURN)
    assert (opt.available, opt.rule, opt.code) == (False, "R2", "no_reason_excluded_by_law")
    assert opt.decided_by == unsealed and "2026-11-25 20:00" in opt.message
    assert option(opened, rules.QUALITY_RETURN).available  # quality claims stay open
    # an unseal record means nothing for other categories excluded by law
    custom = signed_line(
        no_reason_class="excluded_by_law", exclusion_reason="custom_made", unsealed_at=unsealed
    )
    assert "定作" in option(custom, rules.NO_REASON_RETURN).message


def test_confirmed_exclusion_names_the_confirmation():
    opt = option(
        signed_line(
            no_reason_class="excludable",
            exclusion_reason="health_safety",
            exclusion_confirmed_at=CONFIRMED,
        ),
        rules.NO_REASON_RETURN,
    )
    assert opt.decided_by == CONFIRMED
    assert "2026-11-18 17:00" in opt.message  # 09:00 UTC in Shanghai


def test_excludable_without_confirmation_closes_like_r1():
    facts = signed_line(no_reason_class="excludable", exclusion_reason="near_expiry")
    assert option(facts, rules.NO_REASON_RETURN, now=LAST_INSTANT).available
    closed = option(facts, rules.NO_REASON_RETURN, now=FIRST_MINUTE_AFTER)
    assert (closed.available, closed.code) == (False, "no_reason_window_closed")


def test_unknown_class_is_refused():
    with pytest.raises(ValueError):
        rules.return_options(signed_line(no_reason_class="maybe"), now=LAST_MINUTE)


# -- R10: quality return or exchange within 7 days of receipt ----------------------------------


def test_quality_window_counts_from_receipt():
    received = datetime(2026, 11, 22, 10, 0, tzinfo=SH)
    facts = signed_line(
        no_reason_class="excluded_by_law", exclusion_reason="custom_made", received_at=received
    )
    closes = datetime(2026, 11, 30, 0, 0, tzinfo=SH)
    last = option(facts, rules.QUALITY_RETURN, now=closes - timedelta(minutes=1))
    assert (last.available, last.rule, last.code, last.decided_by) == (
        True,
        "R10",
        "quality_open",
        closes,
    )
    assert "2026-11-29 24:00" in last.message
    after = option(facts, rules.QUALITY_EXCHANGE, now=closes)
    assert (after.available, after.code) == (False, "quality_window_closed")
    assert "三包" in after.message


def test_quality_window_defaults_to_sign_off():
    assert option(signed_line(), rules.QUALITY_RETURN, now=LAST_INSTANT).available
    assert not option(signed_line(), rules.QUALITY_RETURN, now=FIRST_MINUTE_AFTER).available


# -- R11: refund only before shipping ----------------------------------------------------------


def test_unshipped_line_offers_instant_refund_of_the_whole_remaining_line():
    facts = LineFacts(quantity=3, quantity_completed=1)
    opts = rules.return_options(facts, now=LAST_MINUTE)
    refund = rules.option_for(opts, rules.REFUND_ONLY_UNSHIPPED)
    assert refund.available and refund.instant
    assert (refund.rule, refund.code) == ("R11", "refund_only_unshipped_open")
    assert (refund.min_quantity, refund.max_quantity) == (2, 2)
    assert [o.kind for o in rules.open_options(opts)] == [rules.REFUND_ONLY_UNSHIPPED]
    assert all(o.code == "not_shipped" for o in opts if o.kind != rules.REFUND_ONLY_UNSHIPPED)


def test_shipped_line_has_no_instant_refund():
    opt = option(LineFacts(shipped_at=SHIPPED), rules.REFUND_ONLY_UNSHIPPED)
    assert (opt.available, opt.code, opt.decided_by) == (False, "already_shipped", SHIPPED)
    assert "2026-11-19 10:00" in opt.message


def test_cancelled_line_offers_nothing():
    cancelled = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    opts = rules.return_options(LineFacts(cancelled_at=cancelled), now=LAST_MINUTE)
    assert not rules.open_options(opts)
    assert {o.code for o in opts} == {"line_cancelled"}


# -- R15: quantities ---------------------------------------------------------------------------


def test_options_bound_the_quantity():
    facts = signed_line(quantity=5, quantity_open=1, quantity_completed=2)
    opts = rules.open_options(rules.return_options(facts, now=LAST_MINUTE))
    assert {o.kind for o in opts} == {
        rules.NO_REASON_RETURN,
        rules.SPEC_EXCHANGE,
        rules.QUALITY_RETURN,
        rules.QUALITY_EXCHANGE,
    }
    assert {o.max_quantity for o in opts} == {2}


def test_no_option_once_the_quantity_is_taken():
    opts = rules.return_options(
        signed_line(quantity=2, quantity_open=1, quantity_completed=1), now=LAST_MINUTE
    )
    assert not rules.open_options(opts)
    assert {(o.rule, o.code) for o in opts} == {("R15", "quantity_exhausted")}


def test_options_come_in_a_stable_order():
    kinds = [o.kind for o in rules.return_options(signed_line(), now=LAST_MINUTE)]
    assert kinds == list(rules.OPTION_KINDS)
    with pytest.raises(KeyError):
        rules.option_for([], rules.NO_REASON_RETURN)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        rules.return_options(signed_line(signed_at=datetime(2026, 11, 21, 0, 30)), now=LAST_MINUTE)
