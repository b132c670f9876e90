"""Pure rules of orders, payments and logistics (standard 6.2). No ORM here.

Every function names its clause. Services call these and turn a refusal into a
``RuleViolation``/``InvalidInput`` with a stable code.
"""

from decimal import Decimal

from aftersales.money import ZERO, split_pro_rata, yuan

# -- order status moves (ARCHITECTURE.md "Statuses") -------------------------------------------

ORDER_MOVES = {
    "pending_payment": {"paid", "cancelled"},
    "paid": {"partially_shipped", "shipped", "cancelled"},
    "partially_shipped": {"shipped", "delivered"},
    "shipped": {"delivered"},
    "delivered": {"completed"},
    "completed": set(),
    "cancelled": set(),
}
"""The one table of allowed order moves. ``partially_shipped → delivered`` covers an order
whose unshipped lines were cancelled (RULES.md R11) after the shipped ones were signed."""

MANUAL_ORDER_STATUSES = frozenset({"completed", "cancelled"})
"""The moves a person or an integrator may ask for. ``paid`` follows a recorded payment (its
tenders are the refund paths, RULES.md R7); ``partially_shipped``, ``shipped`` and
``delivered`` follow parcels and sign-offs (standard 6.2.1, 6.2.3): set by hand they would have
no evidence behind them."""

ORDER_STATUS_TIMESTAMP = {
    "paid": "paid_at",
    "delivered": "delivered_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}

PAID_STATUSES = frozenset({"paid", "partially_shipped", "shipped", "delivered", "completed"})


def line_gross(quantity, unit_price) -> Decimal:
    """Quantity × unit price, to the fen."""
    return yuan(Decimal(unit_price) * int(quantity))


def line_amount_errors(*, quantity, unit_price, discount_amount, paid_amount):
    """Field → error code for a line whose amounts do not add up (standard 6.2; RULES.md P3).

    ``paid_amount`` must equal quantity × unit price − the discount allocated to the line, and
    the discount lies between zero and the gross amount.
    """
    errors = {}
    if int(quantity) < 1:
        errors["quantity"] = "quantity_not_positive"
    if Decimal(unit_price) < 0:
        errors["unit_price"] = "unit_price_negative"
    if errors:
        return errors
    gross = line_gross(quantity, unit_price)
    discount = yuan(discount_amount)
    if discount < 0 or discount > gross:
        errors["discount_amount"] = "discount_out_of_range"
    elif yuan(paid_amount) != gross - discount:
        errors["paid_amount"] = "line_amounts_mismatch"
    return errors


def allocate_discount(order_discount, gross_amounts):
    """An order-level discount allocated to lines in proportion to their gross amounts.

    RULES.md P3 ("coupons and discounts allocated to the line first") and R15 use the allocated
    share; the last line absorbs the rounding remainder so the shares add up exactly.
    """
    discount = yuan(order_discount)
    total = sum((yuan(g) for g in gross_amounts), ZERO)
    if discount < 0 or discount > total:
        raise ValueError("discount_out_of_range")
    return split_pro_rata(discount, [yuan(g) for g in gross_amounts])


def tenders_add_up(amount, tender_amounts) -> bool:
    """A payment's tenders (card, balance, points, coupon) sum exactly to it (RULES.md R7)."""
    amounts = [yuan(a) for a in tender_amounts]
    return bool(amounts) and all(a > 0 for a in amounts) and sum(amounts, ZERO) == yuan(amount)


def unit_paid_price(paid_amount, quantity) -> Decimal:
    """The price one unit actually cost after discounts (RULES.md R15, R17)."""
    return yuan(Decimal(paid_amount) / int(quantity))


def is_high_value(unit_paid, threshold) -> bool:
    """A line is high-value at or above the policy threshold (RULES.md R17, standard 6.2.3.1).

    High-value parcels are insured (保价) and their sign-off needs an electronic signature.
    """
    return yuan(unit_paid) >= yuan(Decimal(str(threshold)))


def sign_off_errors(*, high_value, e_signature, signer_name):
    """Field → code for a sign-off that the standard would not accept (6.2.3.1)."""
    errors = {}
    if not (signer_name or "").strip():
        errors["signer_name"] = "signer_required"
    if high_value and not (e_signature or "").strip():
        errors["e_signature"] = "e_signature_required"
    return errors


def shipment_status_after(*, current, kind, occurred_at, last_event_at):
    """The shipment's status after a tracking event (standard 6.2.1; 6.2.3.2 keeps them all).

    Events may arrive out of order: only an event at least as recent as the newest one seen sets
    the status, and ``signed`` is final whatever arrives later.
    """
    if current == "signed":
        return current
    if kind == "signed":
        return "signed"
    if last_event_at is None or occurred_at >= last_event_at:
        return kind
    return current


def order_status_after_shipping(*, current, open_lines, shipped_lines):
    """``shipped`` when every line that is not cancelled has its parcel, else partially."""
    if current not in ("paid", "partially_shipped"):
        return current
    if open_lines and shipped_lines >= open_lines:
        return "shipped"
    if shipped_lines:
        return "partially_shipped"
    return current


def order_delivered(*, open_lines, signed_lines) -> bool:
    """The order is delivered once every line that is not cancelled was signed for."""
    return open_lines > 0 and signed_lines >= open_lines


def refundable(*, tender_amount, refunded, pending, amount) -> bool:
    """A tender can refund ``amount`` if succeeded and pending refunds stay within what it paid
    (RULES.md R7: back to the original path, never more than that path paid)."""
    amount = yuan(amount)
    return amount > 0 and yuan(refunded) + yuan(pending) + amount <= yuan(tender_amount)


def sandbox_refund_outcome(*, amount, attempt, fail_mode="", transient_failures=2):
    """What the sandbox gateway answers to attempt number ``attempt`` (1-based).

    Deterministic triggers, like a card network's test amounts:

    - fen part ``.44`` → declined for good on the first attempt (``account_closed``);
    - fen part ``.43`` → gateway timeout on the first ``transient_failures`` attempts, then paid;
    - ``fail_mode="always"`` (setting ``SANDBOX_PAYMENT_FAIL``) → every attempt times out;
    - anything else succeeds on the first attempt.

    Returns ``("succeeded", "")``, ``("retry", reason)`` or ``("failed", reason)``.
    """
    cents = int((yuan(amount) * 100) % 100)
    if fail_mode == "always":
        return "retry", "gateway_timeout"
    if cents == 44:
        return "failed", "account_closed"
    if cents == 43 and attempt <= transient_failures:
        return "retry", "gateway_timeout"
    return "succeeded", ""


EXCLUSION_REASONS = {
    "allowed": frozenset({""}),
    "excluded_by_law": frozenset({"custom_made", "perishable", "digital", "periodical"}),
    "excludable": frozenset({"health_safety", "activation_value", "near_expiry"}),
}
"""RULES.md R2 (excluded by law) and R3 (excludable by nature with the consumer's consent)."""


def exclusion_reason_valid(no_reason_class, reason) -> bool:
    """A category's exclusion reason must belong to its no-reason class (RULES.md R2, R3)."""
    return (reason or "") in EXCLUSION_REASONS.get(no_reason_class, frozenset())


def unseal_matters(no_reason_class, reason) -> bool:
    """Digital goods (音像制品、计算机软件) are excluded from the no-reason return only once
    downloaded or unsealed (RULES.md R2): only their lines record it."""
    return no_reason_class == "excluded_by_law" and reason == "digital"


def exclusion_confirmation_allowed(no_reason_class) -> bool:
    """Only lines of an ``excludable`` category carry the consumer's checkout confirmation
    (RULES.md R3); for the others it would mean nothing (R1, R2)."""
    return no_reason_class == "excludable"


SIGNER_RELATIONS = frozenset({"self", "family", "locker", "front_desk", "colleague", "other"})


def unshipped_lines(order):
    """The lines of a paid order the merchant can still ship (no outbound parcel, not
    cancelled), from the prefetched lines and parcels: what ``services.shipment_create``
    accepts, for the portal's shipping form."""
    if order.status not in PAID_STATUSES:
        return []
    shipped = {s.line_id for s in order.shipments.all() if s.purpose == "outbound"}
    return [
        line for line in order.lines.all() if line.pk not in shipped and line.cancelled_at is None
    ]
