"""The payment gateway: refunds to a given tender (RULES.md R7); charges and payouts that are
not refunds of a tender (an exchange's price difference R18, return shipping reimbursed R9).

``PaymentGateway`` is the interface services use. A refund request is a ``GatewayRefund`` row
created by ``services.gateway_refund_request`` (idempotent by its request id); after the
transaction commits, the gateway's ``submit_refund`` sends it. The answer comes back later, as
a real gateway's callback would, through ``services.gateway_refund_attempt_record``. Services
call the gateway, never the other way round.

``SandboxPaymentGateway`` answers from a Celery task after ``SANDBOX_ADAPTER_DELAY_SECONDS``
(the task, ``orders.tasks.sandbox_refund_process``, records the answer through services) and
is deterministic (see ``rules.sandbox_refund_outcome``):

- amount ending in ``.44`` → declined for good (``account_closed``), no retry;
- amount ending in ``.43`` → times out twice, succeeds on the third attempt;
- setting ``SANDBOX_PAYMENT_FAIL = "always"`` → every attempt times out;
- anything else → succeeds on the first attempt.

Timeouts are retried with exponential back-off up to ``SANDBOX_PAYMENT_MAX_ATTEMPTS`` (default
4) attempts; then the refund fails with the last error.

Charges, payouts and settlement deductions (``GatewayTransfer``,
``services.gateway_charge_request``, ``gateway_payout_request`` and
``gateway_deduction_request``) follow the same pattern with ``submit_transfer``, answered by
``services.gateway_transfer_attempt_record``, with the same
sandbox triggers (``.44`` declined, ``.43`` twice a timeout, ``SANDBOX_PAYMENT_FAIL``).
"""

from abc import ABC, abstractmethod
from datetime import timedelta

from django.conf import settings

from aftersales import clock

from .. import rules
from ..models import GatewayRefund, GatewayTransfer
from . import get_payment_gateway, sandbox_delay, sandbox_send

# Sent by name (``sandbox_send``).
REFUND_TASK = "orders.sandbox_refund_process"
TRANSFER_TASK = "orders.sandbox_transfer_process"


class PaymentGateway(ABC):
    """What the platform needs from a payment gateway."""

    name = "abstract"

    @abstractmethod
    def submit_refund(self, refund_id):
        """Send the pending ``GatewayRefund`` ``refund_id`` to the gateway.

        Called after commit; must not block on the result. The gateway's answer is recorded
        with ``services.gateway_refund_attempt_record``; resubmitting the same refund must be
        harmless (the gateway deduplicates by ``request_id``).
        """

    @abstractmethod
    def submit_transfer(self, transfer_id):
        """Send the pending ``GatewayTransfer`` ``transfer_id`` (a charge or payout); called
        after commit, must not block; the answer is recorded with
        ``services.gateway_transfer_attempt_record``; resubmitting must be harmless."""


def _sandbox_answer(row):
    """The sandbox's answer to the next attempt of a pending refund or transfer:
    ``(attempt, outcome, reason)``; a timeout on the last allowed attempt fails it."""
    attempt = row.attempts + 1
    outcome, reason = rules.sandbox_refund_outcome(
        amount=row.amount,
        attempt=attempt,
        fail_mode=getattr(settings, "SANDBOX_PAYMENT_FAIL", "") or "",
    )
    if outcome == "retry" and attempt >= int(getattr(settings, "SANDBOX_PAYMENT_MAX_ATTEMPTS", 4)):
        outcome = "failed"
    return attempt, outcome, reason


class SandboxPaymentGateway(PaymentGateway):
    """A gateway that settles refunds a few seconds later from a Celery task."""

    name = "sandbox"

    def submit_refund(self, refund_id, *, attempt=0, queue=None):
        countdown = sandbox_delay() * (2**attempt)
        sandbox_send(REFUND_TASK, [refund_id], countdown=countdown, queue=queue)

    def submit_transfer(self, transfer_id, *, attempt=0, queue=None):
        countdown = sandbox_delay() * (2**attempt)
        sandbox_send(TRANSFER_TASK, [transfer_id], countdown=countdown, queue=queue)

    def answer(self, row):
        """The sandbox's answer to the next attempt of the pending ``GatewayRefund`` or
        ``GatewayTransfer`` ``row``: ``(attempt, outcome, reason, gateway_ref)``; the task that
        asked records it (``services.gateway_refund_attempt_record`` /
        ``gateway_transfer_attempt_record``) and resubmits on a timeout."""
        attempt, outcome, reason = _sandbox_answer(row)
        if isinstance(row, GatewayRefund):
            prefix = "SBXR"
        else:
            prefix = {"charge": "SBXC", "payout": "SBXP", "deduction": "SBXD"}[row.direction]
        gateway_ref = f"{prefix}{row.pk:010d}" if outcome == "succeeded" else ""
        return attempt, outcome, reason, gateway_ref


def resubmit_stale_refunds(*, older_than_seconds=300):
    """Send again refunds still pending long after their last attempt was due: the enqueue
    after commit can be lost (broker down). Gateways deduplicate by request id, so a refund
    sent twice is paid once. Returns how many were resubmitted."""
    gateway = get_payment_gateway()
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        GatewayRefund.objects.filter(
            status="pending", gateway=gateway.name, requested_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for refund_id in ids:
        gateway.submit_refund(refund_id)
    transfer_ids = list(
        GatewayTransfer.objects.filter(
            status="pending", gateway=gateway.name, requested_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for transfer_id in transfer_ids:
        gateway.submit_transfer(transfer_id)
    return len(ids) + len(transfer_ids)
