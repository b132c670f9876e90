"""Pure rules of time (RULES.md "Time"): calendar-day windows, working days, holiday extension.

No ORM here: the holiday calendar comes in as ``exceptions``, a mapping ``{date: "holiday" |
"workday"}`` (weekdays not listed work, weekends not listed rest).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOLIDAY = "holiday"
WORKDAY = "workday"


def display_instant(instant: datetime) -> str:
    """An instant as shown to people, in Shanghai; a window's end reads ``2026-11-28 24:00``.

    RULES.md "Time": a window closes at 24:00 of its last day, which is 00:00 of the next day;
    the explanation names the last day, as the law counts it.
    """
    local = instant.astimezone(SHANGHAI)
    if local.hour == local.minute == local.second == local.microsecond == 0:
        return f"{(local.date() - timedelta(days=1)):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def local_date(instant: datetime) -> date:
    """The Shanghai calendar date of an aware instant (RULES.md "Time": days count in Shanghai)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: instants must be aware")
    return instant.astimezone(SHANGHAI).date()


def end_of_day(day: date) -> datetime:
    """24:00 Shanghai of ``day``: the first instant that no longer belongs to it (aware)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)


def window_last_day(event_at: datetime, days: int) -> date:
    """The last day of an N-day window after event E (民法典 art. 201, RULES.md "Time").

    The day of E is not counted; day 1 is the next calendar day in Shanghai; the window's last
    day is day N.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    return local_date(event_at) + timedelta(days=days)


def window_closes_at(event_at: datetime, days: int) -> datetime:
    """The instant an N-day window after E closes: 24:00 Shanghai of day N (exclusive).

    Signed 2026-11-21 00:30 Shanghai, 7 days → closes at 2026-11-29 00:00 Shanghai, so it is
    still open at 2026-11-28 23:59:59.999 (RULES.md example).
    """
    return end_of_day(window_last_day(event_at, days))


def window_is_open(*, event_at: datetime, days: int, at: datetime) -> bool:
    """Whether ``at`` is inside the N-day window after ``event_at`` (RULES.md "Time")."""
    return at < window_closes_at(event_at, days)


def is_working_day(day: date, exceptions) -> bool:
    """Monday–Friday minus public holidays plus make-up working days (RULES.md "Time")."""
    kind = exceptions.get(day)
    if kind == HOLIDAY:
        return False
    if kind == WORKDAY:
        return True
    return day.weekday() < 5


def add_working_days(day: date, n: int, exceptions) -> date:
    """The ``n``-th working day after ``day`` (``day`` itself not counted; n ≥ 0)."""
    if n < 0:
        raise ValueError("n must not be negative")
    current = day
    while n:
        current += timedelta(days=1)
        if is_working_day(current, exceptions):
            n -= 1
    return current


def working_days_between(start: date, end: date, exceptions) -> int:
    """How many working days lie in (start, end] — the count ``add_working_days`` inverts."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current, exceptions):
            count += 1
    return count


def working_window_closes_at(event_at: datetime, n: int, exceptions) -> datetime:
    """An N-working-day window after E closes at 24:00 Shanghai of its N-th working day
    (RULES.md "Time", "working days"; e.g. C3: 10 working days)."""
    return end_of_day(add_working_days(local_date(event_at), n, exceptions))


def extend_over_rest_days(last_day: date, exceptions) -> date:
    """Holiday extension (民法典 art. 203): a window whose last day is a rest day ends on the
    next working day instead. Applied only when the policy ``calendar.holiday_extension`` is on.
    """
    while not is_working_day(last_day, exceptions):
        last_day += timedelta(days=1)
    return last_day
