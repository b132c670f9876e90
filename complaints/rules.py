"""Pure rules of complaints (RULES.md C1–C5): grading, the three-year decline, the allowed
status moves and which clock runs in which state, the clocks' warning points, and the
canonical form and hash of a record entry (C6). No ORM here.
"""

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

# -- grading (C1) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GradingFacts:
    """What the matrix grades: nature (issue), amount, safety risk, repeat, media/regulator."""

    issue: str
    amount: Decimal
    safety_risk: bool
    repeat: bool
    media_or_regulator: bool


DEFAULT_GRADE = "P4"


def rule_matches(rule, facts: GradingFacts) -> bool:
    """Whether one matrix row matches: every condition it sets holds (blank matches all).
    ``rule`` has the ``GradingRule`` attributes (a model row or any object alike)."""
    if rule.issue and rule.issue != facts.issue:
        return False
    if rule.amount_from is not None and facts.amount < rule.amount_from:
        return False
    if rule.amount_below is not None and facts.amount >= rule.amount_below:
        return False
    for name in ("safety_risk", "repeat", "media_or_regulator"):
        wanted = getattr(rule, name)
        if wanted is not None and wanted != getattr(facts, name):
            return False
    return True


def grade_for(facts: GradingFacts, rules):
    """The grade of a complaint (RULES.md C1): the first row of ``rules`` (in position
    order) that matches, or P4 when none does. Returns ``(grade, rule or None)``."""
    for rule in sorted(rules, key=lambda r: r.position):
        if rule_matches(rule, facts):
            return rule.grade, rule
    return DEFAULT_GRADE, None


# -- C5: harm known more than three years earlier ---------------------------------------------

DECLINE_AFTER_YEARS = 3


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 29 February falls back to the 28th (a period
    ending on a day the month lacks ends on its last day, 民法典 art. 202)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def may_decline_as_stale(harm_known_on: date | None, today: date) -> bool:
    """RULES.md C5: a complaint about harm the consumer knew of more than three years before
    it was made may be declined (with the reason). Known exactly three years earlier is not
    "more than": it is still accepted. Unknown date: never declined on this ground."""
    if harm_known_on is None:
        return False
    return harm_known_on < years_before(today, DECLINE_AFTER_YEARS)


# -- statuses and clocks ----------------------------------------------------------------------

RECEIVED = "received"
MERCHANT_HANDLING = "merchant_handling"
WAITING_CONSUMER = "waiting_consumer"
PLATFORM_MEDIATION = "platform_mediation"
THIRD_PARTY_MEDIATION = "third_party_mediation"
RESOLVED = "resolved"
CLOSED = "closed"

# The allowed moves (ARCHITECTURE.md "Statuses"). Reopening is a move out of resolved or
# closed back into handling.
MOVES = {
    RECEIVED: {MERCHANT_HANDLING, PLATFORM_MEDIATION, CLOSED},
    MERCHANT_HANDLING: {WAITING_CONSUMER, PLATFORM_MEDIATION, RESOLVED, CLOSED},
    WAITING_CONSUMER: {MERCHANT_HANDLING, PLATFORM_MEDIATION, THIRD_PARTY_MEDIATION, CLOSED},
    PLATFORM_MEDIATION: {WAITING_CONSUMER, THIRD_PARTY_MEDIATION, RESOLVED, CLOSED},
    THIRD_PARTY_MEDIATION: {WAITING_CONSUMER, PLATFORM_MEDIATION, RESOLVED, CLOSED},
    RESOLVED: {CLOSED, MERCHANT_HANDLING, PLATFORM_MEDIATION},
    CLOSED: {MERCHANT_HANDLING, PLATFORM_MEDIATION},
}
OPEN_STATES = frozenset(MOVES) - {RESOLVED, CLOSED}

FIRST_RESPONSE = "first_response"
MERCHANT_NEGOTIATION = "merchant_negotiation"
PLATFORM_HANDLING = "platform_handling"
CLOCKS = (FIRST_RESPONSE, MERCHANT_NEGOTIATION, PLATFORM_HANDLING)

# Which clock runs in which state: the one table the clocks follow. A clock that runs in the
# state left and not in the state entered stops — except on entering ``waiting_consumer``,
# where it is paused and resumes when the consumer answers (RULES.md C2/C3; the 45-working-day
# mediation clock C4 of third-party mediation comes with mediation).
CLOCK_STATES = {
    FIRST_RESPONSE: frozenset({RECEIVED, MERCHANT_HANDLING}),
    MERCHANT_NEGOTIATION: frozenset({MERCHANT_HANDLING}),
    PLATFORM_HANDLING: frozenset({PLATFORM_MEDIATION}),
}
PAUSING_STATES = frozenset({WAITING_CONSUMER})


def clocks_running(status: str) -> frozenset:
    """The clocks that run in ``status``."""
    return frozenset(c for c in CLOCKS if status in CLOCK_STATES[c])


def clock_moves(from_status: str, to_status: str, *, paused_from: str = "") -> dict:
    """What a status move does to each clock: ``{clock: "start" | "resume" | "pause" |
    "stop"}`` (clocks it leaves alone are absent).

    Into a pausing state the running clocks pause. Out of it, the clocks that ran in the state
    the wait interrupted (``paused_from``) resume if they run in the new state and stop if not;
    the others start. Elsewhere a clock that runs after and not before starts, one that ran
    before and not after stops.
    """
    before = clocks_running(from_status)
    after = clocks_running(to_status)
    if to_status in PAUSING_STATES:
        return {clock: "pause" for clock in before}
    if from_status in PAUSING_STATES:
        paused = clocks_running(paused_from) if paused_from else frozenset()
        moves = {clock: ("resume" if clock in after else "stop") for clock in paused}
        moves |= {clock: "start" for clock in after - paused}
        return moves
    moves = {clock: "start" for clock in after - before}
    moves |= {clock: "stop" for clock in before - after}
    return moves


WARN_AT = Decimal("0.8")


def hour_clock_warning_offset(duration: timedelta) -> timedelta:
    """How long before the due time an hour clock warns: at 80 % of its length."""
    return duration - duration * 8 / 10


def working_clock_warning_days(days: int) -> int:
    """How many working days before the due day's end a working-day clock warns: at the end of
    working day ⌊80 % of n⌋ (10 working days → at 24:00 of the 8th, 2 before the end)."""
    return days - math.floor(days * WARN_AT)


# -- C6: the record entry's canonical form and hash --------------------------------------------

GENESIS = "0" * 64


def instant_text(instant: datetime) -> str:
    """An instant as hashed: UTC, ISO 8601 with microseconds (the same after a database round
    trip on PostgreSQL and SQLite)."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def entry_canonical(entry: dict) -> bytes:
    """The bytes an entry's hash covers: its fields (complaint, seq, actor_kind, actor_label,
    verb, data, attachment_sha256, occurred_at, prev_hash) as JSON with sorted keys, no
    spaces, UTF-8."""
    fields = {
        "complaint": int(entry["complaint"]),
        "seq": int(entry["seq"]),
        "actor_kind": entry["actor_kind"],
        "actor_label": entry["actor_label"],
        "verb": entry["verb"],
        "data": entry.get("data") or {},
        "attachment_sha256": entry.get("attachment_sha256") or "",
        "occurred_at": entry["occurred_at"],
        "prev_hash": entry["prev_hash"],
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict) -> str:
    """SHA-256 (hex) of the entry's canonical form."""
    return hashlib.sha256(entry_canonical(entry)).hexdigest()


def chain_errors(entries) -> list:
    """What is wrong with a chain of entries (dicts as ``entry_canonical`` reads, with
    ``hash``), in order: ``[]`` when it recomputes. Catches an edited entry (its hash), a
    deleted, inserted or reordered one (the sequence and the links)."""
    errors = []
    prev = GENESIS
    for position, entry in enumerate(entries, start=1):
        if int(entry["seq"]) != position:
            errors.append({"seq": entry["seq"], "error": "sequence", "expected": position})
        if entry["prev_hash"] != prev:
            errors.append({"seq": entry["seq"], "error": "link"})
        if entry_hash(entry) != entry["hash"]:
            errors.append({"seq": entry["seq"], "error": "hash"})
        prev = entry["hash"]
    return errors
