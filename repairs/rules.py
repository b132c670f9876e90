"""Pure rules of the three guarantees (三包) — standard 6.5, RULES.md "Three guarantees" G1–G13,
《部分商品修理更换退货责任规定》 (cited as "art. N").

No ORM here: callers build a ``CardFacts`` from a warranty card (issue 5) and pass "now".
Days count in Shanghai with the window rule of ``aftersales.deadlines.rules`` (RULES.md "Time"):
the day of the event is not counted, day N ends at 24:00 Shanghai. A "day in repair" is one calendar
day between 送修 (receipt by the repairer) and the repair's end, the day of receipt not counted.
"""

import calendar
import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from aftersales.deadlines import rules as time_rules
from aftersales.errors import InvalidInput, RuleViolation
from aftersales.money import ZERO, yuan

from .seed import seed_text

# The engine converts the same few instants (start, 送修, ends, now) to Shanghai dates many times
# per answer (every coverage walks every repair); the conversions are pure, so they are
# memoised. Equal instants in any time zone hash alike and have the same Shanghai date.
local_date = functools.lru_cache(maxsize=4096)(time_rules.local_date)
end_of_day = functools.lru_cache(maxsize=4096)(time_rules.end_of_day)
window_closes_at = functools.lru_cache(maxsize=4096)(time_rules.window_closes_at)


def window_is_open(*, event_at: datetime, days: int, at: datetime) -> bool:
    """``aftersales.deadlines.rules.window_is_open`` over the memoised ``window_closes_at``."""
    return at < window_closes_at(event_at, days)


RETURN_DAYS = 7  # G1, art. 9
EXCHANGE_DAYS = 15  # G2, art. 10
REPAIRER_DAYS = 30  # G6, art. 12
RECURRENCE_DAYS = 30  # G12, art. 6–7
DEFAULT_PARTS_LIMIT_DAYS = 90  # G5, art. 12 (mobile phones 60)

RETURN = "return"
EXCHANGE = "exchange"
FREE_REPAIR = "free_repair"
PAID_REPAIR = "paid_repair"
KIND_ORDER = (RETURN, EXCHANGE, FREE_REPAIR, PAID_REPAIR)
SEND_IN, ON_SITE = "send_in", "on_site"
ON_SITE_CATEGORIES = frozenset({"lcd_tv", "crt_tv", "video_recorder", "home_av", "microcomputer"})


def service_modes(category_code):
    """How a unit of a 三包 category is repaired: every unit can be sent in (mailed or brought
    to the repairer's service point); bulky household appliances (TVs, video recorders, home AV,
    desktop computers) also on site; never on site for mobile phones (or bicycles): those go to
    the service point."""
    return (SEND_IN, ON_SITE) if category_code in ON_SITE_CATEGORIES else (SEND_IN,)


KIND_LABELS = {
    RETURN: gettext_lazy("退货"),
    EXCHANGE: gettext_lazy("换货"),
    FREE_REPAIR: gettext_lazy("免费维修"),
    PAID_REPAIR: gettext_lazy("付费维修"),
}

# The same remedies inside the one-line summary ("签收后第 8 天：可退货或换货或免费维修"), where
# English wants them in lower case.
SUMMARY_LABELS = {
    RETURN: pgettext_lazy("remedy in a sentence", "退货"),
    EXCHANGE: pgettext_lazy("remedy in a sentence", "换货"),
    FREE_REPAIR: pgettext_lazy("remedy in a sentence", "免费维修"),
    PAID_REPAIR: pgettext_lazy("remedy in a sentence", "付费维修"),
}

PAYER_LABELS = {
    "seller": gettext_lazy("销售者承担"),
    "repairer": gettext_lazy("修理者承担"),
    "consumer": gettext_lazy("消费者承担"),
}

MISUSE_LABELS = {
    "misuse": gettext_lazy("使用、维护、保管不当"),
    "disassembly": gettext_lazy("非承担三包的修理者拆动"),
    "voucher": gettext_lazy("无三包凭证或凭证被涂改"),
    "force_majeure": gettext_lazy("不可抗力"),
}


# -- facts ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartPeriod:
    """A main part and its own 三包 period in months (catalog, G9)."""

    name: str
    months: int


@dataclass(frozen=True)
class CatalogFacts:
    """What the 三包 catalog says about the card's category.

    ``daily_rate`` is a percentage per day (``Decimal("0.10")`` = 0.10 %) or ``None`` when the
    catalog does not know it (G8 then refuses).
    """

    code: str
    whole_unit_months: int
    parts: tuple = ()
    daily_rate: Decimal | None = None
    parts_limit_days: int = DEFAULT_PARTS_LIMIT_DAYS


@dataclass(frozen=True)
class RepairFacts:
    """One repair of the unit.

    ``received_at``: 送修, the repairer received the unit. ``finished_at``: the repair ended and
    the unit went back (``None`` while open). ``parts_wait_days``: closed days spent waiting for
    manufacturer parts; ``parts_wait_since``: an open wait (counted up to the repair's end or
    now). ``fixed``: the repairer's result (``None`` while open).
    """

    received_at: datetime
    finished_at: datetime | None = None
    parts_wait_days: int = 0
    parts_wait_since: datetime | None = None
    fixed: bool | None = None
    paid: bool = False


@dataclass(frozen=True)
class ExchangeFacts:
    """An exchange of the unit (G10: the 三包 period starts again on this date)."""

    at: datetime


@dataclass(frozen=True)
class CardFacts:
    """A warranty card's history, as the entitlement engine needs it.

    ``start_at``: sign-off, or installation completed for goods needing installation (G9).
    ``misuse``: reasons of G11 found (keys of ``MISUSE_LABELS``). ``same_model_available`` and
    ``alternative_refused`` decide G7. ``price``: the unit price paid (for G8).
    """

    start_at: datetime
    catalog: CatalogFacts
    repairs: tuple = ()
    exchanges: tuple = ()
    misuse: frozenset = frozenset()
    same_model_available: bool = True
    alternative_refused: bool = False
    price: Decimal | None = None


@dataclass(frozen=True)
class Coverage:
    """One 三包 period: whole unit (``part=None``) or a main part. ``last_day`` is the final
    covered Shanghai day; cover ends at ``ends_at`` (24:00 Shanghai of ``last_day``)."""

    part: str | None
    months: int
    starts_at: datetime
    base_last_day: date
    extension_days: int
    last_day: date
    ends_at: datetime


@dataclass(frozen=True)
class Remedy:
    """One remedy open to the consumer, the rule granting it and the dates deciding it."""

    kind: str
    rule: str
    explanation: str
    dates: dict = field(default_factory=dict)
    with_depreciation: bool = False
    refund: Decimal | None = None
    refund_error: str = ""
    cost_borne_by: str = ""
    alternative: bool = False
    """An exchange to another model or spec: the same one is unavailable (G7)."""


@dataclass(frozen=True)
class Entitlements:
    """The answer of ``entitlements``: remedies (return → paid repair order), the day number after
    the start, the coverage, the repairs G12 counts as not fixed and a one-line summary."""

    at: datetime
    day: int
    remedies: tuple
    coverage: tuple
    not_fixed_repairs: tuple
    summary: str

    @property
    def kinds(self):
        return [r.kind for r in self.remedies]

    def remedy(self, kind):
        return next((r for r in self.remedies if r.kind == kind), None)

    def rules_for(self, kind):
        return [r.rule for r in self.remedies if r.kind == kind]


# -- date arithmetic -----------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months; the 31st becomes the month's last day if needed."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@functools.lru_cache(maxsize=8192)
def days_between(start: datetime, end: datetime) -> int:
    """Calendar days from ``start`` to ``end`` in Shanghai, the day of ``start`` not counted
    (RULES.md "Time"); never negative."""
    return max(0, (local_date(end) - local_date(start)).days)


def period_start(card: CardFacts, at: datetime | None = None) -> datetime:
    """Start of the current 三包 period: sign-off/installation (G9, art. 8) or the latest
    exchange up to ``at`` (G10, art. 14)."""
    exchanges = [e.at for e in card.exchanges if at is None or e.at <= at]
    return max([card.start_at, *exchanges])


def current_repairs(card: CardFacts, at: datetime) -> list:
    """Repairs of the current period (received on or after its start, up to ``at``), oldest
    first. An exchange (G10) closes the history of the unit it replaced."""
    start = period_start(card, at)
    return sorted(
        (r for r in card.repairs if start <= r.received_at <= at), key=lambda r: r.received_at
    )


def is_sanbao_repair(repair: RepairFacts, at: datetime) -> bool:
    """Whether a repair is a 三包 repair at ``at`` (G13, art. 8–12): not paid (G11, or outside
    the 三包 period) and not closed without a result. Only 三包 repairs count towards G4's two
    repairs, extend the period (G9), count as days in repair for G8 and are escalated under
    G5/G6; an open free repair counts while it runs."""
    if repair.paid:
        return False
    ended = repair.finished_at is not None and repair.finished_at <= at
    return not (ended and repair.fixed is None)


def sanbao_repairs(card: CardFacts, at: datetime) -> list:
    """The 三包 repairs of the current period up to ``at`` (``current_repairs`` without the paid
    ones and those closed without a result, G13), oldest first."""
    return [r for r in current_repairs(card, at) if is_sanbao_repair(r, at)]


def repair_end(repair: RepairFacts, at: datetime) -> datetime:
    """The instant a repair stops counting: its end, or ``at`` while it is open."""
    if repair.finished_at is not None and repair.finished_at <= at:
        return repair.finished_at
    return at


def repair_days(repair: RepairFacts, at: datetime) -> int:
    """Days the unit spent in repair, waiting for parts included (G9: each extends the period)."""
    return days_between(repair.received_at, repair_end(repair, at))


def parts_wait_days(repair: RepairFacts, at: datetime) -> int:
    """Days waiting for manufacturer parts: closed waits plus an open one up to the repair's end
    or ``at``; never more than the repair's days."""
    days = repair.parts_wait_days
    if repair.parts_wait_since is not None and repair.parts_wait_since <= at:
        days += days_between(repair.parts_wait_since, repair_end(repair, at))
    return min(days, repair_days(repair, at))


def repairer_days(repair: RepairFacts, at: datetime) -> int:
    """Days attributable to the repairer (G6, art. 12): since 送修 minus days waiting for parts."""
    return repair_days(repair, at) - parts_wait_days(repair, at)


def _repair_walk(card: CardFacts, at: datetime) -> tuple:
    """``(Shanghai day of 送修, days in repair)`` of each 三包 repair of the current period,
    oldest first: what every coverage walks (computed once for the whole unit and all main
    parts). A paid repair or one closed without a result extends nothing (G13)."""
    return tuple((local_date(r.received_at), repair_days(r, at)) for r in sanbao_repairs(card, at))


def coverage_of(
    card: CardFacts, at: datetime, *, part: PartPeriod | None = None, _walk=None
) -> Coverage:
    """One 三包 period at ``at`` (G9, art. 8; G10, art. 14).

    It starts at the current period start (sign-off/installation, or the latest exchange), runs
    ``months`` calendar months (last day = start day + months, the window rule), and is extended
    by every day in repair or waiting for parts of each 三包 repair received while it still ran
    (G13: not by a paid repair nor one closed without a result).
    """
    months = card.catalog.whole_unit_months if part is None else part.months
    start = period_start(card, at)
    base = add_months(local_date(start), months)
    last_day, extension = base, 0
    for received_day, days in _repair_walk(card, at) if _walk is None else _walk:
        if received_day > last_day:
            continue  # received after the cover ended: paid, and it extends nothing
        extension += days
        last_day += timedelta(days=days)
    return Coverage(
        part=None if part is None else part.name,
        months=months,
        starts_at=start,
        base_last_day=base,
        extension_days=extension,
        last_day=last_day,
        ends_at=end_of_day(last_day),
    )


def warranty_ends(card: CardFacts, at: datetime) -> tuple:
    """Coverage of the whole unit followed by each main part, at ``at`` (G9, G10)."""
    walk = _repair_walk(card, at)
    return (coverage_of(card, at, _walk=walk),) + tuple(
        coverage_of(card, at, part=p, _walk=walk) for p in card.catalog.parts
    )


def not_fixed_repairs(card: CardFacts, fault_at: datetime) -> tuple:
    """Repairs that count as not fixed: the repairer said so, or the unit failed again (at
    ``fault_at``) within 30 days after the repair ended (G12, art. 6–7)."""
    out = []
    for repair in current_repairs(card, fault_at):
        if repair.finished_at is None or repair.finished_at > fault_at or repair.fixed is None:
            continue  # open, or closed without a result: nothing was repaired (G13)
        if repair.fixed is False or window_is_open(
            event_at=repair.finished_at, days=RECURRENCE_DAYS, at=fault_at
        ):
            out.append(repair)
    return tuple(out)


# -- G8 ------------------------------------------------------------------------------------------


def depreciation_refund(price, daily_rate, days_since_start, days_in_repair) -> Decimal:
    """G8 (art. 13): refund = price − price × daily rate × (days from 三包 start to the return −
    days in repair or waiting for parts).

    ``daily_rate`` is a percentage per day (``Decimal("0.10")`` = 0.10 %). Worked example of
    RULES.md: ¥3,000, 0.10 %, day 100, 10 days in repair → 90 × 0.10 % × 3,000 = ¥270 → ¥2,730.
    Raises ``RuleViolation(code="depreciation_rate_unknown")`` while the catalog's rate is
    unknown. The refund is never negative nor above the price.
    """
    if daily_rate is None:
        raise RuleViolation(
            _("该三包类目的日折旧率未设置，暂不能计算折旧退货金额。"),
            code="depreciation_rate_unknown",
        )
    if isinstance(daily_rate, float) or isinstance(price, float):
        raise TypeError("rates and money must not be floats")
    price, rate = yuan(price), Decimal(daily_rate)
    if price < 0 or rate < 0 or days_since_start < 0 or days_in_repair < 0:
        raise InvalidInput(_("折旧计算参数不能为负。"), code="depreciation_input_invalid")
    used_days = max(0, days_since_start - days_in_repair)
    depreciation = yuan(price * rate / Decimal(100) * used_days)
    return max(ZERO, price - min(depreciation, price))


# -- entitlements --------------------------------------------------------------------------------


def _fmt(day: date) -> str:
    """A day in the reader's language (``DATE_FORMAT``: 2027年12月1日, Dec. 1, 2027)."""
    return formats.date_format(day)


def _day_phrase(day: int) -> str:
    return _("签收当天") if day == 0 else _("签收后第 %(day)s 天") % {"day": day}


def _join(items) -> str:
    return _("、").join(str(i) for i in items)


def _exchange_grants(card, at, repairs, whole):
    """Exchange grants of G4, G5 and G6 inside the current period: (rule, text, dates, payer).
    ``repairs`` are the 三包 repairs only (G13: paid ones and those closed without a result
    neither count towards G4 nor escalate under G5/G6)."""
    grants = []
    in_period = at < whole.ends_at
    done = [r for r in repairs if r.finished_at is not None and r.finished_at <= at]
    if in_period and len(done) >= 2:
        grants.append(
            (
                "G4",
                _("三包期内已修理 %(n)s 次仍出现故障，可免费换货或折旧退货") % {"n": len(done)},
                {"repairs_finished": [r.finished_at for r in done]},
                "seller",
            )
        )
    limit = card.catalog.parts_limit_days
    for r in repairs if in_period else ():
        limit_at = window_closes_at(r.received_at, limit)
        if parts_wait_days(r, at) > 0 and repair_end(r, at) >= limit_at:
            grants.append(
                (
                    "G5",
                    _("送修后超过 %(days)s 日因缺少配件仍未修好，由销售者免费换货")
                    % {"days": limit},
                    {"received_at": r.received_at, "limit_passed_at": limit_at},
                    "seller",
                )
            )
            break
    for r in repairs if in_period else ():
        if repairer_days(r, at) > REPAIRER_DAYS:
            waited = parts_wait_days(r, at)
            grants.append(
                (
                    "G6",
                    _("修理者责任时间已达 %(days)s 日，超过 %(limit)s 日，由修理者承担费用免费换货")
                    % {"days": repairer_days(r, at), "limit": REPAIRER_DAYS},
                    {
                        "received_at": r.received_at,
                        "limit_passed_at": window_closes_at(r.received_at, REPAIRER_DAYS + waited),
                    },
                    "repairer",
                )
            )
            break
    return grants


def entitlements(card: CardFacts, now: datetime) -> Entitlements:
    """The remedies open to the consumer for a performance fault reported at ``now``.

    G11 (misuse etc.) → paid repair only. Otherwise, from the start (sign-off or installation,
    G9): day ≤ 7 return/exchange/repair (G1, art. 9); day ≤ 15 exchange/repair (G2, art. 10);
    within the extended 三包 period free repair (G3); two repairs done and a new fault → exchange
    or return with depreciation (G4, art. 11); parts shortage past 90 days (mobile phones 60) →
    exchange by the seller (G5, art. 12); more than 30 repairer-attributable days → exchange at
    the repairer's cost (G6, art. 12). Where an exchange is due (G1, G2, G4–G6) and the
    same model and spec is available, a refund with depreciation is also open (G8, art. 13;
    in the G1 week the G1 return refunds in full); where it is unavailable, no such exchange is
    offered but an alternative model or, refusing it, a full refund (G7, art. 13). A fault
    within 30 days after a repair makes that repair not fixed and its redo free (G12, art. 6–7).
    After the period, main parts still covered are repaired free (G3, G9); everything else is a
    paid repair. Paid repairs and repairs closed without a result are not 三包 repairs: they
    count towards none of G4–G6, G8 or G9 (G13).
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime: instants must be aware")
    day = days_between(card.start_at, now)
    coverage = warranty_ends(card, now)
    whole, parts = coverage[0], coverage[1:]
    start = period_start(card, now)
    dates_start = {"start_at": card.start_at, "period_start": start}
    not_fixed = not_fixed_repairs(card, now)
    remedies = []

    if card.misuse:
        reasons = _join(MISUSE_LABELS.get(m, m) for m in sorted(card.misuse))
        remedies.append(
            Remedy(
                PAID_REPAIR,
                "G11",
                _("存在%(reasons)s的情形，不实行三包，只能付费维修") % {"reasons": reasons},
                dict(dates_start),
                cost_borne_by="consumer",
            )
        )
        return _answer(now, day, remedies, coverage, not_fixed)

    return_closes = window_closes_at(card.start_at, RETURN_DAYS)
    exchange_closes = window_closes_at(card.start_at, EXCHANGE_DAYS)
    in_period = now < whole.ends_at
    exchange_grants = []
    if now < return_closes:
        remedies.append(
            Remedy(
                RETURN,
                "G1",
                _("%(day)s，7 日内出现性能故障可退货，全额退款不计折旧")
                % {"day": _day_phrase(day)},
                {**dates_start, "closes_at": return_closes},
                refund=_full(card),
                cost_borne_by="seller",
            )
        )
    if now < exchange_closes:
        exchange_grants.append(
            (
                "G2" if now >= return_closes else "G1",
                (
                    _("%(day)s，15 日内出现性能故障可免费换同型号同规格产品")
                    if now >= return_closes
                    else _("%(day)s，7 日内可换货")
                )
                % {"day": _day_phrase(day)},
                {**dates_start, "closes_at": exchange_closes},
                "seller",
            )
        )
    exchange_grants += _exchange_grants(card, now, sanbao_repairs(card, now), whole)

    remedies += _exchange_remedies(
        card, now, start, exchange_grants, has_return=now < return_closes
    )

    if in_period:
        remedies.append(
            Remedy(
                FREE_REPAIR,
                "G3",
                _("三包有效期内（至 %(date)s，含维修顺延 %(days)s 日）免费维修")
                % {"date": _fmt(whole.last_day), "days": whole.extension_days},
                {**dates_start, "ends_at": whole.ends_at},
                cost_borne_by="seller",
            )
        )
    else:
        covered = [p for p in parts if now < p.ends_at]
        if covered:
            names = _join(
                _("%(part)s（至 %(date)s）") % {"part": seed_text(p.part), "date": _fmt(p.last_day)}
                for p in covered
            )
            remedies.append(
                Remedy(
                    FREE_REPAIR,
                    "G3",
                    _("整机三包期已过，主要部件仍在三包期内，免费修理：%(parts)s")
                    % {"parts": names},
                    {**dates_start, "parts": {p.part: p.ends_at for p in covered}},
                    cost_borne_by="seller",
                )
            )
    if not_fixed:
        last = not_fixed[-1]
        remedies.append(
            Remedy(
                FREE_REPAIR,
                "G12",
                _("上次维修于 %(date)s 完成，30 日内再次故障，视为未修好，免费重修")
                % {"date": _fmt(local_date(last.finished_at))},
                {
                    "finished_at": last.finished_at,
                    "closes_at": window_closes_at(last.finished_at, RECURRENCE_DAYS),
                },
                cost_borne_by="repairer",
            )
        )
    if not any(r.kind == FREE_REPAIR for r in remedies):
        remedies.append(
            Remedy(
                PAID_REPAIR,
                "G9",
                _("三包有效期已于 %(date)s 届满，只能付费维修") % {"date": _fmt(whole.last_day)},
                {**dates_start, "ended_at": whole.ends_at},
                cost_borne_by="consumer",
            )
        )
    return _answer(now, day, remedies, coverage, not_fixed)


def _full(card):
    return None if card.price is None else yuan(card.price)


def _exchange_remedies(card, now, start, grants, *, has_return):
    """What an exchange due under ``grants`` (G1, G2, G4–G6) opens (G7, G8, art. 13).

    Same model and spec available: the exchange of each grant, and — outside the G1 week, where
    the G1 return already refunds in full — a refund with depreciation instead (G8). Same model
    unavailable: no such exchange; an alternative (another model or spec, ``alternative``)
    until the consumer refuses one, and a full refund without depreciation (G7; taking it is the
    refusal of the alternative).
    """
    if not grants:
        return []
    if card.same_model_available:
        out = [Remedy(EXCHANGE, r, text, d, cost_borne_by=payer) for r, text, d, payer in grants]
        refund_grants = [g for g in grants if g[0] != "G1"]
        if refund_grants and not has_return:
            out.append(_refund_instead_of_exchange(card, now, start, refund_grants))
        return out
    rules = "、".join(dict.fromkeys(g[0] for g in grants))
    rule, _text, first_dates, payer = grants[0]
    dates = {**first_dates, "period_start": start, "exchange_rules": rules}
    out = []
    if not card.alternative_refused:
        out.append(
            Remedy(
                EXCHANGE,
                "G7",
                _(
                    "应换货，但同型号同规格产品无货：可换其他型号或规格（差价多退少补）；"
                    "不接受的，可全额退货不计折旧"
                ),
                dates,
                cost_borne_by=payer,
                alternative=True,
            )
        )
    if not has_return:
        out.append(
            Remedy(
                RETURN,
                "G7",
                _("应换货，但同型号同规格产品无货，且您不接受其他型号：全额退货不计折旧")
                if card.alternative_refused
                else _("应换货，但同型号同规格产品无货：全额退货不计折旧"),
                dates,
                refund=_full(card),
                cost_borne_by="seller",
            )
        )
    return out


def _refund_instead_of_exchange(card, now, start, grants):
    """G8: the same model is available, the consumer wants a refund instead of the exchange."""
    rules = "、".join(dict.fromkeys(g[0] for g in grants))
    dates = {"period_start": start, "exchange_rules": rules}
    days = days_between(start, now)
    in_repair = sum(repair_days(r, now) for r in sanbao_repairs(card, now))
    dates |= {"days_since_start": days, "days_in_repair": in_repair}
    refund, error = None, ""
    if card.price is not None:
        try:
            refund = depreciation_refund(card.price, card.catalog.daily_rate, days, in_repair)
        except RuleViolation as exc:
            error = exc.code
    elif card.catalog.daily_rate is None:
        error = "depreciation_rate_unknown"
    text = _(
        "应换货，如不愿换货可退货，按折旧计算：已使用 %(days)s 日减维修 %(repair_days)s 日"
    ) % {
        "days": days,
        "repair_days": in_repair,
    }
    if error:
        text = _("%(text)s；该类目日折旧率未设置，暂不能计算退款金额") % {"text": text}
    return Remedy(
        RETURN,
        "G8",
        text,
        dates,
        with_depreciation=True,
        refund=refund,
        refund_error=error,
        cost_borne_by="seller",
    )


def _answer(now, day, remedies, coverage, not_fixed):
    remedies.sort(key=lambda r: KIND_ORDER.index(r.kind))
    kinds = list(dict.fromkeys(r.kind for r in remedies))
    labels = _("或").join(str(SUMMARY_LABELS[k]) for k in kinds)
    template = (
        _("%(day)s：只能%(remedies)s")
        if len(kinds) < len(KIND_ORDER) - 1
        else _("%(day)s：可%(remedies)s")
    )
    summary = template % {"day": _day_phrase(day), "remedies": labels}
    return Entitlements(
        at=now,
        day=day,
        remedies=tuple(remedies),
        coverage=coverage,
        not_fixed_repairs=not_fixed,
        summary=summary,
    )


# -- status moves (ARCHITECTURE.md "Statuses") ------------------------------------------------

REPAIR_MOVES = {
    "requested": {"assigned", "cancelled"},
    "assigned": {"received", "cancelled"},
    "received": {"diagnosing", "waiting_parts", "repairing", "fixed", "not_fixed", "closed"},
    "diagnosing": {"waiting_parts", "repairing", "fixed", "not_fixed", "closed"},
    "waiting_parts": {"repairing", "fixed", "not_fixed", "closed"},
    "repairing": {"waiting_parts", "fixed", "not_fixed", "closed"},
    "fixed": {"returned", "closed"},
    "not_fixed": {"returned", "closed"},
    "returned": {"closed"},
    "closed": set(),
    "cancelled": set(),
}
REPAIR_TIMESTAMPS = {
    "assigned": "assigned_at",
    "received": "received_at",
    "diagnosing": "diagnosed_at",
    "repairing": "repairing_at",
    "fixed": "finished_at",
    "not_fixed": "finished_at",
    "returned": "returned_at",
    "closed": "closed_at",
    "cancelled": "cancelled_at",
}
PROVIDER_MOVES = {
    "applied": {"approved", "rejected"},
    "approved": {"suspended"},
    "suspended": {"approved"},
    "rejected": {"applied"},
}


CARD_MOVES = {
    "active": {"exchanged", "returned", "expired"},
    "exchanged": set(),
    "returned": set(),
    "expired": set(),
}
"""The one table of allowed moves of a warranty card: an active card ends once, as
``exchanged`` (G10: the replacement gets a new card), ``returned`` (G1, G7, G8) or ``expired``
(G9, the daily sweep); an ended card never becomes active again."""

CARD_STATUS_TIMESTAMP = {"exchanged": "exchanged_at", "returned": "returned_at"}
"""The card's timestamp of each status that has one (``expired`` has none)."""
