"""The request's life after creation: approve, reject, cancel, ship back, pickup, receipt and
inspection (R5), dispute and arbitration (R19), exchange (R17, R18), override, evidence."""

from datetime import datetime, timedelta
from decimal import Decimal as D

import pytest
from django.test import override_settings

from aftersales import clock
from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.deadlines.models import Deadline
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.messaging.models import Notification
from aftersales.tenancy.actors import actor_for_user
from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as af
from aftersales.tests import uploads
from orders import services as order_services
from orders import tasks as order_tasks
from orders.models import PickupBooking
from orders.tests import factories as of
from returns import services, tasks
from returns.models import Arbitration, InspectionRequest, ReturnEvidence, ReturnRequest
from returns.tests import factories as rf
from returns.tests.conftest import settle_refunds

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), price="200.00", quantity=3)
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)

    def make(kind="return_refund", reason="no_reason", **kw):
        evidence = [rf.photo()] if reason not in ("no_reason", "changed_mind", "wrong_size") else ()
        return services.return_request_create(
            line=line, kind=kind, reason=reason, quantity=1, actor=consumer, evidence=evidence, **kw
        )

    return line, consumer, merchant, make


def events(name):
    return DomainEvent.objects.filter(name=name).count()


def test_approve_notifies_and_schedules_close(case):
    _line, consumer, merchant, make = case
    request = make()
    request = services.return_request_approve(request=request, actor=merchant)
    assert request.status == "approved" and request.approved_at is not None
    kinds = set(
        Deadline.objects.filter(subject_id=request.pk, state="pending").values_list(
            "kind", flat=True
        )
    )
    assert kinds == {"returns.close_unshipped", "returns.close_unshipped.reminder"}
    assert events("return.approved") == 1
    assert Notification.objects.filter(event="return.approved", user=consumer.user).exists()
    with pytest.raises(Conflict) as e:
        services.return_request_approve(request=request, actor=merchant)
    assert e.value.code == "invalid_status_transition"
    with pytest.raises(PermissionDenied):
        services.return_request_approve(request=make(), actor=consumer)
    stranger = rf.merchant_actor(af.MerchantFactory())
    with pytest.raises(NotFound):
        services.return_request_approve(request=request, actor=stranger)


def test_refund_only_approval_refunds_at_once(case):
    _line, _consumer, merchant, make = case
    request = services.return_request_approve(request=make(kind="refund_only"), actor=merchant)
    assert request.status == "refunding" and request.refund.amount == D("200.00")
    settle_refunds()
    request.refresh_from_db()
    assert request.status == "refunded"
    assert events("return.refunded") == 1


def test_reject_needs_a_reason_then_escalate_answer_inspect_decide(
    case, django_capture_on_commit_callbacks
):
    _line, consumer, merchant, make = case
    request = make()
    with pytest.raises(InvalidInput) as e:
        services.return_request_reject(request=request, actor=merchant, reason=" ")
    assert e.value.code == "reason_required"
    request = services.return_request_reject(
        request=request, actor=merchant, reason="商品已使用", evidence=[rf.photo("used.png")]
    )
    assert request.status == "rejected"
    assert not Deadline.objects.filter(subject_id=request.pk, state="pending").exists()
    with pytest.raises(PermissionDenied):
        services.return_escalate(request=request, actor=merchant, statement="x")
    arbitration = services.return_escalate(
        request=request, actor=consumer, statement="未使用，吊牌完好", evidence=[rf.photo()]
    )
    request.refresh_from_db()
    assert request.status == "arbitration" and request.escalated_at is not None
    services.arbitration_answer(request=request, actor=merchant, statement="有使用痕迹")
    arbitration.refresh_from_db()
    assert arbitration.merchant_statement == "有使用痕迹"
    with pytest.raises(PermissionDenied):
        services.arbitration_decide(request=request, actor=merchant, decision="reject", reason="x")
    agent = actor_for_user(af.platform_user(PlatformGroup.AGENT))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        inspection = services.arbitration_inspection_request(request=request, actor=agent)
    assert len(callbacks) == 1 and inspection.status == "requested"
    arbitration.refresh_from_db()
    assert arbitration.status == "inspecting"
    assert tasks.sandbox_inspection_process(inspection.pk) == "reported"
    inspection.refresh_from_db()
    arbitration.refresh_from_db()
    assert (inspection.result, arbitration.status) == ("intact", "open")
    assert ReturnEvidence.objects.filter(request=request, party="inspector").count() == 1
    services.arbitration_decide(
        request=request, actor=agent, decision="refund_partial", amount="150.00", reason="部分支持"
    )
    request.refresh_from_db()
    arbitration.refresh_from_db()
    assert (arbitration.status, arbitration.decision) == ("decided", "refund_partial")
    assert request.status == "refunding" and request.refund.amount == D("150.00")
    with pytest.raises(Conflict):
        services.arbitration_decide(request=request, actor=agent, decision="reject", reason="x")


def test_arbitration_reject_closes(case):
    _line, consumer, merchant, make = case
    request = services.return_request_reject(request=make(), actor=merchant, reason="超出范围")
    services.return_escalate(request=request, actor=consumer, statement="请平台处理")
    services.arbitration_answer(request=request, actor=merchant, statement="已超出范围")
    agent = rf.SYSTEM
    services.arbitration_decide(request=request, actor=agent, decision="reject", reason="证据不足")
    request.refresh_from_db()
    assert request.status == "closed"


@override_settings(SANDBOX_INSPECTION_FAIL="always", SANDBOX_INSPECTION_MAX_ATTEMPTS=2)
def test_inspection_fails_after_retries_and_reopens(case):
    _line, consumer, merchant, make = case
    request = services.return_request_reject(request=make(), actor=merchant, reason="no")
    services.return_escalate(request=request, actor=consumer, statement="请平台处理")
    inspection = services.arbitration_inspection_request(request=request, actor=rf.SYSTEM)
    assert tasks.sandbox_inspection_process(inspection.pk) == "requested"
    assert tasks.sandbox_inspection_process(inspection.pk) == "failed"
    assert Arbitration.objects.get().status == "open"
    assert InspectionRequest.objects.get().attempts == 2


def test_receive_not_intact_needs_evidence_and_disputes(case):
    _line, consumer, merchant, make = case
    request = services.return_request_approve(request=make(), actor=merchant)
    services.return_ship_back(request=request, actor=consumer, carrier="SF", tracking_number="T1")
    with pytest.raises(RuleViolation) as e:
        services.return_receive(request=request, actor=merchant, intact=False, note="破损")
    assert e.value.code == "evidence_required"
    request = services.return_receive(
        request=request, actor=merchant, intact=False, note="屏幕破损", evidence=[rf.photo()]
    )
    assert request.status == "disputed" and request.inspection_intact is False
    assert not Deadline.objects.filter(
        subject_id=request.pk, kind="returns.refund_after_receipt", state="pending"
    ).exists()
    services.return_escalate(request=request, actor=consumer, statement="寄出时完好")
    inspection = services.arbitration_inspection_request(request=request, actor=rf.SYSTEM)
    tasks.sandbox_inspection_process(inspection.pk)
    inspection.refresh_from_db()
    assert inspection.result == "not_intact"


def test_receive_intact_schedules_r6_and_refund_settles(case):
    _line, consumer, merchant, make = case
    request = services.return_request_approve(request=make(), actor=merchant)
    request = services.return_ship_back(
        request=request, actor=consumer, carrier="SF", tracking_number="T2"
    )
    assert not Deadline.objects.filter(
        subject_id=request.pk, kind="returns.close_unshipped", state="pending"
    ).exists()
    with pytest.raises(Conflict):
        services.return_refund(request=request, actor=merchant)
    request = services.return_receive(request=request, actor=merchant, intact=True, note="完好")
    assert Deadline.objects.filter(
        subject_id=request.pk, kind="returns.refund_after_receipt", state="pending"
    ).exists()
    refund = services.return_refund(request=request, actor=merchant)
    assert not Deadline.objects.filter(subject_id=request.pk, state="pending").exists()
    settle_refunds()
    refund.refresh_from_db()
    assert refund.status == "succeeded"


def test_cancel_while_open_only(case):
    _line, consumer, merchant, make = case
    request = make()
    with pytest.raises(PermissionDenied):
        services.return_request_cancel(request=request, actor=merchant)
    request = services.return_request_cancel(request=request, actor=consumer, reason="不退了")
    assert request.status == "cancelled"
    assert not Deadline.objects.filter(subject_id=request.pk, state="pending").exists()
    other = services.return_request_approve(request=make(), actor=merchant)
    services.return_ship_back(request=other, actor=consumer, carrier="SF", tracking_number="T3")
    with pytest.raises(Conflict) as e:
        services.return_request_cancel(request=other, actor=consumer)
    assert e.value.code == "return_not_cancellable"


def test_ship_back_validates_and_refund_only_has_no_parcel(case):
    line, consumer, merchant, make = case
    request = services.return_request_approve(request=make(), actor=merchant)
    with pytest.raises(InvalidInput):
        services.return_ship_back(request=request, actor=consumer, carrier="SF", tracking_number="")
    services.return_ship_back(request=request, actor=consumer, carrier="SF", tracking_number="DUP")
    second = services.return_request_approve(request=make(), actor=merchant)
    with pytest.raises(Conflict) as e:
        services.return_ship_back(
            request=second, actor=consumer, carrier="SF", tracking_number="DUP"
        )
    assert e.value.code == "tracking_number_taken"


def test_pickup_booked_then_confirmed_ships_back(case, django_capture_on_commit_callbacks):
    _line, consumer, merchant, make = case
    request = services.return_request_approve(request=make(), actor=merchant)
    tomorrow = clock.local(clock.now() + timedelta(days=1)).replace(hour=10, minute=0)
    with pytest.raises(Conflict):
        services.return_pickup_book(
            request=make(), actor=consumer, slot_start=tomorrow, slot_end=tomorrow
        )
    booking = services.return_pickup_book(
        request=request,
        actor=consumer,
        slot_start=tomorrow,
        slot_end=tomorrow + timedelta(hours=2),
    )
    assert booking.subject_type == "returns.returnrequest" and booking.contact_name == "张三丰"
    with pytest.raises(Conflict) as e:
        services.return_pickup_book(
            request=request,
            actor=consumer,
            slot_start=tomorrow,
            slot_end=tomorrow + timedelta(hours=2),
        )
    assert e.value.code == "pickup_already_booked"
    order_tasks.sandbox_pickup_confirm(booking.pk)
    request.refresh_from_db()
    assert request.status == "return_shipped"
    assert request.return_tracking_number == f"SBX{booking.pk:010d}"


def test_r17_high_value_return_pickup_is_insured_for_the_units_value():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), price="6000.00", quantity=2)
    consumer = rf.consumer_actor(line.order.consumer)
    request = services.return_request_create(
        line=line, kind="return_refund", reason="no_reason", quantity=1, actor=consumer
    )
    assert request.insured
    services.return_request_approve(request=request, actor=rf.merchant_actor(line.order.merchant))
    tomorrow = clock.local(clock.now() + timedelta(days=1)).replace(hour=10, minute=0)
    booking = services.return_pickup_book(
        request=request, actor=consumer, slot_start=tomorrow, slot_end=tomorrow + timedelta(hours=2)
    )
    assert (booking.insured, booking.declared_value) == (True, D("6000.00"))
    order_tasks.sandbox_pickup_confirm(booking.pk)
    request.refresh_from_db()
    assert request.return_tracking_number.startswith("SBXV")  # the carrier took it insured


def test_pickup_of_an_ordinary_return_is_not_insured(case):
    _line, consumer, merchant, make = case
    request = services.return_request_approve(request=make(), actor=merchant)
    tomorrow = clock.local(clock.now() + timedelta(days=1)).replace(hour=10, minute=0)
    booking = services.return_pickup_book(
        request=request, actor=consumer, slot_start=tomorrow, slot_end=tomorrow + timedelta(hours=2)
    )
    assert (booking.insured, booking.declared_value) == (False, None)


def test_pickup_refused_slot_asks_to_book_again(case):
    _line, consumer, merchant, make = case
    request = services.return_request_approve(request=make(), actor=merchant)
    night = clock.local(clock.now() + timedelta(days=1)).replace(hour=22, minute=0)
    booking = services.return_pickup_book(
        request=request, actor=consumer, slot_start=night, slot_end=night + timedelta(hours=1)
    )
    order_tasks.sandbox_pickup_confirm(booking.pk)
    request.refresh_from_db()
    assert request.status == "approved"
    assert Notification.objects.filter(event="return.pickup_failed").exists()
    booking = services.return_pickup_book(
        request=request,
        actor=consumer,
        slot_start=night.replace(hour=9),
        slot_end=night.replace(hour=11),
    )
    assert booking.request_id == f"rr-{request.pk}-pickup-2"


def test_pickup_chosen_at_request_is_booked_on_approval(case):
    _line, _consumer, merchant, make = case
    slot = clock.local(clock.now() + timedelta(days=2)).replace(hour=9, minute=0)
    request = make(pickup={"slot_start": slot, "slot_end": slot + timedelta(hours=2)})
    request = services.return_request_approve(request=request, actor=merchant)
    assert PickupBooking.objects.get().pk == request.pickup_id


def test_scan_signed_receives_and_exchange_ships_insured_replacement():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), price="6000.00")
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    cheaper = of.SkuFactory(product=line.sku.product, price=D("5500.00"), stock=2)
    request = services.return_request_create(
        line=line,
        kind="spec_exchange",
        reason="wrong_size",
        quantity=1,
        actor=consumer,
        exchange_sku=cheaper,
    )
    assert request.price_difference == D("-500.00") and request.insured
    services.return_request_approve(request=request, actor=merchant)
    services.return_ship_back(request=request, actor=consumer, carrier="SF", tracking_number="X1")
    request = services.return_parcel_scan_record(
        request=request, kind="signed", occurred_at=clock.now(), actor=rf.SYSTEM
    )
    assert request.status == "received" and request.return_signed_at is not None
    # an exchange has no R6 refund deadline
    assert not Deadline.objects.filter(subject_id=request.pk, state="pending").exists()
    services.return_receive(request=request, actor=merchant, intact=True)
    request = services.exchange_ship(
        request=request, actor=merchant, carrier="SF", tracking_number="SFNEW1"
    )
    assert request.status == "exchange_shipped"
    shipment = request.replacement_shipment
    assert shipment.purpose == "replacement" and shipment.insured
    cheaper.refresh_from_db()
    assert cheaper.stock == 1
    assert request.refund.amount == D("500.00")  # R18: the difference is refunded
    order_services.tracking_event_record(
        shipment=shipment, kind="signed", occurred_at=clock.now(), actor=rf.SYSTEM
    )
    request.refresh_from_db()
    assert request.status == "completed"


def test_override_records_reason_and_starts_refund(case):
    _line, _consumer, merchant, make = case
    request = make()
    with pytest.raises(NotFound):
        services.return_override(
            request=request,
            to_status="closed",
            reason="x",
            actor=rf.merchant_actor(af.MerchantFactory()),
        )
    with pytest.raises(PermissionDenied):
        services.return_override(request=request, to_status="closed", reason="x", actor=merchant)
    request = services.return_override(
        request=request, to_status="refunding", reason="客服核实后直接退款", actor=rf.SYSTEM
    )
    assert request.status == "refunding" and request.refund.amount == D("200.00")
    event = TimelineEvent.objects.get(subject_id=request.pk, verb="return.overridden")
    assert (event.from_status, event.to_status, event.reason) == (
        "requested",
        "refunding",
        "客服核实后直接退款",
    )


def test_evidence_add_by_each_party(case):
    _line, consumer, merchant, make = case
    request = make()
    services.evidence_add(request=request, actor=consumer, evidence=[rf.photo()], note="补充")
    services.evidence_add(
        request=request, actor=merchant, evidence=[{"file": uploads.pdf("r.pdf"), "kind": "report"}]
    )
    parties = list(request.evidence.values_list("party", "kind"))
    assert parties == [("consumer", "photo"), ("merchant", "report")]
    with pytest.raises(NotFound):
        services.evidence_add(
            request=request, actor=rf.consumer_actor(af.ConsumerFactory()), evidence=[rf.photo()]
        )


def test_warranty_request_starts_approved():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=100), price="3000.00")
    request = services.return_request_create_from_warranty(
        line=line,
        kind="return_refund",
        amount="2730.00",
        rule="G8",
        explanation="三包退货折旧 ¥270",
        actor=rf.SYSTEM,
    )
    assert (request.status, request.origin, request.rule, request.amount) == (
        "approved",
        "warranty",
        "G8",
        D("2730.00"),
    )
    assert Deadline.objects.filter(subject_id=request.pk, kind="returns.close_unshipped").exists()
    with pytest.raises(RuleViolation) as e:
        services.return_request_create_from_warranty(
            line=line, kind="exchange", amount="1", rule="G4", explanation="", actor=rf.SYSTEM
        )
    assert e.value.code == "quantity_exhausted" or e.value.code == "quantity_exceeds_refundable"
    with pytest.raises(PermissionDenied):
        services.return_request_create_from_warranty(
            line=line,
            kind="exchange",
            amount="1",
            rule="G4",
            explanation="",
            actor=rf.consumer_actor(line.order.consumer),
        )
    assert ReturnRequest.objects.count() == 1


def test_refusals_of_the_wrong_step(case):
    _line, consumer, merchant, make = case
    request = make()
    with pytest.raises(Conflict) as e:
        services.return_escalate(request=request, actor=consumer, statement="太慢")
    assert e.value.code == "invalid_status_transition"
    with pytest.raises(Conflict) as e:
        services.exchange_ship(request=request, actor=merchant, carrier="SF", tracking_number="Z")
    assert e.value.code == "not_an_exchange"
    with pytest.raises(Conflict) as e:
        services.return_receive(request=request, actor=merchant, intact=True)
    assert e.value.code == "invalid_status_transition"
    with pytest.raises(Conflict) as e:
        services.arbitration_answer(request=request, actor=merchant, statement="x")
    assert e.value.code == "no_arbitration"
    with pytest.raises(InvalidInput):
        services.return_override(request=request, to_status="nowhere", reason="x", actor=rf.SYSTEM)
    refund_only = services.return_request_approve(request=make(kind="refund_only"), actor=merchant)
    with pytest.raises(Conflict) as e:
        services.return_ship_back(
            request=refund_only, actor=consumer, carrier="SF", tracking_number="Q"
        )
    assert e.value.code == "no_return_parcel"


# -- R21: the merchant's answer window --------------------------------------------------------


def test_r21_platform_decides_only_after_the_answer_window(case):
    """Escalated 2026-12-21 00:30 Shanghai (12-20 in UTC): the merchant answers until 12-24
    24:00 Shanghai (= 12-24 16:00 UTC); the platform may not decide before, and may from then."""
    import time_machine

    from aftersales.deadlines.engine import deadline_sweep

    _line, consumer, merchant, make = case
    escalated = datetime(2026, 12, 21, 0, 30, tzinfo=clock.SHANGHAI)
    due = datetime(2026, 12, 25, 0, 0, tzinfo=clock.SHANGHAI)
    request = services.return_request_reject(request=make(), actor=merchant, reason="no")
    with time_machine.travel(escalated, tick=False):
        arbitration = services.return_escalate(request=request, actor=consumer, statement="请处理")
    assert arbitration.answer_due_at == due
    pending = Deadline.objects.get(subject_id=request.pk, kind="returns.arbitration_answer")
    assert pending.due_at == due and pending.policy_key == "returns.arbitration_answer_days"
    assert Notification.objects.filter(
        event="return.escalated", user=consumer.user, body__contains="2026-12-24 24:00"
    ).exists()
    with time_machine.travel(due - timedelta(microseconds=1), tick=False):
        with pytest.raises(Conflict) as err:
            services.arbitration_decide(
                request=request, actor=rf.SYSTEM, decision="reject", reason="x"
            )
    assert err.value.code == "arbitration_answer_pending"
    assert datetime.fromisoformat(err.value.fields["answer_due_at"]) == due
    with time_machine.travel(due, tick=False):
        deadline_sweep()
    assert TimelineEvent.objects.filter(
        subject_id=request.pk, verb="return.arbitration_answer_overdue"
    ).exists()
    with time_machine.travel(due, tick=False):
        decided = services.arbitration_decide(
            request=request, actor=rf.SYSTEM, decision="reject", reason="商家未答辩，证据不足"
        )
    assert decided.status == "decided"


def test_r21_the_merchants_answer_opens_the_decision_at_once(case):
    _line, consumer, merchant, make = case
    request = services.return_request_reject(request=make(), actor=merchant, reason="no")
    services.return_escalate(request=request, actor=consumer, statement="请处理")
    with pytest.raises(Conflict):
        services.arbitration_decide(request=request, actor=rf.SYSTEM, decision="reject", reason="x")
    services.arbitration_answer(request=request, actor=merchant, statement="商品已使用")
    assert (
        Deadline.objects.get(subject_id=request.pk, kind="returns.arbitration_answer").state
        == "cancelled"
    )
    decided = services.arbitration_decide(
        request=request, actor=rf.SYSTEM, decision="refund_full", reason="支持消费者"
    )
    assert decided.status == "decided"
