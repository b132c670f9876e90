from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import override_settings

from aftersales import clock
from aftersales.casefile.models import DomainEvent
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests import factories as af
from orders import services, tasks
from orders.adapters import get_carrier, get_payment_gateway
from orders.adapters.carrier import SandboxCarrier
from orders.adapters.payment import SandboxPaymentGateway, resubmit_stale_refunds
from orders.models import GatewayRefund, Shipment, Tender
from orders.tests import factories as of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tender():
    order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory(), prices=("100.00",))
    return Tender.objects.get(payment__order=order)


def test_adapters_chosen_by_setting():
    assert isinstance(get_payment_gateway(), SandboxPaymentGateway)
    assert isinstance(get_carrier(), SandboxCarrier)
    with override_settings(PAYMENT_GATEWAY="orders.tests.test_adapters.RecordingGateway"):
        assert isinstance(get_payment_gateway(), RecordingGateway)


class RecordingGateway(SandboxPaymentGateway):
    name = "recording"
    submitted = []

    def submit_refund(self, refund_id, **kwargs):
        self.submitted.append(refund_id)


def test_refund_request_is_idempotent_and_bounded(tender, django_capture_on_commit_callbacks):
    with override_settings(PAYMENT_GATEWAY="orders.tests.test_adapters.RecordingGateway"):
        RecordingGateway.submitted.clear()
        with django_capture_on_commit_callbacks(execute=True):
            refund = services.gateway_refund_request(
                tender=tender, amount=D("60.00"), request_id="r-1", actor=SYSTEM
            )
        assert refund.status == "pending" and refund.gateway == "recording"
        assert RecordingGateway.submitted == [refund.pk]
        same = services.gateway_refund_request(
            tender=tender, amount=D("60.00"), request_id="r-1", actor=SYSTEM
        )
        assert same.pk == refund.pk
        with pytest.raises(Conflict) as e:
            services.gateway_refund_request(
                tender=tender, amount=D("10.00"), request_id="r-1", actor=SYSTEM
            )
        assert e.value.code == "refund_request_id_reused"
        # 60 pending + 41 would exceed the 100 the card paid
        with pytest.raises(RuleViolation) as e:
            services.gateway_refund_request(
                tender=tender, amount=D("41.00"), request_id="r-2", actor=SYSTEM
            )
        assert e.value.code == "refund_exceeds_tender"
    tender.refresh_from_db()
    assert tender.refunded_amount == D("0.00")  # nothing refunded until the gateway answers


def test_refunds_requested_together_in_a_fixed_number_of_statements(
    django_capture_on_commit_callbacks,
):
    """``gateway_refunds_request``: several tenders at once, each checked against what it paid
    less what is pending (the batch's own requests included), a known request id answered with
    its refund; one lock, one lookup, one insert whatever the number of tenders."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory(), prices=("100.00",))
    card = Tender.objects.get(payment__order=order)
    card.amount = D("70.00")
    card.save(update_fields=["amount"])
    balance = of.TenderFactory(payment=card.payment, kind="balance", amount=D("30.00"))
    earlier = services.gateway_refund_request(
        tender=card, amount=D("20.00"), request_id="r-0", actor=SYSTEM
    )
    asked = [(card, "20.00", "r-0"), (card, "50.00", "r-1"), (balance, "10.00", "r-2")]
    with CaptureQueriesContext(connection) as ctx:
        refunds = services.gateway_refunds_request(refunds=asked, actor=SYSTEM, reason="x")
    writes = [q for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # tenders locked, their pending refunds read, request ids, refunds, timeline events
    assert len(writes) == 5
    assert refunds[0].pk == earlier.pk
    assert [(r.tender_id, r.amount, r.status) for r in refunds[1:]] == [
        (card.pk, D("50.00"), "pending"),
        (balance.pk, D("10.00"), "pending"),
    ]
    # 10 pending on the balance, 10 + 10.01 more in one batch: the second exceeds the 30
    with pytest.raises(RuleViolation) as e:
        services.gateway_refunds_request(
            refunds=[(balance, "10.00", "r-3"), (balance, "10.01", "r-4")], actor=SYSTEM
        )
    assert e.value.code == "refund_exceeds_tender"
    assert not GatewayRefund.objects.filter(request_id="r-3").exists()
    with transaction.atomic():
        locked = list(services.tenders_for_refund(order.pk))
        assert [t.pending_refunds for t in locked] == [D("70.00"), D("10.00")]
        with CaptureQueriesContext(connection) as ctx:
            services.gateway_refunds_request(
                refunds=[(locked[1], "20.00", "r-5")], actor=SYSTEM, locked=True
            )
        assert not any("FOR UPDATE" in q["sql"] for q in ctx.captured_queries)
        assert not any(q["sql"].startswith("SAVEPOINT") for q in ctx.captured_queries)


def test_sandbox_refund_succeeds(tender):
    refund = services.gateway_refund_request(
        tender=tender, amount=D("30.00"), request_id="ok", actor=SYSTEM
    )
    assert tasks.sandbox_refund_process(refund.pk) == "succeeded"
    refund.refresh_from_db()
    tender.refresh_from_db()
    assert refund.attempts == 1 and refund.gateway_ref.startswith("SBXR")
    assert refund.settled_at is not None
    assert tender.refunded_amount == D("30.00")
    event = DomainEvent.objects.get(name="refund.succeeded")
    assert event.payload["request_id"] == "ok" and event.payload["amount"] == "30.00"
    # a repeated delivery of the task changes nothing
    assert tasks.sandbox_refund_process(refund.pk) == "succeeded"
    tender.refresh_from_db()
    assert tender.refunded_amount == D("30.00")


def test_sandbox_refund_declined(tender):
    refund = services.gateway_refund_request(
        tender=tender, amount=D("10.44"), request_id="no", actor=SYSTEM
    )
    assert tasks.sandbox_refund_process(refund.pk) == "failed"
    refund.refresh_from_db()
    tender.refresh_from_db()
    assert refund.failure_reason == "account_closed" and tender.refunded_amount == 0
    assert DomainEvent.objects.filter(name="refund.failed").count() == 1


def test_sandbox_refund_retries_then_succeeds(tender, django_capture_on_commit_callbacks):
    refund = services.gateway_refund_request(
        tender=tender, amount=D("10.43"), request_id="slow", actor=SYSTEM
    )
    assert tasks.sandbox_refund_process(refund.pk) == "pending"
    assert tasks.sandbox_refund_process(refund.pk) == "pending"
    refund.refresh_from_db()
    assert refund.attempts == 2 and refund.last_error == "gateway_timeout"
    assert tasks.sandbox_refund_process(refund.pk) == "succeeded"
    tender.refresh_from_db()
    assert tender.refunded_amount == D("10.43")


@override_settings(SANDBOX_PAYMENT_FAIL="always", SANDBOX_PAYMENT_MAX_ATTEMPTS=3)
def test_sandbox_refund_gives_up_after_max_attempts(tender):
    refund = services.gateway_refund_request(
        tender=tender, amount=D("5.00"), request_id="down", actor=SYSTEM
    )
    results = [tasks.sandbox_refund_process(refund.pk) for _ in range(3)]
    assert results == ["pending", "pending", "failed"]
    refund.refresh_from_db()
    assert refund.attempts == 3 and refund.failure_reason == "gateway_timeout"


def test_refund_success_never_exceeds_tender(tender):
    refund = services.gateway_refund_request(
        tender=tender, amount=D("100.00"), request_id="all", actor=SYSTEM
    )
    # the tender was refunded elsewhere meanwhile: success would exceed it
    Tender.objects.filter(pk=tender.pk).update(refunded_amount=D("1.00"))
    services.gateway_refund_attempt_record(refund=refund, outcome="succeeded")
    refund.refresh_from_db()
    tender.refresh_from_db()
    assert refund.status == "failed" and refund.failure_reason == "exceeds_tender"
    assert tender.refunded_amount == D("1.00")


def test_sandbox_journey_pushes_realistic_events(django_capture_on_commit_callbacks):
    order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory(), prices=("8000.00",))
    shipment = services.shipment_create(
        line=order.lines.get(),
        carrier="SANDBOX",
        tracking_number="SBX1",
        actor=SYSTEM,
        shipped_at=clock.now() - timedelta(minutes=1),
    )
    step = 0
    while step is not None:
        step = tasks.sandbox_journey_step(shipment.pk, step)
    shipment.refresh_from_db()
    kinds = list(shipment.events.values_list("kind", flat=True))
    assert kinds == ["picked_up", "in_transit", "in_transit", "out_for_delivery", "signed"]
    assert all(shipment.events.values_list("location", flat=True))
    assert shipment.status == "signed" and shipment.sign_off.has_e_signature
    order.refresh_from_db()
    assert order.status == "delivered"
    # a repeated step (redelivered task) is deduplicated by the carrier event id
    tasks.sandbox_journey_step(shipment.pk, 1)
    assert shipment.events.count() == 5


def test_sandbox_journey_task_and_exception_trigger(django_capture_on_commit_callbacks):
    order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory())
    shipment = services.shipment_create(
        line=order.lines.get(),
        carrier="SANDBOX",
        tracking_number="SBX2EX",
        actor=SYSTEM,
        shipped_at=clock.now() - timedelta(minutes=1),
    )
    assert tasks.sandbox_journey_step(shipment.pk, 0) == 1
    assert tasks.sandbox_journey_step(shipment.pk, 1) == 2
    assert tasks.sandbox_journey_step(shipment.pk, 2) is None
    assert Shipment.objects.get(pk=shipment.pk).status == "exception"


def test_sandbox_pickup_booking():
    tomorrow = clock.local(clock.now() + timedelta(days=1)).replace(hour=10, minute=0)
    contact = {
        "name": "张三",
        "phone": "13812345678",
        "province": "上海市",
        "city": "上海市",
        "street": "世纪大道100号",
    }
    booking = services.pickup_book(
        request_id="pk-1",
        slot_start=tomorrow,
        slot_end=tomorrow + timedelta(hours=2),
        contact=contact,
        actor=SYSTEM,
    )
    assert (
        services.pickup_book(
            request_id="pk-1",
            slot_start=tomorrow,
            slot_end=tomorrow + timedelta(hours=2),
            contact=contact,
            actor=SYSTEM,
        ).pk
        == booking.pk
    )
    assert tasks.sandbox_pickup_confirm(booking.pk) == "confirmed"
    booking.refresh_from_db()
    assert (
        booking.tracking_number.startswith("SBX") and booking.masked_contact_phone == "138******78"
    )
    night = tomorrow.replace(hour=22)
    late = services.pickup_book(
        request_id="pk-2",
        slot_start=night,
        slot_end=night + timedelta(hours=1),
        contact=contact,
        actor=SYSTEM,
    )
    assert tasks.sandbox_pickup_confirm(late.pk) == "failed"
    assert DomainEvent.objects.filter(name="pickup.failed").exists()
    assert GatewayRefund.objects.count() == 0


def test_insured_pickup_carries_the_declared_value_to_the_carrier():
    """R17: the carrier's pickup order names the insurance and the declared value."""
    from orders.models import PickupBooking

    tomorrow = clock.local(clock.now() + timedelta(days=1)).replace(hour=10, minute=0)
    contact = {"name": "张三", "phone": "13812345678", "province": "上海市", "city": "上海市"}
    with pytest.raises(InvalidInput) as err:
        services.pickup_book(
            request_id="ins-0",
            slot_start=tomorrow,
            slot_end=tomorrow + timedelta(hours=2),
            contact=contact,
            actor=SYSTEM,
            insured=True,
        )
    assert err.value.code == "declared_value_required"
    booking = services.pickup_book(
        request_id="ins-1",
        slot_start=tomorrow,
        slot_end=tomorrow + timedelta(hours=2),
        contact=contact,
        actor=SYSTEM,
        insured=True,
        declared_value="5999.00",
    )
    order = SandboxCarrier().pickup_request(booking)
    assert (order["insured"], order["declared_value"]) == (True, "5999.00")
    assert tasks.sandbox_pickup_confirm(booking.pk) == "confirmed"
    booking.refresh_from_db()
    assert booking.tracking_number.startswith("SBXV")
    # a booking that lost its value (an old row) is refused by the carrier, not sent uninsured
    PickupBooking.objects.filter(pk=booking.pk).update(status="requested", declared_value=None)
    booking.refresh_from_db()
    assert SandboxCarrier().pickup_answer(booking) == ("failed", "declared_value_required")
    plain = services.pickup_book(
        request_id="ins-2",
        slot_start=tomorrow,
        slot_end=tomorrow + timedelta(hours=2),
        contact=contact,
        actor=SYSTEM,
    )
    assert SandboxCarrier().pickup_request(plain)["insured"] is False


def test_stale_pending_refunds_are_resubmitted(tender):
    with override_settings(PAYMENT_GATEWAY="orders.tests.test_adapters.RecordingGateway"):
        RecordingGateway.submitted.clear()
        refund = services.gateway_refund_request(
            tender=tender, amount=D("5.00"), request_id="lost", actor=SYSTEM
        )
        assert resubmit_stale_refunds(older_than_seconds=300) == 0
        GatewayRefund.objects.filter(pk=refund.pk).update(
            requested_at=clock.now() - timedelta(minutes=10)
        )
        assert resubmit_stale_refunds(older_than_seconds=300) == 1
        assert RecordingGateway.submitted == [refund.pk]


def test_carrier_push_tracking_batch_is_idempotent():
    order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory())
    shipment = services.shipment_create(
        line=order.lines.get(),
        carrier="YTO",
        tracking_number="YT1",
        actor=SYSTEM,
        shipped_at=clock.now() - timedelta(hours=5),
    )
    now = clock.now()
    events = [
        {
            "kind": "in_transit",
            "occurred_at": now - timedelta(hours=2),
            "location": "杭州",
            "external_id": "y2",
        },
        {
            "kind": "picked_up",
            "occurred_at": now - timedelta(hours=4),
            "location": "上海",
            "external_id": "y1",
        },
    ]
    assert services.tracking_events_push(shipment=shipment, events=events, actor=SYSTEM) == 2
    assert services.tracking_events_push(shipment=shipment, events=events, actor=SYSTEM) == 0
    shipment.refresh_from_db()
    assert shipment.status == "in_transit"


@pytest.mark.django_db(transaction=True)
def test_pending_refunds_are_read_after_the_tender_lock_is_held():
    """R7 under concurrency: a refund request that waits for another's tender lock sees the
    refund the other committed meanwhile (its sums are read after the lock, in a statement of
    their own), so pending plus refunded never exceed what the tender paid."""
    import threading

    from django.db import connection, transaction

    order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory(), prices=("100.00",))
    tender = Tender.objects.get(payment__order=order)
    holding, seen = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                list(services.tenders_for_refund(order.pk))
                holding.set()
                services.gateway_refund_request(
                    tender=tender, amount="60.00", request_id="c-1", actor=SYSTEM
                )
                threading.Event().wait(0.5)  # the second asks meanwhile and waits
        finally:
            connection.close()

    def second():
        try:
            holding.wait(10)
            with transaction.atomic():
                (locked,) = services.tenders_for_refund(order.pk)
                seen["pending"] = locked.pending_refunds
                try:
                    services.gateway_refunds_request(
                        refunds=[(locked, "60.00", "c-2")], actor=SYSTEM, locked=True
                    )
                except RuleViolation as e:
                    seen["refused"] = e.code
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen == {"pending": D("60.00"), "refused": "refund_exceeds_tender"}
    assert list(GatewayRefund.objects.values_list("request_id", flat=True)) == ["c-1"]
