"""What the shared template components (``aftersales/templates/components/``) show of a
deadline: one way to write when it falls due and one countdown, for every portal and the admin.

Pages load the filters with ``{% load components %}``; views build the rows with
``deadline_rows`` when they need them too (a list's nearest deadline, its overdue rows).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from aftersales import clock
from aftersales.deadlines.rules import display_instant

register = template.Library()

# A deadline this close is shown as urgent unless the page asks otherwise (returns: 48 h cases).
URGENT = timedelta(days=1)

# The formats of a countdown; portal.js receives the same ones to keep it ticking.
AMOUNT_DAYS = gettext_noop("%(d)s 天 %(h)s 小时")
AMOUNT_HOURS = gettext_noop("%(h)s 小时 %(m)s 分")
AMOUNT_MINUTES = gettext_noop("%(m)s 分钟")
LEFT = gettext_noop("剩余 %(t)s")
OVER = gettext_noop("已超时 %(t)s")
PAUSED = gettext_noop("已暂停，剩余 %(t)s")


@register.filter
def deadline_time(instant):
    """An instant as Shanghai people read a deadline: a window closing at 00:00 is "24:00" of
    the day before (RULES.md "Time": day N ends at 24:00)."""
    return display_instant(instant) if instant else ""


def duration_text(span):
    """A length of time as a countdown reads it: 1 天 3 小时, 2 小时 5 分, 7 分钟 (at least 1)."""
    days, rest = divmod(int(abs(span.total_seconds())), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return _(AMOUNT_DAYS) % {"d": days, "h": hours}
    if hours:
        return _(AMOUNT_HOURS) % {"h": hours, "m": rest // 60}
    return _(AMOUNT_MINUTES) % {"m": max(1, rest // 60)}


@dataclass(frozen=True)
class Countdown:
    """Time left until ``due_at`` (or past it), from the platform clock (the sandbox clock may
    run ahead of the browser's); portal.js keeps it ticking from ``seconds_left``."""

    due_at: datetime
    now: datetime
    paused_left: timedelta | None = None
    urgent_within: timedelta = URGENT

    @property
    def ticking(self):
        """A paused deadline keeps what was left: nothing to tick."""
        return self.paused_left is None

    @property
    def left(self):
        return self.paused_left if self.paused_left is not None else self.due_at - self.now

    @property
    def seconds_left(self):
        return int(self.left.total_seconds())

    @property
    def urgent_seconds(self):
        return int(self.urgent_within.total_seconds())

    @property
    def overdue(self):
        return self.ticking and self.seconds_left <= 0

    @property
    def urgent(self):
        return not self.overdue and self.left <= self.urgent_within

    @property
    def formats(self):
        """The translated formats portal.js writes the ticking text with."""
        return {
            "days": _(AMOUNT_DAYS),
            "hours": _(AMOUNT_HOURS),
            "minutes": _(AMOUNT_MINUTES),
            "left": _(LEFT),
            "over": _(OVER),
        }

    @property
    def text(self):
        amount = duration_text(self.left)
        if not self.ticking:
            return _(PAUSED) % {"t": amount}
        return (_(OVER) if self.overdue else _(LEFT)) % {"t": amount}


@dataclass(frozen=True)
class DeadlineRow:
    """One pending (or paused) deadline as the deadline list shows it."""

    deadline: object
    now: datetime
    urgent_within: timedelta = URGENT

    @property
    def kind(self):
        return self.deadline.kind

    @property
    def description(self):
        return self.deadline.description or self.deadline.kind

    @property
    def due_at(self):
        return self.deadline.due_at

    @property
    def state(self):
        return self.deadline.state

    @property
    def state_label(self):
        return self.deadline.get_state_display()

    @property
    def paused(self):
        return self.deadline.state == "paused"

    @property
    def due_text(self):
        return deadline_time(self.deadline.due_at)

    @property
    def countdown(self):
        left = (self.deadline.remaining or timedelta(0)) if self.paused else None
        return Countdown(self.deadline.due_at, self.now, left, self.urgent_within)


def deadline_rows(deadlines, *, now=None, urgent_within=URGENT):
    """Deadlines (models) as rows with their countdown; rows already built pass through."""
    rows = []
    for d in deadlines:
        if not isinstance(d, DeadlineRow):
            now = now or clock.now()
            d = DeadlineRow(d, now, urgent_within)
        rows.append(d)
    return rows


@register.filter(name="deadline_rows")
def deadline_rows_filter(deadlines):
    return deadline_rows(deadlines or [])
