"""Celery tasks of returns: thin wrappers that take ids and call a service, or ask a sandbox
party for its answer and record it through services, as the real party's callback would."""

from celery import shared_task
from django.conf import settings
from django.db import transaction

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from orders.adapters import task_queue

from .adapters import resubmit_stale_inspections as resubmit
from .adapters.carrier import JOURNEY, SandboxReturnJourney
from .adapters.inspection import SandboxInspectionProvider
from .adapters.insurance import SandboxShippingInsurer
from .models import InspectionRequest, ReturnRequest, ShippingInsuranceClaim
from .services import (
    inspection_attempt_failed,
    inspection_report_record,
    insurance_claim_attempt_failed,
    insurance_claim_settle,
    refunds_retry_failed,
    return_parcel_scan_record,
)
from .services.express import express_settlements_retry_failed
from .services.payments import extra_payouts_retry_failed


@shared_task(name="returns.sandbox_inspection_process", bind=True)
def sandbox_inspection_process(self, inspection_id):
    """The sandbox inspector answers one attempt of an inspection; the next one is scheduled on
    a timeout."""
    inspection = (
        InspectionRequest.objects.select_related("arbitration__request")
        .filter(pk=inspection_id)
        .first()
    )
    if inspection is None or inspection.status != InspectionRequest.Status.REQUESTED:
        return inspection.status if inspection is not None else None
    provider = SandboxInspectionProvider()
    attempt, outcome, text, final = provider.answer(inspection)
    if outcome == "retry":
        inspection = inspection_attempt_failed(
            inspection=inspection, reason=text, final=final, actor=SYSTEM
        )
        if not final:
            queue = task_queue(self)
            transaction.on_commit(
                lambda: provider.submit(inspection_id, attempt=attempt, queue=queue)
            )
        return inspection.status
    inspection = inspection_report_record(
        inspection=inspection,
        result=outcome,
        report=text,
        external_ref=f"SBXI{inspection.pk:010d}",
        actor=SYSTEM,
    )
    return inspection.status


@shared_task(name="returns.sandbox_insurance_process", bind=True)
def sandbox_insurance_process(self, claim_id):
    """The sandbox insurer answers one attempt of a return-shipping claim (R8); the next one is
    scheduled on a timeout."""
    claim = ShippingInsuranceClaim.objects.filter(pk=claim_id).first()
    if claim is None or claim.status != ShippingInsuranceClaim.Status.REQUESTED:
        return claim.status if claim is not None else None
    insurer = SandboxShippingInsurer()
    attempt, outcome, detail, final = insurer.answer(claim)
    if outcome == "retry":
        claim = insurance_claim_attempt_failed(claim=claim, reason=detail, final=final)
        if not final:
            queue = task_queue(self)
            transaction.on_commit(lambda: insurer.submit(claim_id, attempt=attempt, queue=queue))
        return claim.status
    claim = insurance_claim_settle(
        claim=claim, outcome=outcome, detail=detail, external_ref=f"SBXS{claim.pk:010d}"
    )
    return claim.status


@shared_task(name="returns.sandbox_return_step", bind=True)
def sandbox_return_step(self, request_id, step):
    """The sandbox carrier scans a return parcel once and schedules the next scan; returns the
    next step or None."""
    journey = SandboxReturnJourney()
    request = ReturnRequest.objects.filter(pk=request_id).first()
    if request is None or step >= len(JOURNEY) or request.return_signed_at is not None:
        return None
    scan = journey.scan(request, step)
    return_parcel_scan_record(request=request, occurred_at=clock.now(), actor=SYSTEM, **scan)
    if journey.last_step(request, scan["kind"]):
        return None
    next_step = step + 1
    queue = task_queue(self)
    transaction.on_commit(lambda: journey.schedule_step(request_id, next_step, queue=queue))
    return next_step


@shared_task(name="returns.retry_failed_refunds")
def retry_failed_refunds():
    """Beat: ask the gateway again for refunds that failed (in part), a few times each, and
    for failed payouts of shipping reimbursements and exchange price differences given back,
    and failed settlements of express refunds (recovery, clawback, give-back)."""
    express = express_settlements_retry_failed()
    return refunds_retry_failed() + extra_payouts_retry_failed() + express


@shared_task(name="returns.resubmit_stale_inspections")
def resubmit_stale_inspections():
    """Beat, every minute: resend inspections still unanswered after
    ``RESUBMIT_AFTER_SECONDS`` (a lost send or a crashed worker's task)."""
    return resubmit(older_than_seconds=settings.RESUBMIT_AFTER_SECONDS)
