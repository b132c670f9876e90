"""Deadlines of returns through the engine at their boundary minute (R6, R13, R14 with its
reminder, R12 clawback): each fires a timeline event, a notification and a webhook event."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine

from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.deadlines.engine import deadline_sweep
from aftersales.deadlines.models import Deadline
from aftersales.deadlines.registry import deadline_description
from aftersales.messaging.models import Notification
from aftersales.policies import policy_set
from returns import services
from returns.citations import citation
from returns.models import ExpressRefundLedgerEntry, Refund
from returns.selectors import return_request_deadlines
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db

# 2026-11-21 00:30 Shanghai: day 1 of a window is 11-22; day 7 closes 11-28 24:00 Shanghai.
T0 = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
DAY7_END = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def sweep(at):
    with time_machine.travel(at, tick=False):
        return deadline_sweep()


@pytest.fixture
def case():
    with time_machine.travel(T0 - timedelta(days=1), tick=False):
        line = rf.signed_line(signed_at=T0 - timedelta(hours=2), price="88.00", quantity=2)
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)

    def create(kind="return_refund"):
        with time_machine.travel(T0, tick=False):
            return services.return_request_create(
                line=line, kind=kind, reason="no_reason", quantity=1, actor=consumer
            )

    return line, consumer, merchant, create


def fired(request, kind):
    return TimelineEvent.objects.filter(
        subject_id=request.pk, verb="deadline.fired", data__kind=kind
    ).exists()


def test_r13_auto_approve_at_48_hours(case):
    _line, consumer, _merchant, create = case
    request = create()
    pending = return_request_deadlines(request)
    assert [d.kind for d in pending] == ["returns.auto_approve"]
    assert pending[0].description == deadline_description("returns.auto_approve")
    assert citation("R13") in pending[0].description
    sweep(T0 + timedelta(hours=48) - MINUTE)
    request.refresh_from_db()
    assert request.status == "requested"
    sweep(T0 + timedelta(hours=48))
    request.refresh_from_db()
    assert request.status == "approved" and citation("R13") in request.status_reason
    assert fired(request, "returns.auto_approve")
    assert Notification.objects.filter(event="return.approved", user=consumer.user).exists()
    assert DomainEvent.objects.filter(name="return.approved", subject_id=request.pk).exists()
    assert DomainEvent.objects.filter(name="deadline.fired", subject_id=request.pk).exists()


def test_r13_policy_per_merchant(case):
    line, _consumer, _merchant, create = case
    policy_set(
        key="returns.auto_approve_hours",
        value=24,
        actor=rf.SYSTEM,
        scope="merchant",
        scope_id=line.order.merchant_id,
    )
    request = create()
    sweep(T0 + timedelta(hours=24))
    request.refresh_from_db()
    assert request.status == "approved"


def test_answered_request_is_not_auto_approved(case):
    _line, _consumer, merchant, create = case
    request = create()
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        services.return_request_reject(request=request, actor=merchant, reason="不符合")
    assert sweep(T0 + timedelta(hours=49)).done == 0
    request.refresh_from_db()
    assert request.status == "rejected"


def test_r14_close_unshipped_with_reminder_24h_before(case):
    _line, consumer, merchant, create = case
    request = create()
    with time_machine.travel(T0, tick=False):  # approved 2026-11-21 00:30 Shanghai
        services.return_request_approve(request=request, actor=merchant)
    due = Deadline.objects.get(subject_id=request.pk, kind="returns.close_unshipped")
    assert due.due_at == DAY7_END
    sweep(DAY7_END - timedelta(hours=24) - MINUTE)
    assert not Notification.objects.filter(event="return.close_reminder").exists()
    sweep(DAY7_END - timedelta(hours=24))
    assert Notification.objects.filter(event="return.close_reminder", user=consumer.user).exists()
    sweep(DAY7_END - MINUTE)
    request.refresh_from_db()
    assert request.status == "approved"
    sweep(DAY7_END)
    request.refresh_from_db()
    assert request.status == "closed" and citation("R14") in request.status_reason
    assert fired(request, "returns.close_unshipped")
    assert Notification.objects.filter(event="return.closed", user=consumer.user).exists()
    assert DomainEvent.objects.filter(name="return.closed", subject_id=request.pk).exists()


def test_r14_shipping_back_cancels_the_close(case):
    _line, consumer, merchant, create = case
    request = create()
    with time_machine.travel(T0, tick=False):
        services.return_request_approve(request=request, actor=merchant)
        services.return_ship_back(
            request=request, actor=consumer, carrier="SF", tracking_number="K1"
        )
    assert sweep(DAY7_END + timedelta(days=1)).done == 0


def _at_stage(case, stage, *, tracking=None):
    """A request of the case's line taken to ``stage`` at T0 (2026-11-21 00:30 Shanghai)."""
    line = case[0]
    with time_machine.travel(T0, tick=False):
        return rf.request_at(line, stage, tracking=tracking)[0]


def _received(case):
    return _at_stage(case, "received")


def test_r6_platform_refunds_seven_days_after_receipt(case):
    request = _received(case)  # received 2026-11-21 00:30 Shanghai
    sweep(DAY7_END - MINUTE)
    assert not Refund.objects.exists()
    sweep(DAY7_END)
    request.refresh_from_db()
    assert request.status == "refunding" and request.refund.amount == D("88.00")
    assert fired(request, "returns.refund_after_receipt")
    assert Notification.objects.filter(event="return.refund_started").exists()
    assert DomainEvent.objects.filter(name="return.refund_started", subject_id=request.pk).exists()


def test_r6_no_automatic_refund_while_a_dispute_is_open(case):
    line, _consumer, merchant, _create = case
    line.order.consumer.credit_score = 100  # no express refund at the first scan (R12)
    line.order.consumer.save(update_fields=["credit_score"])
    request = _at_stage(case, "return_shipped", tracking="D1")
    with time_machine.travel(T0, tick=False):
        services.return_parcel_scan_record(
            request=request, kind="signed", occurred_at=T0, actor=rf.SYSTEM
        )
        services.return_receive(
            request=request, actor=merchant, intact=False, note="破损", evidence=[rf.photo()]
        )
    sweep(DAY7_END + timedelta(days=1))
    request.refresh_from_db()
    assert request.status == "disputed" and not Refund.objects.exists()


def test_express_clawback_when_the_parcel_never_arrives(case):
    request = _at_stage(case, "return_shipped", tracking="LOST1")
    with time_machine.travel(T0, tick=False):
        services.return_parcel_scan_record(
            request=request, kind="picked_up", occurred_at=T0, actor=rf.SYSTEM
        )
    request.refresh_from_db()
    assert request.express
    # 15 days (policy) after the first scan, window rule: 2026-12-06 24:00 Shanghai
    due = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
    assert Deadline.objects.get(kind="returns.express_clawback").due_at == due
    sweep(due - MINUTE)
    assert not ExpressRefundLedgerEntry.objects.filter(kind="clawback").exists()
    sweep(due)
    entry = ExpressRefundLedgerEntry.objects.get(kind="clawback")
    assert entry.amount == D("88.00")
    assert fired(request, "returns.express_clawback")
    assert Notification.objects.filter(event="return.express_clawback").exists()
    assert DomainEvent.objects.filter(name="return.express_clawback").exists()


def test_r13_policy_per_category(case):
    line, _consumer, _merchant, create = case
    policy_set(
        key="returns.auto_approve_hours",
        value=12,
        actor=rf.SYSTEM,
        scope="category",
        scope_id=line.sku.product.category_id,
    )
    request = create()
    deadline = Deadline.objects.get(subject_id=request.pk, kind="returns.auto_approve")
    assert deadline.due_at == T0 + timedelta(hours=12)
    assert deadline.policy_value == 12


# -- R20: the merchant confirms receipt within 10 days of the ship-back --------------------------

DAY10_END = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 12-01 24:00 Shanghai


def _shipped_untracked(case):
    """Shipped back at T0 with a carrier that never reports a scan."""
    line, consumer, merchant, create = case
    request = create()
    with time_machine.travel(T0, tick=False):
        services.return_request_approve(request=request, actor=merchant)
        services.return_ship_back(
            request=request, actor=consumer, carrier="同城跑腿", tracking_number="PT-0001"
        )
    return request


def test_r20_untracked_return_has_a_pending_receipt_deadline(case):
    request = _shipped_untracked(case)
    pending = return_request_deadlines(request)
    assert [d.kind for d in pending] == ["returns.receipt_confirm"]
    assert pending[0].due_at == DAY10_END and citation("R20") in pending[0].description
    row = Deadline.objects.get(subject_id=request.pk, kind="returns.receipt_confirm")
    assert (row.policy_key, row.policy_value) == ("returns.receipt_confirm_days", 10)


def test_r20_platform_takes_it_as_received_and_refunds_at_the_end(case):
    _line, consumer, merchant, _create = case
    request = _shipped_untracked(case)
    sweep(DAY10_END - MINUTE)
    request.refresh_from_db()
    assert request.status == "return_shipped" and not Refund.objects.exists()
    sweep(DAY10_END)
    request.refresh_from_db()
    assert request.status == "refunding" and request.refund.amount == D("88.00")
    assert request.received_at == DAY10_END
    assert fired(request, "returns.receipt_confirm")
    assert DomainEvent.objects.filter(name="return.receipt_timeout", subject_id=request.pk).exists()
    assert Notification.objects.filter(event="return.receipt_timeout", user=consumer.user).exists()
    assert (
        not Deadline.objects.filter(subject_id=request.pk, state="pending")
        .exclude(kind="returns.receipt_confirm")
        .exists()
    )


def test_r20_merchant_confirming_in_time_cancels_it(case):
    _line, _consumer, merchant, _create = case
    request = _shipped_untracked(case)
    with time_machine.travel(DAY10_END - MINUTE, tick=False):
        services.return_receive(request=request, actor=merchant, intact=True)
    assert Deadline.objects.get(kind="returns.receipt_confirm").state == "cancelled"
    sweep(DAY10_END)
    request.refresh_from_db()
    assert request.status == "received" and not fired(request, "returns.receipt_confirm")


def test_r20_window_runs_3_days_past_the_latest_moving_scan(case):
    line, _consumer, _merchant, _create = case
    line.order.consumer.credit_score = 100  # no express refund (R12)
    line.order.consumer.save(update_fields=["credit_score"])
    request = _at_stage(case, "return_shipped", tracking="MOVE1")
    scan = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 12-01 10:00 Shanghai: day 10
    with time_machine.travel(scan, tick=False):
        services.return_parcel_scan_record(
            request=request, kind="in_transit", occurred_at=scan, actor=rf.SYSTEM
        )
    day13_end = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert Deadline.objects.get(kind="returns.receipt_confirm").due_at == day13_end
    sweep(DAY10_END)
    request.refresh_from_db()
    assert request.status == "return_shipped"
    sweep(day13_end - MINUTE)
    request.refresh_from_db()
    assert request.status == "return_shipped"
    sweep(day13_end)
    request.refresh_from_db()
    assert request.status == "refunding"


def test_r20_does_not_refund_again_after_an_express_refund(case):
    request = _at_stage(case, "return_shipped", tracking="EXP1")
    with time_machine.travel(T0, tick=False):
        services.return_parcel_scan_record(
            request=request, kind="picked_up", occurred_at=T0, actor=rf.SYSTEM
        )
    request.refresh_from_db()
    assert request.express
    sweep(DAY10_END)
    request.refresh_from_db()
    assert request.status == "return_shipped"  # R12 settles the parcel (clawback at day 15)
    assert Refund.objects.filter(request=request).count() == 1
