"""Warranty end-date arithmetic under many repairs and exchanges (G9, G10) — hypothesis."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from repairs import rules
from repairs.rules import ExchangeFacts, RepairFacts
from repairs.tests.factories import card, sh

starts = st.builds(
    sh,
    year=st.integers(2024, 2030),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
# (days after the start it was received, hour received, days in repair, hour finished)
repair_specs = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 23), st.integers(0, 40), st.integers(0, 23)),
    max_size=20,
)
codes = st.sampled_from(["lcd_tv", "bicycle", "mobile_phone", "video_recorder", "home_av"])


def build_repairs(start, specs):
    out = []
    for offset, hour, days, hour_back in specs:
        day = rules.local_date(start) + timedelta(days=offset)
        received = sh(day.year, day.month, day.day, hour)
        back = day + timedelta(days=days)
        finished = sh(back.year, back.month, back.day, hour_back)
        out.append(RepairFacts(received_at=max(received, start), finished_at=finished, fixed=True))
    return tuple(out)


def far_future(start):
    return start + timedelta(days=365 * 8)


@settings(max_examples=150, deadline=None)
@given(start=starts, specs=repair_specs, code=codes)
def test_repairs_never_shorten_any_cover(start, specs, code):
    at = far_future(start)
    with_repairs = rules.warranty_ends(card(start, code, repairs=build_repairs(start, specs)), at)
    without = rules.warranty_ends(card(start, code), at)
    for a, b in zip(with_repairs, without, strict=True):
        assert a.part == b.part
        assert a.last_day >= b.last_day
        assert a.ends_at == rules.end_of_day(a.last_day)


@settings(max_examples=150, deadline=None)
@given(start=starts, specs=repair_specs.filter(bool), code=codes)
def test_whole_unit_extension_is_the_sum_of_repair_days(start, specs, code):
    # every repair is received within 300 days, inside the 12-month whole-unit period
    repairs = build_repairs(start, specs)
    at = far_future(start)
    whole = rules.warranty_ends(card(start, code, repairs=repairs), at)[0]
    expected = sum(rules.days_between(r.received_at, r.finished_at) for r in repairs)
    assert whole.extension_days == expected
    assert whole.last_day == whole.base_last_day + timedelta(days=expected)


@settings(max_examples=150, deadline=None)
@given(start=starts, specs=repair_specs.filter(bool), which=st.integers(0, 19), code=codes)
def test_each_repair_day_extends_by_exactly_one_day(start, specs, which, code):
    repairs = build_repairs(start, specs)
    at = far_future(start)
    i = which % len(repairs)
    longer = list(repairs)
    longer[i] = RepairFacts(
        received_at=repairs[i].received_at,
        finished_at=repairs[i].finished_at + timedelta(days=1),
        fixed=True,
    )
    before = rules.warranty_ends(card(start, code, repairs=repairs), at)[0]
    after = rules.warranty_ends(card(start, code, repairs=tuple(longer)), at)[0]
    assert after.last_day - before.last_day == timedelta(days=1)


@settings(max_examples=150, deadline=None)
@given(
    start=starts,
    specs=repair_specs,
    exchange_after=st.lists(st.integers(1, 700), min_size=1, max_size=3),
    code=codes,
)
def test_exchange_restarts_cover_as_a_new_card(start, specs, exchange_after, code):
    exchanges = tuple(ExchangeFacts(at=start + timedelta(days=d)) for d in exchange_after)
    last = max(e.at for e in exchanges)
    repairs = build_repairs(start, specs) + build_repairs(last, specs)
    at = far_future(start)
    exchanged = rules.warranty_ends(card(start, code, repairs=repairs, exchanges=exchanges), at)
    # the same as a card that started at the last exchange with only the later repairs
    fresh = rules.warranty_ends(
        card(last, code, repairs=tuple(r for r in repairs if r.received_at >= last)), at
    )
    assert exchanged == fresh
    assert exchanged[0].starts_at == last
    assert exchanged[0].base_last_day == rules.add_months(
        rules.local_date(last), exchanged[0].months
    )
