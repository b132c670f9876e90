"""The clocks of complaints through the deadline engine (RULES.md C2, C3): boundaries at the
last minute and the first minute after, working days across holidays and make-up working
days, warnings at 80 %, pausing while the consumer is asked, escalation on lapse."""

from datetime import timedelta

import pytest
import time_machine

from aftersales.deadlines.calendar import holidays_import_bundled
from aftersales.deadlines.engine import deadline_sweep
from aftersales.deadlines.models import Deadline
from aftersales.tenancy.actors import SYSTEM
from complaints import services
from complaints.deadlines import KIND, open_clock
from complaints.models import Complaint, ComplaintRecord
from complaints.tests.factories import (
    complain,
    consumer_actor,
    merchant_actor,
    order_of,
    sh,
)

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)
# Friday 18 September 2026: the 20th (Sunday) is a make-up working day, 25–27 September and
# 1–7 October are holidays, 10 October (Saturday) is a make-up working day.
T0 = sh(2026, 9, 18, 10, 0)


@pytest.fixture
def calendar_2026(db):
    holidays_import_bundled(actor=SYSTEM)


def at(instant):
    return time_machine.travel(instant, tick=False)


def sweep(instant):
    with at(instant):
        return deadline_sweep()


def fresh(complaint):
    return Complaint.objects.get(pk=complaint.pk)


def recorded(complaint, verb):
    return ComplaintRecord.objects.filter(complaint=complaint, verb=verb)


def file_at(instant, **kw):
    with at(instant):
        return complain(order_of(), **kw)


# -- C2: first response -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "hours"),
    [
        ({"safety_risk": True}, 2),
        ({"media_or_regulator": True}, 8),
        ({"amount": "600"}, 24),
        ({}, 48),
    ],
)
def test_first_response_clock_by_grade(calendar_2026, kw, hours):
    complaint = file_at(T0, **kw)
    deadline = open_clock(complaint, "first_response")
    assert deadline.due_at == T0 + timedelta(hours=hours)
    assert deadline.policy_key == "complaints.first_response_hours"
    warning = Deadline.objects.get(parent=deadline)
    assert warning.due_at == T0 + timedelta(hours=hours) * 8 / 10


def test_first_response_breach_boundary(calendar_2026):
    complaint = file_at(T0, safety_risk=True)  # P1: 2 hours
    due = T0 + timedelta(hours=2)
    sweep(due - MINUTE)
    assert fresh(complaint).first_response_breached_at is None
    assert recorded(complaint, "complaint.clock_warning").count() == 1  # 80 % (1 h 36 min)
    sweep(due)
    assert fresh(complaint).first_response_breached_at is not None
    assert recorded(complaint, "complaint.clock_breached").get().data["clock"] == "first_response"


def test_a_response_in_the_last_minute_stops_the_clock(calendar_2026):
    complaint = file_at(T0, safety_risk=True)
    due = T0 + timedelta(hours=2)
    with at(due - MINUTE):
        services.complaint_respond(
            complaint=complaint, actor=merchant_actor(complaint.merchant), message="已联系"
        )
    sweep(due + MINUTE)
    assert fresh(complaint).first_response_breached_at is None
    assert open_clock(complaint, "first_response") is None


# -- C3: merchant negotiation in working days ---------------------------------------------------

C3_DUE = sh(2026, 10, 10, 0, 0)  # 24:00 of Friday 9 October, the 10th working day after T0
C3_WARN = sh(2026, 10, 1, 0, 0)  # 24:00 of 30 September, the 8th working day


def test_negotiation_due_after_ten_working_days_across_holidays_and_make_up_days(calendar_2026):
    complaint = file_at(T0)
    deadline = open_clock(complaint, "merchant_negotiation")
    # 20 Sep (make-up) 1, 21–24 Sep 2–5, 25–27 rest, 28–30 Sep 6–8, 1–7 Oct rest, 8–9 Oct 9–10
    assert deadline.due_at == C3_DUE
    assert Deadline.objects.get(parent=deadline).due_at == C3_WARN
    assert deadline.policy_key == "complaints.resolution_working_days"


def test_lapsed_negotiation_escalates_at_the_first_minute_after(calendar_2026):
    complaint = file_at(T0)
    with at(T0 + timedelta(hours=1)):
        services.complaint_respond(
            complaint=complaint, actor=merchant_actor(complaint.merchant), message="处理中"
        )
    sweep(C3_WARN - MINUTE)
    assert not recorded(complaint, "complaint.clock_warning").exists()
    sweep(C3_WARN)
    assert recorded(complaint, "complaint.clock_warning").get().data["clock"] == (
        "merchant_negotiation"
    )
    sweep(C3_DUE - MINUTE)
    assert fresh(complaint).status == "merchant_handling"
    sweep(C3_DUE)
    complaint = fresh(complaint)
    assert complaint.status == "platform_mediation"
    assert complaint.escalated_at == C3_DUE
    moved = recorded(complaint, "complaint.platform_mediation").get()
    assert moved.actor_kind == "system" and moved.data["automatic"] is True
    # The platform's own clock starts: 10 working days from 10 Oct (a make-up working day).
    platform = open_clock(complaint, "platform_handling")
    assert platform.due_at == sh(2026, 10, 24, 0, 0)


def test_a_make_up_working_day_counts(calendar_2026):
    # Filed on Friday 9 Oct: Saturday the 10th (make-up) is day 1, Sunday the 11th rests.
    complaint = file_at(sh(2026, 10, 9, 15, 0))
    # 10 Oct (make-up) 1, 12–16 Oct 2–6, 19–22 Oct 7–10
    assert open_clock(complaint, "merchant_negotiation").due_at == sh(2026, 10, 23, 0, 0)


# -- paused while waiting for the consumer ------------------------------------------------------


def test_clocks_pause_while_waiting_for_the_consumer_and_resume_with_the_waited_days(
    calendar_2026,
):
    complaint = file_at(T0)  # P4: first response due in 48 h
    merchant = merchant_actor(complaint.merchant)
    with at(sh(2026, 9, 19, 10, 0)):  # 24 h in: 24 h of the first-response clock left
        services.complaint_request_info(complaint=complaint, actor=merchant, message="请提供照片")
    for name in ("first_response", "merchant_negotiation"):
        assert open_clock(complaint, name).state == "paused"
    # Nothing fires while paused, even long after the due times.
    sweep(C3_DUE + timedelta(days=5))
    assert fresh(complaint).status == "waiting_consumer"
    assert not recorded(complaint, "complaint.clock_breached").exists()
    resumed_at = sh(2026, 9, 22, 9, 0)  # 20 Sep (make-up) and 21, 22 Sep: 3 working days
    with at(resumed_at):
        services.complaint_consumer_reply(
            complaint=complaint, actor=consumer_actor(complaint.consumer), message="照片已上传"
        )
    complaint = fresh(complaint)
    assert complaint.status == "merchant_handling"
    assert complaint.negotiation_paused_days == 3
    first = open_clock(complaint, "first_response")
    assert first.state == "pending" and first.due_at == resumed_at + timedelta(hours=24)
    # 10 + 3 working days after 18 Sep: 9 Oct is the 10th, 10 Oct (make-up) 11, 12–13 Oct
    negotiation = open_clock(complaint, "merchant_negotiation")
    assert negotiation.state == "pending" and negotiation.due_at == sh(2026, 10, 14, 0, 0)
    sweep(sh(2026, 10, 14, 0, 0) - MINUTE)
    assert fresh(complaint).status == "merchant_handling"


def test_the_kinds_are_registered_with_descriptions():
    from aftersales.deadlines.registry import deadline_description

    for kind in KIND.values():
        assert str(deadline_description(kind))
        assert str(deadline_description(kind + ".reminder"))
