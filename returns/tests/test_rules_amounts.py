"""``rules.amount_for_units`` (R15): requests made, cancelled and made again never exceed the
line's paid amount, and a request never gets more than its units are worth."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from returns import rules


def test_cumulative_rounding_over_held_units():
    assert rules.amount_for_units("100.00", 3, 2, 0, "0") == D("66.67")
    assert rules.amount_for_units("100.00", 3, 1, 2, "66.67") == D("33.33")
    assert rules.amount_for_units("1.00", 3, 2, 0, "0") == D("0.67")
    assert rules.amount_for_units("1.00", 3, 1, 2, "0.67") == D("0.33")
    assert rules.amount_for_units("1.00", 3, 3, 0, "0") == D("1.00")


def test_after_a_cancelled_request_the_total_stays_within_paid():
    # A (1 unit, 0.33) and B (2 units incl. the last, 0.67); A cancelled; C takes 1 unit.
    b = rules.amount_for_units("1.00", 3, 2, 1, "0.33")
    c = rules.amount_for_units("1.00", 3, 1, 2, b)
    assert (b, c, b + c) == (D("0.67"), D("0.33"), D("1.00"))


def test_after_a_depreciated_request_the_next_gets_its_units_worth_only():
    # a 三包 refund of 80 for one of two units paid 200: the other unit is still worth 100
    assert rules.amount_for_units("200.00", 2, 1, 1, "80.00") == D("100.00")


def test_refused_beyond_the_quantity():
    with pytest.raises(ValueError):
        rules.amount_for_units("10.00", 2, 2, 1, "5.00")


@given(
    paid=st.decimals(min_value=0, max_value=10000, places=2),
    quantity=st.integers(min_value=1, max_value=6),
    ops=st.lists(st.tuples(st.booleans(), st.integers(1, 6)), max_size=12),
)
def test_property_held_requests_never_exceed_paid(paid, quantity, ops):
    held = []  # (units, amount)
    for cancel, units in ops:
        if cancel and held:
            held.pop(0)
            continue
        allocated = sum(u for u, _a in held)
        if allocated + units > quantity:
            continue
        amount = rules.amount_for_units(
            paid, quantity, units, allocated, sum((a for _u, a in held), D("0"))
        )
        assert D("0") <= amount <= paid
        held.append((units, amount))
        assert sum(a for _u, a in held) <= paid
