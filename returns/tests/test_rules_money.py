"""Quantities and amounts (RULES.md R15), the refund path (R7), exchange differences (R18)."""

from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from returns import rules

# -- R15 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bought,open_,done,expected",
    [(3, 0, 0, 3), (3, 1, 1, 1), (3, 2, 1, 0), (3, 3, 3, 0), (1, 0, 0, 1)],
)
def test_refundable_quantity(bought, open_, done, expected):
    assert rules.refundable_quantity(bought, open_, done) == expected


def test_refundable_quantity_refuses_nonsense():
    with pytest.raises(ValueError):
        rules.refundable_quantity(0)
    with pytest.raises(ValueError):
        rules.refundable_quantity(2, -1)


@pytest.mark.parametrize(
    "units,refundable,code",
    [
        (1, 1, ""),
        (2, 2, ""),
        (3, 2, "quantity_exceeds_refundable"),
        (0, 2, "quantity_not_positive"),
        (1, 0, "quantity_exceeds_refundable"),
    ],
)
def test_quantity_refusal_at_the_boundary(units, refundable, code):
    assert rules.quantity_refusal(units, refundable) == code


def test_cumulative_rounding_the_rules_example():
    # RULES.md R15: ¥100.00 for 3 units, 2 units → 66.67, then 1 unit → 33.33
    assert rules.refund_amount_for_units(D("100.00"), 3, 2) == D("66.67")
    assert rules.refund_amount_for_units(D("100.00"), 3, 1, 2) == D("33.33")
    # one by one: each part the nearest fen to pro rata of what was taken so far
    assert rules.unit_amounts(D("100.00"), 3) == [D("33.33"), D("33.34"), D("33.33")]
    assert rules.refund_amount_for_units(D("100.00"), 3, 1) == D("33.33")
    assert rules.refund_amount_for_units(D("100.00"), 3, 3) == D("100.00")
    # half a fen rounds up: 0.05 over 2 units → 0.03, then 0.02
    assert rules.refund_amount_for_units(D("0.05"), 2, 1) == D("0.03")
    assert rules.refund_amount_for_units(D("0.05"), 2, 1, 1) == D("0.02")


def test_refund_for_units_refuses_more_than_bought():
    with pytest.raises(ValueError, match="quantity_exceeds_refundable"):
        rules.refund_amount_for_units(D("10.00"), 2, 2, 1)
    with pytest.raises(ValueError):
        rules.refund_amount_for_units(D("10.00"), 2, 0)
    with pytest.raises(ValueError):
        rules.refund_amount_for_units(D("-1.00"), 2, 1)


def test_tiny_amount_over_many_units_never_goes_negative():
    amounts = rules.unit_amounts(D("0.05"), 10)
    assert sum(amounts) == D("0.05") and min(amounts) >= 0


paid_amounts = st.decimals(
    min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False
)


@settings(max_examples=300, deadline=None)
@given(paid=paid_amounts, quantity=st.integers(1, 60), data=st.data())
def test_units_refunded_in_any_batches_add_up_to_the_paid_amount(paid, quantity, data):
    """R15 property: however the units are split into requests, the refunds sum to what was
    paid for the line, each request is non-negative, and none exceeds what is left."""
    done, total = 0, D("0.00")
    while done < quantity:
        units = data.draw(st.integers(1, quantity - done))
        amount = rules.refund_amount_for_units(paid, quantity, units, done)
        assert amount >= 0
        total += amount
        assert total <= paid
        done += units
        # every running total is the nearest fen to pro rata (cumulative rounding)
        assert abs(total - paid * done / quantity) <= D("0.005")
    assert total == paid


@settings(max_examples=300, deadline=None)
@given(paid=paid_amounts, quantity=st.integers(1, 200))
def test_sum_of_per_unit_refunds_is_the_paid_amount(paid, quantity):
    """R15 property: refunding every unit one by one returns exactly the line's paid amount."""
    per_unit = [rules.refund_amount_for_units(paid, quantity, 1, i) for i in range(quantity)]
    assert sum(per_unit) == paid
    assert all(a >= 0 for a in per_unit)


# -- R7 ----------------------------------------------------------------------------------------


def test_split_over_mixed_tenders_pro_rata():
    # card 70, balance 20, points 10; refund 33.33
    shares = rules.split_refund_over_tenders(D("33.33"), [D("70"), D("20"), D("10")])
    assert shares == [D("23.33"), D("6.67"), D("3.33")]
    assert sum(shares) == D("33.33")


def test_split_never_exceeds_what_is_left_on_a_tender():
    # The card was already fully refunded; the rest must come from the others.
    shares = rules.split_refund_over_tenders(D("20.00"), [D("50"), D("50")], [D("50"), D("0")])
    assert shares == [D("0.00"), D("20.00")]
    # Last tender short: its overflow moves to the tender with room.
    shares = rules.split_refund_over_tenders(D("10.00"), [D("90"), D("10")], [D("0"), D("9.50")])
    assert shares == [D("9.50"), D("0.50")]


def test_split_exactly_what_is_left_and_one_fen_more():
    assert rules.split_refund_over_tenders(D("30.00"), [D("20"), D("10")], [D("0"), D("0")]) == [
        D("20.00"),
        D("10.00"),
    ]
    with pytest.raises(ValueError, match="refund_exceeds_tenders"):
        rules.split_refund_over_tenders(D("30.01"), [D("20"), D("10")])
    with pytest.raises(ValueError):
        rules.split_refund_over_tenders(D("1"), [D("20")], [D("21")])
    with pytest.raises(ValueError):
        rules.split_refund_over_tenders(D("1"), [D("20")], [D("0"), D("0")])


tender_lists = st.lists(
    st.decimals(
        min_value=D("0.01"), max_value=10**5, places=2, allow_nan=False, allow_infinity=False
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=400, deadline=None)
@given(paid=tender_lists, data=st.data())
def test_tender_split_properties(paid, data):
    """R7 property: shares sum to the refund exactly; no share is negative or above what is
    left on its tender; a sequence of refunds never takes a tender above what it paid."""
    refunded = [D("0.00")] * len(paid)
    for _ in range(data.draw(st.integers(1, 4))):
        left = sum(paid) - sum(refunded)
        assume(left >= 0)
        amount = data.draw(
            st.decimals(
                min_value=0, max_value=left, places=2, allow_nan=False, allow_infinity=False
            )
        )
        shares = rules.split_refund_over_tenders(amount, paid, refunded)
        assert sum(shares) == amount
        for share, p, r in zip(shares, paid, refunded, strict=True):
            assert D("0") <= share <= p - r
        refunded = [r + s for r, s in zip(refunded, shares, strict=True)]
    assert all(r <= p for r, p in zip(refunded, paid, strict=True))


@settings(max_examples=200, deadline=None)
@given(paid=tender_lists, data=st.data())
def test_fresh_split_is_pro_rata_within_a_fen(paid, data):
    """On untouched tenders every share is within a fen of its proportional amount (largest
    remainder: no tender takes another's rounding, however many tiny tenders there are), and
    a refund of everything repays each tender exactly."""
    amount = data.draw(
        st.decimals(
            min_value=0, max_value=sum(paid), places=2, allow_nan=False, allow_infinity=False
        )
    )
    shares = rules.split_refund_over_tenders(amount, paid)
    whole = sum(paid)
    for share, p in zip(shares, paid, strict=True):
        assert abs(share - amount * p / whole) < D("0.01")
    assert rules.split_refund_over_tenders(whole, paid) == paid


def test_tiny_tenders_each_keep_their_share_of_the_rounding():
    """Four 0.01 tenders and one of 0.07 (Hypothesis found it): 0.05 refunded gives two fens
    to two of the small tenders (remainders 0.0045 each, the later ones first) and 0.03 to
    the large one (0.0318), not 0.04 to the large one after the last absorbed the rounding."""
    paid = [D("0.01"), D("0.01"), D("0.01"), D("0.07"), D("0.01")]
    shares = rules.split_refund_over_tenders(D("0.05"), paid)
    assert shares == [D("0.00"), D("0.00"), D("0.01"), D("0.03"), D("0.01")]


# -- R18 ---------------------------------------------------------------------------------------


def test_exchange_price_difference():
    paid = rules.refund_amount_for_units(D("199.98"), 2, 1)  # 99.99 per unit
    assert rules.exchange_price_difference(paid, D("109.99"), 1) == D("10.00")
    assert rules.exchange_price_difference(paid, D("89.99"), 1) == D("-10.00")
    assert rules.exchange_price_difference(paid, D("99.99"), 1) == D("0.00")
    with pytest.raises(ValueError):
        rules.exchange_price_difference(paid, D("1"), 0)


@pytest.mark.parametrize(
    "same,stock,units,code",
    [
        (True, 1, 1, ""),
        (True, 0, 1, "exchange_out_of_stock"),
        (True, 1, 2, "exchange_out_of_stock"),
        (False, 9, 1, "exchange_other_product"),
    ],
)
def test_exchange_refusal(same, stock, units, code):
    assert rules.exchange_refusal(same_product=same, stock=stock, units=units) == code
