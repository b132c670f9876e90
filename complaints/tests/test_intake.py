"""Intake and grading (standard 6.6.1; RULES.md C1, C5): one complaint per subject and issue,
the matrix, regrading with a reason, the three-year decline, the channels."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from aftersales import clock
from aftersales.casefile.models import DomainEvent
from aftersales.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.tests import factories as af
from complaints import services
from complaints.models import Complaint, ComplaintRecord, GradingRule
from complaints.tests.factories import (
    complain,
    consumer_actor,
    merchant_actor,
    order_of,
    platform_actor,
)

pytestmark = pytest.mark.django_db


def verbs(complaint):
    return list(ComplaintRecord.objects.filter(complaint=complaint).values_list("verb", flat=True))


def test_a_complaint_is_graded_recorded_and_goes_to_the_merchant():
    complaint = complain(amount="100.00")
    assert complaint.grade == "P4"
    assert complaint.grading_basis == {"rule": None, "grade": "P4"}
    assert complaint.channel == "self_service"
    assert complaint.status == "merchant_handling"
    assert complaint.subject_key == f"order:{complaint.order_id}"
    assert verbs(complaint) == ["complaint.received", "complaint.merchant_handling"]
    assert DomainEvent.objects.filter(name="complaint.received", subject_id=complaint.pk).exists()


@pytest.mark.parametrize(
    ("kw", "grade"),
    [
        ({"safety_risk": True}, "P1"),
        ({"issue": "personal_safety"}, "P1"),
        ({"media_or_regulator": True}, "P2"),
        ({"amount": "5000.00"}, "P2"),
        ({"amount": "499.99"}, "P4"),
        ({"amount": "500.00"}, "P3"),
    ],
)
def test_the_seeded_matrix_grades(kw, grade):
    complaint = complain(**kw)
    assert complaint.grade == grade
    assert complaint.grading_basis["grade"] == grade


def test_staff_edit_the_matrix_and_earlier_complaints_keep_their_basis():
    before = complain(amount="600.00")
    assert before.grade == "P3"
    rule = GradingRule.objects.get(position=70)
    rule.grade = "P2"
    services.grading_rule_save(rule=rule, actor=platform_actor())
    after = complain(amount="600.00")
    assert after.grade == "P2"
    before.refresh_from_db()
    assert before.grade == "P3" and before.grading_basis["grade"] == "P3"
    with pytest.raises(NotFound):
        services.grading_rule_save(rule=rule, actor=consumer_actor(after.consumer))


def test_a_repeat_joins_the_open_complaint_and_raises_its_grade():
    order = order_of()
    first = complain(order)
    assert first.grade == "P4"
    again = complain(order, description="还是没人处理")
    assert again.pk == first.pk
    assert Complaint.objects.filter(order=order).count() == 1
    again.refresh_from_db()
    assert again.is_repeat and again.repeat_count == 1
    assert again.grade == "P2"  # the seeded "repeat" row
    assert verbs(again)[-2:] == ["complaint.repeated", "complaint.regraded"]


def test_another_issue_of_the_same_subject_is_another_complaint():
    order = order_of()
    assert complain(order).pk != complain(order, issue="delivery").pk


def test_a_closed_complaint_does_not_take_repeats_but_marks_the_new_one_as_repeat():
    order = order_of()
    first = complain(order)
    services.complaint_resolve(complaint=first, actor=platform_actor(), conclusion="已退款")
    services.complaint_close(complaint=first, actor=platform_actor())
    second = complain(order)
    assert second.pk != first.pk
    assert second.is_repeat and second.grade == "P2"


def test_a_consumer_complains_only_about_their_own_order():
    other = af.ConsumerFactory()
    with pytest.raises(NotFound):
        complain(order_of(), actor=consumer_actor(other))


def test_merchants_do_not_file_complaints():
    order = order_of()
    with pytest.raises(NotFound):
        complain(order, actor=merchant_actor(order.merchant))


def test_staff_enter_hotline_and_email_complaints_and_keys_are_the_api():
    order = order_of()
    hotline = complain(order, actor=platform_actor(), channel="email")
    assert hotline.channel == "email"
    assert hotline.consumer_id == order.consumer_id


def test_a_merchants_conduct_with_no_case():
    merchant, consumer = af.MerchantFactory(), af.ConsumerFactory()
    complaint, created = services.complaint_create(
        actor=consumer_actor(consumer),
        subject_kind="conduct",
        merchant=merchant,
        issue="conduct",
        description="客服辱骂",
    )
    assert created and complaint.subject_key == f"merchant:{merchant.pk}:consumer:{consumer.pk}"
    with pytest.raises(InvalidInput):
        services.complaint_create(
            actor=consumer_actor(consumer),
            subject_kind="conduct",
            issue="conduct",
            description="x",
        )


def test_regrade_needs_a_reason_and_platform_rights():
    complaint = complain()
    with pytest.raises(InvalidInput):
        services.complaint_regrade(
            complaint=complaint, actor=platform_actor(), grade="P1", reason=" "
        )
    with pytest.raises(PermissionDenied):
        services.complaint_regrade(
            complaint=complaint, actor=merchant_actor(complaint.merchant), grade="P1", reason="x"
        )
    services.complaint_regrade(
        complaint=complaint, actor=platform_actor(), grade="P1", reason="媒体已报道"
    )
    complaint.refresh_from_db()
    assert complaint.grade == "P1"
    record = ComplaintRecord.objects.filter(complaint=complaint).last()
    assert record.verb == "complaint.regraded"
    assert record.data == {"from": "P4", "to": "P1", "reason": "媒体已报道"}


def three_years_and(days):
    today = clock.today()
    return date(today.year - 3, today.month, min(today.day, 28)) - timedelta(days=days)


def test_c5_harm_known_more_than_three_years_earlier_waits_and_may_be_declined():
    complaint = complain(harm_known_on=three_years_and(days=30))
    assert complaint.status == "received"
    assert ComplaintRecord.objects.get(complaint=complaint, seq=1).data["c5_may_decline"] is True
    services.complaint_decline(
        complaint=complaint, actor=platform_actor(), reason="知道权益受损已超过三年（C5）"
    )
    complaint.refresh_from_db()
    assert complaint.status == "closed" and complaint.outcome == "declined"
    assert complaint.decline_reason == "知道权益受损已超过三年（C5）"


def test_c5_decline_refused_for_recent_harm():
    complaint = complain(harm_known_on=clock.today() - timedelta(days=10))
    assert complaint.status == "merchant_handling"
    with pytest.raises(RuleViolation) as err:
        services.complaint_decline(complaint=complaint, actor=platform_actor(), reason="x")
    assert err.value.code == "c5_not_applicable"


def test_amount_is_kept_to_the_fen():
    assert complain(amount="12.345").amount == Decimal("12.35")
