"""Celery tasks of orders: thin wrappers that take ids, ask the adapters' sandbox parties for
their answer and record it through services, as the real party's callback would."""

from celery import shared_task
from django.conf import settings
from django.db import transaction

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM

from .adapters import task_queue
from .adapters.carrier import SandboxCarrier, resubmit_stale_pickups
from .adapters.payment import SandboxPaymentGateway
from .adapters.payment import resubmit_stale_refunds as resubmit
from .models import GatewayRefund, GatewayTransfer, PickupBooking, Shipment
from .services import (
    gateway_refund_attempt_record,
    gateway_transfer_attempt_record,
    pickup_confirm,
    pickup_fail,
    sign_off_record,
    tracking_event_record,
)


def _sandbox_gateway_answer(task, row, record, resubmit):
    """The sandbox gateway answers one attempt of ``row`` (a pending gateway refund or
    transfer): ``record(row, **answer)`` stores it; on a timeout ``resubmit(gateway, pk, ...)``
    schedules the next attempt after commit, on the queue this task came from."""
    if row is None or row.status != row.Status.PENDING:
        return row.status if row is not None else None
    gateway = SandboxPaymentGateway()
    attempt, outcome, reason, gateway_ref = gateway.answer(row)
    row = record(row, outcome=outcome, reason=reason, gateway_ref=gateway_ref, actor=SYSTEM)
    if outcome == "retry":
        queue, pk = task_queue(task), row.pk
        transaction.on_commit(lambda: resubmit(gateway, pk, attempt=attempt, queue=queue))
    return row.status


@shared_task(name="orders.sandbox_refund_process", bind=True)
def sandbox_refund_process(self, refund_id):
    """The sandbox gateway answers one attempt of a refund; the next one is scheduled on a
    timeout."""
    return _sandbox_gateway_answer(
        self,
        GatewayRefund.objects.filter(pk=refund_id).first(),
        lambda refund, **answer: gateway_refund_attempt_record(refund=refund, **answer),
        lambda gateway, pk, **kw: gateway.submit_refund(pk, **kw),
    )


@shared_task(name="orders.sandbox_transfer_process", bind=True)
def sandbox_transfer_process(self, transfer_id):
    """The sandbox gateway answers one attempt of a charge, payout or deduction; the next one
    is scheduled on a timeout."""
    return _sandbox_gateway_answer(
        self,
        GatewayTransfer.objects.filter(pk=transfer_id).first(),
        lambda transfer, **answer: gateway_transfer_attempt_record(transfer=transfer, **answer),
        lambda gateway, pk, **kw: gateway.submit_transfer(pk, **kw),
    )


@shared_task(name="orders.sandbox_pickup_confirm")
def sandbox_pickup_confirm(booking_id):
    """The sandbox carrier answers a pickup booking."""
    booking = PickupBooking.objects.filter(pk=booking_id).first()
    if booking is None or booking.status != PickupBooking.Status.REQUESTED:
        return booking.status if booking is not None else None
    outcome, detail = SandboxCarrier().pickup_answer(booking)
    if outcome == "failed":
        booking = pickup_fail(booking=booking, reason=detail, actor=SYSTEM)
    else:
        booking = pickup_confirm(booking=booking, tracking_number=detail, actor=SYSTEM)
    return booking.status


@shared_task(name="orders.sandbox_journey_step", bind=True)
def sandbox_journey_step(self, shipment_id, step):
    """The sandbox carrier pushes tracking event number ``step`` (then, once signed, the
    sign-off) and schedules the next; returns the next step or None."""
    carrier = SandboxCarrier()
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
    if shipment is None or step >= len(carrier.JOURNEY) or shipment.status == "signed":
        return None
    event = carrier.journey_event(shipment, step)
    now = clock.now()
    tracking_event_record(shipment=shipment, occurred_at=now, actor=SYSTEM, **event)
    if event["kind"] == "exception":
        return None
    if event["kind"] == "signed":
        shipment.refresh_from_db()
        if not hasattr(shipment, "sign_off"):
            sign_off_record(shipment=shipment, actor=SYSTEM, **carrier.sign_off(shipment, now))
        return None
    next_step = step + 1
    queue = task_queue(self)
    transaction.on_commit(lambda: carrier.schedule_step(shipment_id, next_step, queue=queue))
    return next_step


@shared_task(name="orders.resubmit_stale_refunds")
def resubmit_stale_refunds():
    """Beat, every minute: resend refunds and transfers still pending after
    ``RESUBMIT_AFTER_SECONDS`` (a lost enqueue or a crashed worker's task)."""
    return resubmit(older_than_seconds=settings.RESUBMIT_AFTER_SECONDS)


@shared_task(name="orders.resubmit_stale_pickups")
def resubmit_stale_pickup_bookings():
    """Beat, every minute: resend pickup bookings still unanswered after
    ``RESUBMIT_AFTER_SECONDS`` (a lost send or a crashed worker's task)."""
    return resubmit_stale_pickups(older_than_seconds=settings.RESUBMIT_AFTER_SECONDS)
