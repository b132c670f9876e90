"""The return-shipping insurer (运费险, RULES.md R8): a no-reason return of a line insured at
checkout claims its return shipping from the insurer; the consumer pays nothing.

``ShippingInsurer`` is the interface services use: ``submit`` sends a requested
``ShippingInsuranceClaim`` after commit; the answer comes back later through
``services.insurance_claim_settle`` (paid or rejected) or
``services.insurance_claim_attempt_failed``.

``SandboxShippingInsurer`` (name ``sandbox-insure``) answers from a Celery task after
``SANDBOX_ADAPTER_DELAY_SECONDS`` (``returns.tasks.sandbox_insurance_process``) and is
deterministic:

- a claim with a declared fee pays it in full (reference ``SBXS<claim id>``);
- a claim without a fee (nothing declared at ship-back) is rejected (``no_fee_declared``);
- ``SANDBOX_INSURANCE_FAIL = "once"`` → the first attempt times out, the retry answers;
  ``"always"`` → every attempt times out.

Timeouts are retried with exponential back-off up to ``SANDBOX_INSURANCE_MAX_ATTEMPTS``
(default 3) attempts; then the claim fails (staff see it in the request's timeline).
"""

from abc import ABC, abstractmethod

from django.conf import settings

from orders.adapters import sandbox_delay, sandbox_send

# Sent by name (``sandbox_send``).
PROCESS_TASK = "returns.sandbox_insurance_process"


class ShippingInsurer(ABC):
    """What the platform needs from a return-shipping insurer."""

    name = "abstract"

    @abstractmethod
    def submit(self, claim_id):
        """Send the requested ``ShippingInsuranceClaim`` ``claim_id``; must not block on the
        answer. Resubmitting must be harmless (the insurer deduplicates by ``claim_ref``)."""


def sandbox_claim_outcome(*, amount, attempt, fail_mode=""):
    """``("retry", reason)``, ``("rejected", reason)`` or ``("paid", amount)`` of one sandbox
    attempt (pure)."""
    if fail_mode == "always" or (fail_mode == "once" and attempt == 1):
        return "retry", "insurer_timeout"
    if amount <= 0:
        return "rejected", "no_fee_declared"
    return "paid", amount


class SandboxShippingInsurer(ShippingInsurer):
    """An insurer that answers a few seconds later from a Celery task."""

    name = "sandbox-insure"

    def submit(self, claim_id, *, attempt=0, queue=None):
        sandbox_send(
            PROCESS_TASK, [claim_id], countdown=sandbox_delay() * (2**attempt), queue=queue
        )

    def answer(self, claim):
        """The sandbox's answer to the next attempt of the requested ``claim``: ``(attempt,
        outcome, detail, final)`` — ``final`` once a retry has used up the attempts."""
        attempt = claim.attempts + 1
        outcome, detail = sandbox_claim_outcome(
            amount=claim.amount,
            attempt=attempt,
            fail_mode=getattr(settings, "SANDBOX_INSURANCE_FAIL", "") or "",
        )
        final = outcome == "retry" and attempt >= int(
            getattr(settings, "SANDBOX_INSURANCE_MAX_ATTEMPTS", 3)
        )
        return attempt, outcome, detail, final
