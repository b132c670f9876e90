"""The clocks of complaints through the kernel's deadline engine (RULES.md C2, C3).

Kinds (each with a ``<kind>.reminder`` at 80 % of its length, the warning):

- ``complaints.first_response`` (C2): hours by grade from intake (policy
  ``complaints.first_response_hours``); stopped by the first response. At breach the
  complaint is marked and the merchant's staff and the platform are told.
- ``complaints.merchant_negotiation`` (C3): N working days (policy
  ``complaints.resolution_working_days``, the kernel's calendar with holidays and make-up
  working days) from the start of the merchant's handling, plus the working days spent waiting
  for the consumer. When it lapses the complaint is escalated to platform mediation.
- ``complaints.platform_handling``: the platform's clock in platform mediation, the same
  number of working days; at breach the complaint is marked on its record.

Which clock runs in which state is the one table ``complaints.rules.CLOCK_STATES``; the status
listener ``complaint_clocks`` (registered with the kernel's status moves) starts, pauses,
resumes and stops the clocks on every move by ``rules.clock_moves``. Hour clocks pause with the
engine (what is left is kept); working-day clocks count the working days of the pause and are
rescheduled from them on resume.
"""

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.casefile.statuses import on_status_change
from aftersales.deadlines import calendar
from aftersales.deadlines import rules as time_rules
from aftersales.deadlines.engine import (
    deadline_cancel,
    deadline_pause,
    deadline_resume,
    deadline_schedule,
    deadline_subject,
)
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import REMINDER_SUFFIX, deadline_register
from aftersales.policies import policy_get
from aftersales.tenancy.actors import SYSTEM

from . import rules
from .models import Complaint

KIND = {
    rules.FIRST_RESPONSE: "complaints.first_response",
    rules.MERCHANT_NEGOTIATION: "complaints.merchant_negotiation",
    rules.PLATFORM_HANDLING: "complaints.platform_handling",
}
CLOCK_OF_KIND = {kind: clock_name for clock_name, kind in KIND.items()}
WORKING_DAY_CLOCKS = (rules.MERCHANT_NEGOTIATION, rules.PLATFORM_HANDLING)
OPEN = (Deadline.State.PENDING, Deadline.State.PAUSED)


# -- due times --------------------------------------------------------------------------------


def first_response_hours(grade):
    """The C2 hours of ``grade`` and the policy they came from."""
    ref = policy_get("complaints.first_response_hours")
    return int(ref.value[grade]), ref


def resolution_days():
    ref = policy_get("complaints.resolution_working_days")
    return int(ref.value), ref


def first_response_due(complaint):
    hours, ref = first_response_hours(complaint.grade)
    return complaint.received_at + timedelta(hours=hours), ref


def _start_and_pause(complaint, clock_name):
    if clock_name == rules.MERCHANT_NEGOTIATION:
        return complaint.negotiation_started_at, complaint.negotiation_paused_days
    return complaint.platform_started_at, complaint.platform_paused_days


def working_clock_due(complaint, clock_name):
    """24:00 Shanghai of the N-th working day after the clock started, N being the policy's
    days plus the working days it spent paused (C3); with the warning's offset and policy."""
    days, ref = resolution_days()
    started, paused = _start_and_pause(complaint, clock_name)
    due = calendar.working_window_closes_at(started, days + paused)
    warn_days = rules.working_clock_warning_days(days)
    warn_at = calendar.working_window_closes_at(started, days + paused - warn_days)
    return due, [due - warn_at], ref


def open_clock(complaint, clock_name):
    """The complaint's open (pending or paused) deadline of a clock, or ``None``."""
    return Deadline.objects.filter(
        subject_type=Complaint._meta.label_lower,
        subject_id=complaint.pk,
        kind=KIND[clock_name],
        state__in=OPEN,
    ).first()


# -- starting, pausing, resuming, stopping -----------------------------------------------------


def clock_start(complaint, clock_name, *, actor, fresh=False):
    if clock_name == rules.FIRST_RESPONSE:
        if complaint.first_responded_at is not None:
            return None
        due, ref = first_response_due(complaint)
        reminders = [rules.hour_clock_warning_offset(due - complaint.received_at)]
    else:
        now = clock.now()
        if clock_name == rules.MERCHANT_NEGOTIATION:
            complaint.negotiation_started_at, complaint.negotiation_paused_days = now, 0
            update = ["negotiation_started_at", "negotiation_paused_days"]
        else:
            complaint.platform_started_at, complaint.platform_paused_days = now, 0
            update = ["platform_started_at", "platform_paused_days"]
        complaint.save(update_fields=update)
        due, reminders, ref = working_clock_due(complaint, clock_name)
    return deadline_schedule(
        subject=complaint,
        kind=KIND[clock_name],
        due_at=due,
        actor=actor,
        policy=ref,
        reminders=reminders,
        fresh=fresh,
    )


def clock_pause(complaint, clock_name, *, actor):
    if open_clock(complaint, clock_name) is None:
        return
    deadline_pause(subject=complaint, kind=KIND[clock_name], actor=actor, reason="waiting_consumer")


def clock_resume(complaint, clock_name, *, actor):
    """Hour clocks resume with what was left; working-day clocks add the working days of the
    pause (the days after the day it paused, up to the day it resumed) and are due again."""
    if open_clock(complaint, clock_name) is None:
        return
    if clock_name not in WORKING_DAY_CLOCKS:
        deadline_resume(subject=complaint, kind=KIND[clock_name], actor=actor)
        return
    paused_at = complaint.paused_at or clock.now()
    start, end = time_rules.local_date(paused_at), time_rules.local_date(clock.now())
    waited = time_rules.working_days_between(start, end, calendar.calendar_exceptions(start, end))
    if clock_name == rules.MERCHANT_NEGOTIATION:
        complaint.negotiation_paused_days += waited
        complaint.save(update_fields=["negotiation_paused_days"])
    else:
        complaint.platform_paused_days += waited
        complaint.save(update_fields=["platform_paused_days"])
    due, reminders, ref = working_clock_due(complaint, clock_name)
    deadline_schedule(
        subject=complaint,
        kind=KIND[clock_name],
        due_at=due,
        actor=actor,
        policy=ref,
        reminders=reminders,
        data={"paused_working_days": waited},
    )


def clock_stop(complaint, clock_name, *, actor, reason=""):
    deadline_cancel(subject=complaint, kind=KIND[clock_name], actor=actor, reason=reason)


ACTIONS = {"start": clock_start, "pause": clock_pause, "resume": clock_resume}


def clocks_apply(complaint, from_status, to_status, actor, *, fresh=False):
    """Do to each clock what the move from ``from_status`` to ``to_status`` implies
    (``rules.clock_moves`` over ``rules.CLOCK_STATES``)."""
    moves = rules.clock_moves(from_status, to_status, paused_from=complaint.paused_from)
    for clock_name in rules.CLOCKS:
        action = moves.get(clock_name)
        if action == "stop":
            clock_stop(complaint, clock_name, actor=actor, reason=f"{from_status} → {to_status}")
        elif action == "start":
            clock_start(complaint, clock_name, actor=actor, fresh=fresh)
        elif action is not None:
            ACTIONS[action](complaint, clock_name, actor=actor)


@on_status_change
def complaint_clocks(obj, from_status, to_status, actor):
    """The status listener: every move of a complaint applies the clock table."""
    if isinstance(obj, Complaint):
        clocks_apply(obj, from_status, to_status, actor)


# -- when a clock falls due --------------------------------------------------------------------


def _locked(deadline):
    return deadline_subject(deadline, lock=True)


def on_warning(deadline):
    """80 % of a clock has passed: record it and warn whoever must act."""
    from .services.handling import complaint_clock_warn

    complaint = _locked(deadline)
    clock_name = CLOCK_OF_KIND[deadline.kind[: -len(REMINDER_SUFFIX)]]
    return complaint_clock_warn(complaint=complaint, clock_name=clock_name, deadline=deadline)


def on_breach(deadline):
    """A clock ran out: the first response is marked late, a lapsed negotiation goes to
    platform mediation, a late platform is marked."""
    from .services.handling import complaint_clock_breach

    complaint = _locked(deadline)
    return complaint_clock_breach(
        complaint=complaint, clock_name=CLOCK_OF_KIND[deadline.kind], deadline=deadline
    )


deadline_register(
    KIND[rules.FIRST_RESPONSE], on_breach, _("首次响应超时（C2）：标记超时并通知商家")
)
deadline_register(
    KIND[rules.MERCHANT_NEGOTIATION],
    on_breach,
    _("商家协商期限届满（C3）：自动升级为平台调解"),
)
deadline_register(
    KIND[rules.PLATFORM_HANDLING], on_breach, _("平台处理期限届满：记录超时并提醒平台")
)
for _kind in KIND.values():
    deadline_register(_kind + REMINDER_SUFFIX, on_warning, _("期限已过 80%：提醒处理方"))

__all__ = ["SYSTEM", "clocks_apply", "open_clock"]
