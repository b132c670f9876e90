"""Money helpers: ``Decimal`` yuan with two places, ROUND_HALF_UP (STYLE.md rule 7)."""

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def yuan(value) -> Decimal:
    """``value`` as a Decimal quantised to the fen. Floats are refused: they lose fen."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


def split_pro_rata(total, weights):
    """Split ``total`` in proportion to ``weights``; the last share absorbs the remainder.

    Used for mixed tenders (RULES.md R7) and per-unit amounts (R15). Returns a list of
    Decimals that sums exactly to ``total``.
    """
    total = yuan(total)
    weights = [Decimal(w) for w in weights]
    if not weights:
        return []
    whole = sum(weights)
    if whole == 0:
        return [ZERO] * (len(weights) - 1) + [total]
    shares = [yuan(total * w / whole) for w in weights[:-1]]
    shares.append(total - sum(shares, ZERO))
    return shares
