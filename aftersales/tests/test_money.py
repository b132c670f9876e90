"""Money helpers (STYLE.md rule 7; RULES.md R7, R15)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.money import split_pro_rata, units_share, yuan


def test_yuan_rounds_half_up_and_refuses_floats():
    assert yuan("1.005") == Decimal("1.01")
    assert yuan("2.675") == Decimal("2.68")
    assert yuan(3) == Decimal("3.00")
    with pytest.raises(TypeError):
        yuan(0.1)


def test_split_examples():
    assert split_pro_rata("100", [1, 1, 1]) == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    assert split_pro_rata("10.00", [Decimal("70"), Decimal("30")]) == [
        Decimal("7.00"),
        Decimal("3.00"),
    ]
    assert split_pro_rata("5", []) == []
    assert split_pro_rata("5", [0, 0]) == [Decimal("0.00"), Decimal("5.00")]


def test_many_tiny_shares_never_make_the_last_negative():
    shares = split_pro_rata("1.00", [1] * 200)
    assert sum(shares) == Decimal("1.00")
    assert all(s >= 0 for s in shares)


def test_negative_weights_are_refused():
    with pytest.raises(ValueError):
        split_pro_rata("1", [1, -1])


amounts = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)
weights = st.lists(
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


@settings(deadline=None)
@given(total=amounts, ws=weights)
def test_split_properties(total, ws):
    shares = split_pro_rata(total, ws)
    assert len(shares) == len(ws)
    assert sum(shares) == yuan(total)
    assert all(s >= 0 for s in shares)
    assert all(s == s.quantize(Decimal("0.01")) for s in shares)
    whole = sum(ws)
    if whole:
        # every share but the last is the half-up rounded proportional amount, unless capped
        for s, w in zip(shares[:-1], ws[:-1], strict=True):
            assert s <= yuan(total * w / whole)
        # the last absorbs the remainder
        assert shares[-1] == yuan(total) - sum(shares[:-1])


@settings(deadline=None)
@given(total=amounts, ws=weights)
def test_negative_totals_mirror_positive(total, ws):
    assert split_pro_rata(-total, ws) == [-s for s in split_pro_rata(total, ws)]


def test_units_share_cumulative_rounding():
    """RULES.md R15: round_half_up(P×(u+k)/q) − round_half_up(P×u/q)."""
    assert units_share("100.00", 3, 2) == Decimal("66.67")
    assert units_share("100.00", 3, 1, before=2) == Decimal("33.33")
    assert units_share("100.00", 3, 3) == Decimal("100.00")
    assert units_share("100.00", 3, 0, before=1) == Decimal("0.00")
    with pytest.raises(ValueError):
        units_share("100.00", 3, 2, before=2)
    with pytest.raises(ValueError):
        units_share("100.00", 0, 1)


@settings(max_examples=200, deadline=None)
@given(
    paid=st.decimals(min_value=0, max_value=10**6, places=2),
    quantity=st.integers(1, 50),
    data=st.data(),
)
def test_units_share_parts_add_up_and_stay_nearest(paid, quantity, data):
    done, total = 0, Decimal("0.00")
    while done < quantity:
        k = data.draw(st.integers(1, quantity - done))
        part = units_share(paid, quantity, k, before=done)
        assert part >= 0
        assert abs(part - paid * k / quantity) < Decimal("0.01")
        total += part
        done += k
    assert total == paid


def test_split_largest_remainder_keeps_every_share_within_a_fen():
    """Hamilton's method: rounded down, then a fen each to the largest remainders (the later
    weight first on a tie); every share within a fen of its proportional amount."""
    from aftersales.money import split_largest_remainder

    assert split_largest_remainder("33.33", [70, 20, 10]) == [
        Decimal("23.33"),
        Decimal("6.67"),
        Decimal("3.33"),
    ]
    assert split_largest_remainder("100", [1, 1, 1]) == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    assert split_largest_remainder("0.05", ["0.01", "0.01", "0.01", "0.07", "0.01"]) == [
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.01"),
        Decimal("0.03"),
        Decimal("0.01"),
    ]
    assert split_largest_remainder("5", [0, 0]) == [Decimal("0.00"), Decimal("5.00")]
    assert split_largest_remainder("5", []) == []
