"""Celery tasks of orders: thin wrappers that take ids and call the adapters' sandbox parties."""

from celery import shared_task
from django.db import transaction


def _queue_of(task):
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or None


@shared_task(name="orders.sandbox_refund_process", bind=True)
def sandbox_refund_process(self, refund_id):
    """The sandbox gateway answers one attempt of a refund."""
    from .adapters.payment import SandboxPaymentGateway

    refund = SandboxPaymentGateway().process(refund_id, queue=_queue_of(self))
    return refund.status if refund is not None else None


@shared_task(name="orders.sandbox_transfer_process", bind=True)
def sandbox_transfer_process(self, transfer_id):
    """The sandbox gateway answers one attempt of a charge or payout."""
    from .adapters.payment import SandboxPaymentGateway

    transfer = SandboxPaymentGateway().process_transfer(transfer_id, queue=_queue_of(self))
    return transfer.status if transfer is not None else None


@shared_task(name="orders.sandbox_pickup_confirm")
def sandbox_pickup_confirm(booking_id):
    """The sandbox carrier answers a pickup booking."""
    from .adapters.carrier import SandboxCarrier

    booking = SandboxCarrier().answer_pickup(booking_id)
    return booking.status if booking is not None else None


@shared_task(name="orders.sandbox_journey_step", bind=True)
def sandbox_journey_step(self, shipment_id, step):
    """The sandbox carrier pushes one tracking event and schedules the next."""
    from .adapters.carrier import SandboxCarrier

    carrier = SandboxCarrier()
    next_step = carrier.journey_step(shipment_id, step)
    if next_step is not None:
        queue = _queue_of(self)
        transaction.on_commit(lambda: carrier.schedule_step(shipment_id, next_step, queue=queue))
    return next_step


@shared_task(name="orders.resubmit_stale_refunds")
def resubmit_stale_refunds():
    """Beat: resend refunds still pending after five minutes (a lost enqueue)."""
    from .adapters.payment import resubmit_stale_refunds as resubmit

    return resubmit(older_than_seconds=300)
