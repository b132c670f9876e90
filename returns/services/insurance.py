"""Return-shipping insurance (运费险, RULES.md R8): a no-reason return of a line insured at
checkout claims its return shipping from the insurer when the parcel ships back; the consumer
pays nothing. The insurer answers asynchronously through its adapter
(``returns.adapters.insurance``): paid, rejected, or failed after retries.

Domain events: ``return.insurance_claimed``, ``return.insurance_paid``,
``return.insurance_rejected``, ``return.insurance_failed``.
"""

from django.db import transaction

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM

from ..adapters import get_shipping_insurer
from ..models import ReturnRequest, ShippingInsuranceClaim
from .common import notify_parties, publish, record


def insurance_claim_open(request, *, actor):
    """The parcel of a request whose return shipping the insurance pays (``shipping_payer ==
    insurance``) shipped back (locked request): claim the declared fee from the insurer, once.
    Returns the claim, or ``None`` when the insurance does not pay this request."""
    if request.shipping_payer != ReturnRequest.ShippingPayer.INSURANCE:
        return None
    existing = ShippingInsuranceClaim.objects.filter(request_id=request.pk).first()
    if existing is not None:
        return existing
    insurer = get_shipping_insurer()
    claim = ShippingInsuranceClaim.objects.create(
        request=request,
        merchant_id=request.merchant_id,
        insurer=insurer.name,
        claim_ref=f"rr-{request.pk}-insurance",
        amount=request.return_shipping_fee,
        requested_at=clock.now(),
    )
    record(
        request,
        "return.insurance_claimed",
        actor,
        data={"claim_id": claim.pk, "amount": str(claim.amount), "insurer": insurer.name},
    )
    publish("return.insurance_claimed", request, claim_id=claim.pk, amount=str(claim.amount))
    claim_id = claim.pk
    transaction.on_commit(lambda: insurer.submit(claim_id), robust=True)
    return claim


def _locked(claim):
    claim = ShippingInsuranceClaim.objects.select_for_update().get(pk=claim.pk)
    request = ReturnRequest.objects.select_related("consumer__user", "merchant").get(
        pk=claim.request_id
    )
    return claim, request


def insurance_claim_settle(*, claim, outcome, detail="", external_ref="", actor=SYSTEM):
    """The insurer's answer to a claim: ``paid`` (``detail`` the amount paid to the consumer)
    or ``rejected`` (``detail`` the reason). Only a requested claim changes (a repeat does
    nothing)."""
    if outcome not in ("paid", "rejected"):
        raise ValueError(f"unknown insurance outcome {outcome!r}")
    with transaction.atomic():
        claim, request = _locked(claim)
        if claim.status != ShippingInsuranceClaim.Status.REQUESTED:
            return claim
        claim.status = outcome
        claim.attempts += 1
        claim.external_ref = external_ref or claim.external_ref
        claim.settled_at = clock.now()
        if outcome == "paid":
            claim.paid_amount = detail
        else:
            claim.reason = str(detail)[:200]
        claim.save()
        record(
            request,
            f"return.insurance_{outcome}",
            actor,
            reason=claim.reason,
            data={"claim_id": claim.pk, "paid_amount": str(claim.paid_amount or "")},
        )
        publish(
            f"return.insurance_{outcome}",
            request,
            claim_id=claim.pk,
            paid_amount=str(claim.paid_amount) if claim.paid_amount is not None else None,
            reason=claim.reason,
        )
        notify_parties(
            request,
            f"return.insurance_{outcome}",
            to=("consumer",),
            actor=actor,
            paid_amount=claim.paid_amount,
            reason=claim.reason,
        )
    return claim


def insurance_claim_attempt_failed(*, claim, reason, final=False, actor=SYSTEM):
    """One failed attempt of the insurer (a timeout): recorded; with ``final`` the claim fails
    and the consumer and platform staff see why in the request's timeline."""
    with transaction.atomic():
        claim, request = _locked(claim)
        if claim.status != ShippingInsuranceClaim.Status.REQUESTED:
            return claim
        claim.attempts += 1
        claim.reason = (reason or "")[:200]
        fields = ["attempts", "reason"]
        if final:
            claim.status = ShippingInsuranceClaim.Status.FAILED
            claim.settled_at = clock.now()
            fields += ["status", "settled_at"]
        claim.save(update_fields=fields)
        record(
            request,
            "return.insurance_failed" if final else "return.insurance_attempt_failed",
            actor,
            reason=reason,
            data={"claim_id": claim.pk, "attempt": claim.attempts},
        )
        if final:
            publish("return.insurance_failed", request, claim_id=claim.pk, reason=claim.reason)
    return claim
