"""Money helpers: ``Decimal`` yuan with two places, ROUND_HALF_UP (STYLE.md rule 7)."""

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, Subquery, Sum, Value
from django.db.models.functions import Coalesce

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=12, decimal_places=2)
"""The output field of a computed amount (the models' money columns: 12 digits, 2 places)."""


def money_sum(rows, field="amount", *, by):
    """A subquery for annotations: the sum of ``field`` over ``rows`` (a queryset filtered on an
    ``OuterRef``, grouped ``by`` that column), ``0.00`` when there are none."""
    total = rows.order_by().values(by).annotate(total=Sum(field)).values("total")
    return Coalesce(
        Subquery(total, output_field=MONEY_FIELD), Value(ZERO), output_field=MONEY_FIELD
    )


def yuan(value) -> Decimal:
    """``value`` as a Decimal quantised to the fen. Floats are refused: they lose fen."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def units_share(total, quantity: int, units: int, before: int = 0) -> Decimal:
    """The part of ``total`` (paid for ``quantity`` units) that ``units`` more units are worth
    after ``before`` units were taken: cumulative rounding (RULES.md R15),
    round_half_up(P×(u+k)/q) − round_half_up(P×u/q) to the fen.

    Every part is the nearest fen to pro rata and the parts of a whole line, taken in any
    batches, add up to ``total`` exactly (¥100.00 for 3 units: 2 units → 66.67, then 1 unit →
    33.33). The one helper for every place that splits a line's money by units.
    """
    quantity, units, before = int(quantity), int(units), int(before)
    if quantity < 1 or units < 0 or before < 0:
        raise ValueError("quantity must be positive, units and before not negative")
    if before + units > quantity:
        raise ValueError("quantity_exceeds_refundable")
    total = yuan(total)
    return yuan(total * (before + units) / quantity) - yuan(total * before / quantity)


def split_largest_remainder(total, weights):
    """Split ``total`` (not negative) in proportion to ``weights`` to the fen by largest
    remainder (Hamilton's method): each share rounded down, then one fen more for each of the
    largest remainders until the sum is exact (the later weight first on a tie), so every share
    is within a fen of its proportional amount. All weights zero: the last takes everything.
    Refunds over mixed tenders use it (RULES.md R7)."""
    total = yuan(total)
    weights = [Decimal(w) for w in weights]
    if not weights:
        return []
    whole = sum(weights, ZERO)
    if whole == 0:
        return [ZERO] * (len(weights) - 1) + [total]
    exact = [total * w / whole for w in weights]
    shares = [(x / FEN).to_integral_value(rounding=ROUND_FLOOR) * FEN for x in exact]
    fens = int((total - sum(shares, ZERO)) / FEN)
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - shares[i], i), reverse=True)
    for i in order[:fens]:
        shares[i] += FEN
    return [yuan(s) for s in shares]


def split_pro_rata(total, weights):
    """Split ``total`` in proportion to ``weights``; the last share absorbs the remainder.

    Used for order discounts over lines and a line's part of each tender; a refund over the
    tenders uses ``split_largest_remainder`` (R7), units of one line ``units_share`` (R15,
    cumulative rounding). Returns a list of
    Decimals that sums exactly to ``total``. Each share but the last is the proportional amount
    rounded half-up to the fen, capped at what is left, so with many tiny shares the rounding
    can never push the last share below zero. Weights must not be negative.
    """
    total = yuan(total)
    weights = [Decimal(w) for w in weights]
    if not weights:
        return []
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    whole = sum(weights)
    if whole == 0:
        return [ZERO] * (len(weights) - 1) + [total]
    shares = []
    left = magnitude
    for w in weights[:-1]:
        share = min(yuan(magnitude * w / whole), left)
        shares.append(share)
        left -= share
    shares.append(left)
    return [s * sign if sign < 0 else s for s in shares]
