"""Celery tasks of returns: thin wrappers that take ids and call a service or a sandbox party."""

from celery import shared_task
from django.db import transaction


def _queue_of(task):
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or None


@shared_task(name="returns.sandbox_inspection_process", bind=True)
def sandbox_inspection_process(self, inspection_id):
    """The sandbox inspector answers one attempt of an inspection."""
    from .adapters.inspection import SandboxInspectionProvider

    inspection = SandboxInspectionProvider().process(inspection_id, queue=_queue_of(self))
    return inspection.status if inspection is not None else None


@shared_task(name="returns.sandbox_return_step", bind=True)
def sandbox_return_step(self, request_id, step):
    """The sandbox carrier scans a return parcel once and schedules the next scan."""
    from .adapters.carrier import SandboxReturnJourney

    journey = SandboxReturnJourney()
    next_step = journey.step(request_id, step)
    if next_step is not None:
        queue = _queue_of(self)
        transaction.on_commit(lambda: journey.schedule_step(request_id, next_step, queue=queue))
    return next_step


@shared_task(name="returns.retry_failed_refunds")
def retry_failed_refunds():
    """Beat: ask the gateway again for refunds that failed (in part), a few times each, and
    for failed payouts of shipping reimbursements and exchange price differences given back."""
    from .services import refunds_retry_failed
    from .services.payments import extra_payouts_retry_failed

    return refunds_retry_failed() + extra_payouts_retry_failed()
