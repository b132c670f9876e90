"""Pure rules of returns, exchanges and refunds (standard 6.3; RULES.md R1–R21). No ORM here.

Inputs are plain values and the frozen dataclasses below; services read the rows and the
policies (``returns.*`` in ``aftersales.policies``), call these, and turn a refusal code into a
``RuleViolation``. Time follows RULES.md "Time": instants are aware, calendar days count in
Shanghai, and an N-day window after E closes at 24:00 Shanghai of day N
(``aftersales.deadlines.rules.window_closes_at``).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales.deadlines import rules as time_rules
from aftersales.deadlines.rules import display_instant
from aftersales.money import ZERO, split_largest_remainder, units_share, yuan
from orders.rules import EXCLUSION_REASONS, is_high_value, unseal_matters

from .citations import citation

# -- constants ---------------------------------------------------------------------------------

NO_REASON_DAYS = 7
"""R1: the law's 7-day no-reason window (a floor: a policy may only lengthen it)."""

QUALITY_RETURN_DAYS = 7
"""R10: quality return within 7 days of receipt (消费者权益保护法 art. 24; a floor)."""

REFUND_AFTER_RECEIPT_MAX_DAYS = 7
"""R6: the merchant refunds within 7 days of receiving the goods (a ceiling)."""

RECEIPT_CONFIRM_DAYS = 10
"""R20: the merchant confirms receipt within 10 days of the ship-back (policy
``returns.receipt_confirm_days``)."""

RECEIPT_AFTER_SCAN_DAYS = 3
"""R20: while the carrier reports the parcel moving, the window runs at least until 3 days
after its latest scan (its delivery scan included)."""

MOVING_SCAN_KINDS = frozenset({"picked_up", "in_transit", "out_for_delivery", "signed"})
"""Carrier scans that say the parcel is moving or delivered (R20); ``exception`` is not one."""

# Option kinds offered on an order line (what the consumer can ask for).
REFUND_ONLY_UNSHIPPED = "refund_only_unshipped"  # R11
NO_REASON_RETURN = "no_reason_return"  # R1–R4
SPEC_EXCHANGE = "spec_exchange"  # R18
QUALITY_RETURN = "quality_return"  # R10
QUALITY_EXCHANGE = "quality_exchange"  # R10
OPTION_KINDS = (
    REFUND_ONLY_UNSHIPPED,
    NO_REASON_RETURN,
    SPEC_EXCHANGE,
    QUALITY_RETURN,
    QUALITY_EXCHANGE,
)

# Reasons a consumer gives, and what kind of reason each is (R8/R9) and whether it needs
# photos or video (issue 4: "where the reason needs evidence").
NO_REASON = "no_reason"
QUALITY = "quality"
REASONS = {
    "no_reason": (NO_REASON, False),
    "changed_mind": (NO_REASON, False),
    "wrong_size": (NO_REASON, False),
    "quality": (QUALITY, True),
    "damaged": (QUALITY, True),
    "not_as_described": (QUALITY, True),
    "wrong_item": (QUALITY, True),
    "missing_parts": (QUALITY, True),
}

# Who pays the return shipping (R8, R9).
PAYER_CONSUMER = "consumer"
PAYER_MERCHANT = "merchant"
PAYER_INSURANCE = "insurance"

EXCLUSION_LABELS = {
    "custom_made": gettext_noop("消费者定作的商品"),
    "perishable": gettext_noop("鲜活易腐的商品"),
    "digital": gettext_noop("在线下载或者消费者拆封的音像制品、计算机软件等数字化商品"),
    "periodical": gettext_noop("交付的报纸、期刊"),
    "health_safety": gettext_noop("拆封后易影响人身安全或者生命健康的商品"),
    "activation_value": gettext_noop("一经激活或者试用后价值贬损较大的商品"),
    "near_expiry": gettext_noop("销售时已明示的临近保质期或有瑕疵的商品"),
}
"""The categories of 网络购买商品七日无理由退货暂行办法 art. 6–7 (RULES.md R2, R3)."""


# -- time helpers ------------------------------------------------------------------------------


def calendar_window_closes_at(
    event_at: datetime, days: int, *, holiday_extension=False, exceptions=None
) -> datetime:
    """An N-day window after ``event_at`` closes at 24:00 Shanghai of day N (民法典 art. 201,
    RULES.md "Time"); with the holiday-extension policy on (art. 203), a last day that is a rest
    day moves to the next working day of ``exceptions`` (the holiday calendar)."""
    last = time_rules.window_last_day(event_at, days)
    if holiday_extension:
        last = time_rules.extend_over_rest_days(last, exceptions or {})
    return time_rules.end_of_day(last)


def _floor(days, law_days, name):
    days = int(days)
    if days < law_days:
        raise ValueError(f"{name} must be at least {law_days} days (law floor)")
    return days


def no_reason_closes_at(signed_at: datetime, days: int = NO_REASON_DAYS, **extension) -> datetime:
    """When the no-reason return window closes: 7 days after sign-off, window rule (RULES.md R1;
    网络购买商品七日无理由退货暂行办法 art. 8; standard 6.3.1.2). ``days`` may only lengthen it.
    Signed 2026-11-21 00:30 Shanghai → open until 2026-11-28 23:59:59.999 Shanghai."""
    return calendar_window_closes_at(signed_at, _floor(days, NO_REASON_DAYS, "days"), **extension)


def quality_return_closes_at(
    received_at: datetime, days: int = QUALITY_RETURN_DAYS, **extension
) -> datetime:
    """When the quality-return window closes: 7 days after receipt (RULES.md R10;
    消费者权益保护法 art. 24)."""
    return calendar_window_closes_at(
        received_at, _floor(days, QUALITY_RETURN_DAYS, "days"), **extension
    )


def refund_due_after_receipt(
    received_at: datetime, days: int = REFUND_AFTER_RECEIPT_MAX_DAYS, **extension
) -> datetime:
    """When the refund falls due after the merchant received the returned goods: 24:00 Shanghai
    of day ``days`` after receipt, at most 7 (RULES.md R6; 网络购买商品七日无理由退货暂行办法
    art. 19). At that instant the platform refunds unless a dispute is open."""
    days = int(days)
    if not 1 <= days <= REFUND_AFTER_RECEIPT_MAX_DAYS:
        raise ValueError("refund days must lie in 1..7 (law maximum)")
    return calendar_window_closes_at(received_at, days, **extension)


def receipt_confirm_due(
    shipped_at: datetime,
    days: int = RECEIPT_CONFIRM_DAYS,
    *,
    last_scan_at: datetime | None = None,
    **extension,
) -> datetime:
    """When the merchant's time to confirm receipt of a parcel shipped back ends (RULES.md R20):
    24:00 Shanghai of day ``days`` (policy ``returns.receipt_confirm_days``, default 10) after the
    ship-back, counted as in RULES.md "Time"; while the carrier reports the parcel moving it runs
    at least until 24:00 of day 3 after the latest such scan (``last_scan_at``: a moving or
    delivery scan). At that instant the platform refunds as if the goods were received.
    Shipped back 2026-11-21 00:30 Shanghai → open until 2026-12-01 24:00 Shanghai."""
    days = int(days)
    if days < 1:
        raise ValueError("days must be positive")
    due = calendar_window_closes_at(shipped_at, days, **extension)
    if last_scan_at is not None:
        due = max(
            due, calendar_window_closes_at(last_scan_at, RECEIPT_AFTER_SCAN_DAYS, **extension)
        )
    return due


ARBITRATION_ANSWER_DAYS = 3
"""R21: the merchant answers an arbitration within 3 days (policy
``returns.arbitration_answer_days``)."""


def arbitration_answer_due(escalated_at: datetime, days: int = ARBITRATION_ANSWER_DAYS) -> datetime:
    """When the merchant's time to answer an arbitration ends, and from when the platform may
    decide without the answer (RULES.md R21): 24:00 Shanghai of day ``days`` (policy, default 3)
    after the escalation, counted as in RULES.md "Time". Escalated 2026-11-21 00:30 Shanghai →
    answer until 2026-11-24 24:00 Shanghai."""
    days = int(days)
    if days < 1:
        raise ValueError("days must be positive")
    return calendar_window_closes_at(escalated_at, days)


def auto_approve_due(requested_at: datetime, hours: int = 48) -> datetime:
    """A request the merchant has not answered is approved ``hours`` after it was made
    (RULES.md R13, policy ``returns.auto_approve_hours``, default 48 h; standard 6.3.1.1)."""
    hours = int(hours)
    if hours < 1:
        raise ValueError("hours must be positive")
    return requested_at + timedelta(hours=hours)


def close_unshipped_due(approved_at: datetime, days: int = 7, **extension) -> datetime:
    """An approved return the consumer has not shipped back closes after ``days`` days
    (RULES.md R14, policy ``returns.close_unshipped_days``, default 7), counted by the window
    rule of RULES.md "Time" (24:00 Shanghai of day N after approval)."""
    days = int(days)
    if days < 1:
        raise ValueError("days must be positive")
    return calendar_window_closes_at(approved_at, days, **extension)


def close_reminder_at(close_due: datetime, hours: int = 24) -> datetime:
    """The consumer is reminded ``hours`` before an unshipped return closes (RULES.md R14,
    policy ``returns.close_reminder_hours``, default 24 h)."""
    hours = int(hours)
    if hours < 0:
        raise ValueError("hours must not be negative")
    return close_due - timedelta(hours=hours)


# -- quantities and amounts (R15) --------------------------------------------------------------


def refundable_quantity(
    quantity_bought: int, quantity_open: int = 0, quantity_completed: int = 0
) -> int:
    """Units of a line still open to a new request: the quantity bought minus the units in open
    and completed requests, never below zero (RULES.md R15)."""
    if int(quantity_bought) < 1 or int(quantity_open) < 0 or int(quantity_completed) < 0:
        raise ValueError("quantities must not be negative and a line has at least one unit")
    return max(0, int(quantity_bought) - int(quantity_open) - int(quantity_completed))


def quantity_refusal(units: int, refundable: int) -> str:
    """The code refusing a request for ``units`` units, or ``""`` (RULES.md R15: a line can be
    returned in parts; open and completed requests never exceed the quantity bought)."""
    if int(units) < 1:
        return "quantity_not_positive"
    if int(units) > int(refundable):
        return "quantity_exceeds_refundable"
    return ""


def unit_amounts(line_paid, quantity_bought: int) -> list[Decimal]:
    """What each unit of a line is worth, taken in order: cumulative rounding
    (``aftersales.money.units_share``), so the units add up to the paid amount exactly
    (RULES.md R15)."""
    quantity = int(quantity_bought)
    if quantity < 1:
        raise ValueError("quantity_bought must be positive")
    if yuan(line_paid) < 0:
        raise ValueError("line_paid must not be negative")
    return [units_share(line_paid, quantity, 1, i) for i in range(quantity)]


def refund_amount_for_units(
    line_paid, quantity_bought: int, units: int, units_already_refunded: int = 0
) -> Decimal:
    """The refund for ``units`` more units of a line of which ``units_already_refunded`` were
    refunded before (RULES.md R15): round_half_up(P×(u+k)/q) − round_half_up(P×u/q), so each
    part is the nearest fen to pro rata and refunding every unit, in any number of requests,
    returns exactly ``line_paid`` (¥100.00 for 3 units: 2 → 66.67, then 1 → 33.33).
    """
    units, before = int(units), int(units_already_refunded)
    if units < 1 or before < 0:
        raise ValueError("units must be positive and units_already_refunded not negative")
    if yuan(line_paid) < 0:
        raise ValueError("line_paid must not be negative")
    return units_share(line_paid, quantity_bought, units, before)


# -- refund path (R7) --------------------------------------------------------------------------


def split_refund_over_tenders(amount, tenders_paid, tenders_refunded=None) -> list[Decimal]:
    """Split a refund over the payment's tenders (card, balance, points, coupon), in their order
    (RULES.md R7; standard 6.3.2.2 "原路返还"; 消费者权益保护法 art. 24).

    Shares are pro rata to what each tender paid, by largest remainder: each gets its
    proportional amount rounded down to the fen, and the fens this leaves go one each to the
    largest remainders (the later tender on a tie), so on untouched tenders every share is within
    a fen of its proportional amount. No share exceeds what is left on its tender (paid −
    refunded); what a full tender cannot take goes to the others with room left, last tender
    first. The shares add up to ``amount`` exactly. A refund larger than what is left overall
    is refused with ``ValueError("refund_exceeds_tenders")``: never another path without
    consent.
    """
    paid = [yuan(p) for p in tenders_paid]
    refunded = [yuan(r) for r in (tenders_refunded or [ZERO] * len(paid))]
    amount = yuan(amount)
    if len(refunded) != len(paid):
        raise ValueError("tenders_paid and tenders_refunded differ in length")
    if amount < 0 or any(p < 0 for p in paid) or any(r < 0 for r in refunded):
        raise ValueError("amounts must not be negative")
    left = [p - r for p, r in zip(paid, refunded, strict=True)]
    if any(x < 0 for x in left):
        raise ValueError("tender refunded above what it paid")
    if amount > sum(left, ZERO):
        raise ValueError("refund_exceeds_tenders")
    if not paid:
        return []
    shares = split_largest_remainder(amount, paid)
    overflow = ZERO
    for i, share in enumerate(shares):
        if share > left[i]:
            overflow += share - left[i]
            shares[i] = left[i]
    for i in reversed(range(len(shares))):
        if not overflow:
            break
        room = min(left[i] - shares[i], overflow)
        shares[i] += room
        overflow -= room
    return shares


# -- shipping and insurance (R8, R9, R17) ------------------------------------------------------


@dataclass(frozen=True)
class ShippingPayer:
    """Who pays the return shipping, under which rule, with the explanation shown."""

    payer: str
    rule: str
    code: str
    message: str
    reimbursed_with_refund: bool = False


def reason_kind(reason: str) -> str:
    """``no_reason`` or ``quality`` for a consumer's stated reason (RULES.md R8/R9, R10)."""
    try:
        return REASONS[reason][0]
    except KeyError:
        raise ValueError(f"unknown reason {reason!r}") from None


def reason_needs_evidence(reason: str) -> bool:
    """Quality, damage and not-as-described claims need photos or video (RULES.md R19;
    standard 6.3.3.1 "影像记录")."""
    try:
        return REASONS[reason][1]
    except KeyError:
        raise ValueError(f"unknown reason {reason!r}") from None


def return_shipping_payer(
    reason_kind: str,
    merchant_commits_free_return: bool = False,
    has_shipping_insurance: bool = False,
) -> ShippingPayer:
    """Who pays the return shipping (RULES.md R8, R9; 网络购买商品七日无理由退货暂行办法
    art. 13; 消费者权益保护法 art. 24).

    Quality problem: the merchant (R9), reimbursed with the refund where the consumer advanced
    it. No reason: the consumer (R8), unless the merchant committed "退货免运费" or shipping
    insurance (运费险) applies.
    """
    if reason_kind == QUALITY:
        return ShippingPayer(
            PAYER_MERCHANT,
            "R9",
            "shipping_merchant_quality",
            _("质量问题退货，运费由商家承担，随退款一并返还（%(basis)s）")
            % {"basis": citation("R9")},
            True,
        )
    if reason_kind != NO_REASON:
        raise ValueError(f"unknown reason kind {reason_kind!r}")
    if merchant_commits_free_return:
        return ShippingPayer(
            PAYER_MERCHANT,
            "R8",
            "shipping_merchant_committed",
            _("商家承诺退货免运费，运费由商家承担（%(basis)s）") % {"basis": citation("R8")},
            True,
        )
    if has_shipping_insurance:
        return ShippingPayer(
            PAYER_INSURANCE,
            "R8",
            "shipping_insurance",
            _("订单含运费险，退货运费由保险赔付（%(basis)s）") % {"basis": citation("R8")},
        )
    return ShippingPayer(
        PAYER_CONSUMER,
        "R8",
        "shipping_consumer",
        _("七天无理由退货，运费由消费者承担（%(basis)s）") % {"basis": citation("R8")},
    )


def is_insured(unit_paid_price, threshold) -> bool:
    """Return and replacement parcels of a line whose unit paid price is at or above the
    high-value threshold (policy ``returns.high_value_threshold``, default ¥5,000) are insured
    (保价) (RULES.md R17; standard 6.3.4.2)."""
    return is_high_value(unit_paid_price, threshold)


# -- express refund (R12) ----------------------------------------------------------------------


def express_refund_eligible(credit_score, threshold, first_scan_at: datetime | None) -> bool:
    """The platform advances the refund at once when the consumer's credit score is at or above
    the threshold (policy ``returns.express_refund_credit_threshold``, default 600 of 0–1000) and
    the return parcel has its first carrier scan (RULES.md R12; standard 6.3.2.1)."""
    if credit_score is None or first_scan_at is None:
        return False
    return int(credit_score) >= int(threshold)


# -- inspection after receipt (R5) -------------------------------------------------------------


def inspection_outcome(*, intact: bool, evidence_count: int = 0) -> str:
    """What the merchant's inspection of the returned goods leads to (RULES.md R5; standard
    6.3.3.1): intact → ``refund``; not intact with evidence → ``dispute`` (the merchant may
    refuse; the case goes to arbitration, R19); not intact without evidence →
    ``evidence_required`` (a refusal must carry photos, video or an inspection report)."""
    if intact:
        return "refund"
    return "dispute" if int(evidence_count) > 0 else "evidence_required"


# -- exchanges (R18) ---------------------------------------------------------------------------


def exchange_refusal(*, same_product: bool, stock: int, units: int) -> str:
    """The code refusing an online exchange to another spec or model, or ``""`` (RULES.md R18;
    standard 6.3.4.1): only within the same product, and only where stock exists."""
    if not same_product:
        return "exchange_other_product"
    if int(stock) < int(units):
        return "exchange_out_of_stock"
    return ""


def exchange_price_difference(paid_for_units, new_unit_price, units: int) -> Decimal:
    """The price difference of an exchange (RULES.md R18; standard 6.3.4.1): the new spec's price
    for ``units`` units minus what the consumer paid for those units (``refund_amount_for_units``).
    Positive: the consumer pays the difference; negative: it is refunded (R7 path); zero: none.
    """
    if int(units) < 1:
        raise ValueError("units must be positive")
    return yuan(Decimal(new_unit_price) * int(units)) - yuan(paid_for_units)


# -- what a line allows right now (R1–R4, R10, R11, R15, R18) ----------------------------------


@dataclass(frozen=True)
class LineFacts:
    """What the rules need to know about an order line (read from ``orders.OrderLine``).

    ``no_reason_class``/``exclusion_reason`` come from the line's category (R1–R4);
    ``exclusion_confirmed_at`` is the consumer's checkout confirmation (R3); ``signed_at`` is the
    sign-off of its parcel (R1) and ``received_at`` the receipt (R10, defaults to sign-off).
    ``unsealed_at``: digital goods downloaded or unsealed (R2 excludes them only from then on).
    """

    no_reason_class: str = "allowed"
    exclusion_reason: str = ""
    exclusion_confirmed_at: datetime | None = None
    shipped_at: datetime | None = None
    signed_at: datetime | None = None
    received_at: datetime | None = None
    quantity: int = 1
    quantity_open: int = 0
    quantity_completed: int = 0
    cancelled_at: datetime | None = None
    unsealed_at: datetime | None = None


@dataclass(frozen=True)
class ReturnOption:
    """One thing the consumer may (or may not) ask for on a line, and why.

    ``decided_by`` is the instant that decides it (a window's close, the shipment, the recorded
    confirmation) or ``None`` when a category alone decides. ``min_quantity``/``max_quantity``
    bound the units of a request (R15; R11 takes the whole remaining line).
    """

    kind: str
    available: bool
    rule: str
    code: str
    message: str
    decided_by: datetime | None = None
    min_quantity: int = 0
    max_quantity: int = 0
    instant: bool = False


@dataclass(frozen=True)
class WindowSettings:
    """Policy inputs of ``return_options``: the windows (law floors) and holiday extension."""

    no_reason_days: int = NO_REASON_DAYS
    quality_days: int = QUALITY_RETURN_DAYS
    holiday_extension: bool = False
    exceptions: dict | None = None


def _exclusion_label(reason):
    if reason in EXCLUSION_LABELS:
        return _(EXCLUSION_LABELS[reason])
    return reason or _("该类目商品")


def _no_reason(facts, now, cfg, refundable):
    ext = {"holiday_extension": cfg.holiday_extension, "exceptions": cfg.exceptions}
    cls = facts.no_reason_class
    if cls not in EXCLUSION_REASONS:
        raise ValueError(f"unknown no-reason class {cls!r}")
    digital = unseal_matters(cls, facts.exclusion_reason)
    if digital and facts.unsealed_at is not None:
        return ReturnOption(
            NO_REASON_RETURN,
            False,
            "R2",
            "no_reason_excluded_by_law",
            _(
                "数字化商品已于 %(at)s 下载或拆封，依法不适用七天无理由退货（%(basis)s）；"
                "质量问题仍可申请退换货"
            )
            % {"at": display_instant(facts.unsealed_at), "basis": citation("R2")},
            facts.unsealed_at,
        )
    if cls == "excluded_by_law" and not digital:
        label = _exclusion_label(facts.exclusion_reason)
        return ReturnOption(
            NO_REASON_RETURN,
            False,
            "R2",
            "no_reason_excluded_by_law",
            _("%(label)s依法不适用七天无理由退货（%(basis)s）；质量问题仍可申请退换货")
            % {"label": label, "basis": citation("R2")},
        )
    if cls == "excludable" and facts.exclusion_confirmed_at is not None:
        label = _exclusion_label(facts.exclusion_reason)
        return ReturnOption(
            NO_REASON_RETURN,
            False,
            "R3",
            "no_reason_excluded_confirmed",
            _(
                "%(label)s：您已于 %(at)s 下单时确认不适用七天无理由退货（%(basis)s）；"
                "质量问题仍可申请退换货"
            )
            % {
                "label": label,
                "at": display_instant(facts.exclusion_confirmed_at),
                "basis": citation("R3"),
            },
            facts.exclusion_confirmed_at,
        )
    rule = "R4" if cls == "excludable" else "R1"
    if facts.signed_at is None:
        return ReturnOption(
            NO_REASON_RETURN,
            False,
            rule,
            "no_reason_awaiting_sign_off",
            _("签收后可申请七天无理由退货（%(basis)s）") % {"basis": citation(rule)},
        )
    closes = no_reason_closes_at(facts.signed_at, cfg.no_reason_days, **ext)
    signed = display_instant(facts.signed_at)
    until = display_instant(closes)
    if now >= closes:
        return ReturnOption(
            NO_REASON_RETURN,
            False,
            "R1",
            "no_reason_window_closed",
            _("七天无理由退货已于 %(until)s 截止（%(basis)s，签收于 %(signed)s）")
            % {"until": until, "signed": signed, "basis": citation("R1")},
            closes,
        )
    if cls == "excludable":
        message = _(
            "七天无理由退货可申请至 %(until)s（%(basis)s：%(label)s，"
            "但下单时未记录您的不适用确认；签收于 %(signed)s）"
        ) % {
            "until": until,
            "signed": signed,
            "label": _exclusion_label(facts.exclusion_reason),
            "basis": citation("R4"),
        }
        code = "no_reason_open_not_confirmed"
    elif digital:
        message = _(
            "七天无理由退货可申请至 %(until)s（%(basis)s，签收于 %(signed)s）；"
            "数字化商品一经下载或拆封即不再适用（%(excluded_by)s）"
        ) % {
            "until": until,
            "signed": signed,
            "basis": citation("R1"),
            "excluded_by": citation("R2"),
        }
        code = "no_reason_open_sealed"
    else:
        message = _("七天无理由退货可申请至 %(until)s（%(basis)s，签收于 %(signed)s）") % {
            "until": until,
            "signed": signed,
            "basis": citation("R1"),
        }
        code = "no_reason_open"
    return ReturnOption(NO_REASON_RETURN, True, rule, code, message, closes, 1, refundable)


def _spec_exchange(no_reason):
    """R18 replaces "return and buy again": open exactly while the no-reason return is."""
    if no_reason.available:
        return ReturnOption(
            SPEC_EXCHANGE,
            True,
            "R18",
            "spec_exchange_open",
            _("可在 %(until)s 前在线换成同款商品的其他规格或型号，差价多退少补（%(basis)s）")
            % {"until": display_instant(no_reason.decided_by), "basis": citation("R18")},
            no_reason.decided_by,
            1,
            no_reason.max_quantity,
        )
    return ReturnOption(
        SPEC_EXCHANGE,
        False,
        no_reason.rule,
        no_reason.code,
        no_reason.message,
        no_reason.decided_by,
    )


def _quality(facts, now, cfg, refundable):
    ext = {"holiday_extension": cfg.holiday_extension, "exceptions": cfg.exceptions}
    received = facts.received_at or facts.signed_at
    if received is None:
        option = (
            False,
            "quality_awaiting_receipt",
            _("收货后发现质量问题可申请退货或换货（%(basis)s）") % {"basis": citation("R10")},
            None,
        )
    else:
        closes = quality_return_closes_at(received, cfg.quality_days, **ext)
        values = {
            "until": display_instant(closes),
            "received": display_instant(received),
            "basis": citation("R10"),
        }
        if now >= closes:
            option = (
                False,
                "quality_window_closed",
                _(
                    "质量问题退换货已于 %(until)s 截止（%(basis)s，收货于 %(received)s）；"
                    "仍可按三包规定申请换货或维修"
                )
                % values,
                closes,
            )
        else:
            option = (
                True,
                "quality_open",
                _(
                    "质量问题可申请退货或换货至 %(until)s（%(basis)s，收货于 %(received)s），"
                    "需上传照片或视频"
                )
                % values,
                closes,
            )
    available, code, message, decided = option
    bounds = (1, refundable) if available else (0, 0)
    return [
        ReturnOption(QUALITY_RETURN, available, "R10", code, message, decided, *bounds),
        ReturnOption(QUALITY_EXCHANGE, available, "R10", code, message, decided, *bounds),
    ]


def _unshipped(facts, refundable):
    if facts.shipped_at is not None:
        return ReturnOption(
            REFUND_ONLY_UNSHIPPED,
            False,
            "R11",
            "already_shipped",
            _("商品已于 %(at)s 发货，不能未发货秒退（%(basis)s）")
            % {"at": display_instant(facts.shipped_at), "basis": citation("R11")},
            facts.shipped_at,
        )
    return ReturnOption(
        REFUND_ONLY_UNSHIPPED,
        True,
        "R11",
        "refund_only_unshipped_open",
        _("商品尚未发货：申请仅退款将立即原路退款，无需商家审核，该商品不再发货（%(basis)s）")
        % {"basis": citation("R11")},
        None,
        refundable,
        refundable,
        True,
    )


def _all_closed(code, rule, message, decided_by=None):
    return [ReturnOption(kind, False, rule, code, message, decided_by) for kind in OPTION_KINDS]


def return_options(
    facts: LineFacts, *, now: datetime, windows: WindowSettings | None = None
) -> list[ReturnOption]:
    """Every option of a line at instant ``now``, open or not, with the rule, a stable code, a
    Chinese explanation naming the rule and the deciding date, and the deciding instant
    (standard 6.3.1.1–6.3.1.2, 6.3.2.2, 6.3.4.1; RULES.md R1–R4, R10, R11, R15, R18).

    - R11: not shipped → refund only, at once, for the whole remaining line.
    - R1: signed → no-reason return until 24:00 Shanghai of day 7 after sign-off; R2: a category
      excluded by law refuses it; R3: an excludable category with the consumer's recorded
      checkout confirmation refuses it; R4: the same category without it must accept.
    - R18: exchange to another spec of the same product while the no-reason return is open.
    - R10: quality return or exchange within 7 days of receipt, whatever the category.
    - R15: nothing is open once open and completed requests cover the quantity bought.

    Options come in the order of ``OPTION_KINDS``; ``open_options`` keeps the available ones.
    """
    cfg = windows or WindowSettings()
    if facts.cancelled_at is not None:
        return _all_closed(
            "line_cancelled",
            "R11",
            _("该商品已于 %(at)s 取消并退款") % {"at": display_instant(facts.cancelled_at)},
            facts.cancelled_at,
        )
    refundable = refundable_quantity(facts.quantity, facts.quantity_open, facts.quantity_completed)
    if not refundable:
        return _all_closed(
            "quantity_exhausted",
            "R15",
            _("该商品的 %(n)s 件均已在售后申请中或已退（%(basis)s）")
            % {"n": facts.quantity, "basis": citation("R15")},
        )
    unshipped = _unshipped(facts, refundable)
    if facts.shipped_at is None:
        waiting = _("商品尚未发货，签收后可申请退换货")
        rest = [
            ReturnOption(kind, False, rule, "not_shipped", waiting)
            for kind, rule in (
                (NO_REASON_RETURN, "R1"),
                (SPEC_EXCHANGE, "R18"),
                (QUALITY_RETURN, "R10"),
                (QUALITY_EXCHANGE, "R10"),
            )
        ]
        return [unshipped, *rest]
    no_reason = _no_reason(facts, now, cfg, refundable)
    return [unshipped, no_reason, _spec_exchange(no_reason), *_quality(facts, now, cfg, refundable)]


def open_options(options) -> list[ReturnOption]:
    """The options of ``return_options`` that are available now."""
    return [o for o in options if o.available]


def option_for(options, kind: str) -> ReturnOption:
    """The option of ``kind`` from ``return_options`` (KeyError if unknown)."""
    for option in options:
        if option.kind == kind:
            return option
    raise KeyError(kind)


# -- request status moves (ARCHITECTURE.md "Statuses") -----------------------------------------

RETURN_MOVES = {
    "requested": {"approved", "rejected", "cancelled", "closed"},
    "approved": {"return_shipped", "refunding", "cancelled", "closed"},
    "rejected": {"arbitration", "cancelled", "closed"},
    "return_shipped": {"received", "disputed", "closed"},
    "received": {"refunding", "refunded", "disputed", "exchange_shipped", "closed"},
    "disputed": {"arbitration", "refunding", "refunded", "cancelled", "closed"},
    "arbitration": {"refunding", "refunded", "exchange_shipped", "closed"},
    "refunding": {"refunded"},
    "refunded": set(),
    "exchange_shipped": {"completed"},
    "completed": set(),
    "closed": set(),
    "cancelled": set(),
}
"""The one table of allowed moves of a return request (standard 6.3; RULES.md R5, R6, R11–R14,
R19). ``received → refunded`` covers an express refund (R12) that was paid before receipt;
an R11 instant refund is created in ``refunding`` (approved without review). Platform staff
may override any step (``services.return_override``) with a recorded reason."""

RETURN_STATUS_TIMESTAMP = {
    status: f"{status}_at" for status in RETURN_MOVES if status not in ("requested", "arbitration")
}
RETURN_STATUS_TIMESTAMP["arbitration"] = "escalated_at"

OPEN_STATUSES = frozenset(
    {"requested", "approved", "rejected", "return_shipped", "received", "disputed", "arbitration"}
)
"""Statuses of a request still being worked on (the consumer may follow and, before the parcel
ships, cancel it)."""

QUANTITY_FREE_STATUSES = frozenset({"closed", "cancelled"})
"""Requests in these statuses no longer hold their units (RULES.md R15): every other request,
open or completed (a rejection may still be escalated, R19), counts against the line."""

CANCELLABLE_STATUSES = frozenset({"requested", "approved", "rejected", "disputed"})
"""The consumer may withdraw a request before the parcel ships, or drop a rejected/disputed one
instead of escalating it."""

ESCALATABLE_STATUSES = frozenset({"rejected", "disputed"})
"""R19: the consumer may escalate to platform arbitration after a rejection or a dispute of the
state of the goods (R5)."""


def amount_for_units(
    line_paid, quantity_bought: int, units: int, allocated_units: int, allocated_amount
) -> Decimal:
    """The refund for a new request of ``units`` units when other requests already hold
    ``allocated_units`` units worth ``allocated_amount`` (RULES.md R15).

    The units are worth their cumulative-rounding part (``refund_amount_for_units``: the
    ``allocated_units`` held before them come first), capped at what the other requests left of
    ``line_paid``. So all requests together never exceed the paid amount, in whatever order
    requests are made, cancelled and made again, and a request after a smaller (e.g.
    depreciated) one still gets no more than its units are worth.
    """
    units, allocated_units = int(units), int(allocated_units)
    quantity = int(quantity_bought)
    if units < 1 or allocated_units < 0 or allocated_units + units > quantity:
        raise ValueError("quantity_exceeds_refundable")
    nominal = refund_amount_for_units(line_paid, quantity, units, allocated_units)
    left = yuan(line_paid) - yuan(allocated_amount)
    return max(min(nominal, left), ZERO)
