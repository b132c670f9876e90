"""The payment gateway: refunds to a given tender (RULES.md R7); charges and payouts that are
not refunds of a tender (an exchange's price difference R18, return shipping reimbursed R9).

``PaymentGateway`` is the interface services use. A refund request is a ``GatewayRefund`` row
created by ``services.gateway_refund_request`` (idempotent by its request id); after the
transaction commits, the gateway's ``submit_refund`` sends it. The answer comes back later, as
a real gateway's callback would, through ``services.gateway_refund_attempt_record``.

``SandboxPaymentGateway`` answers from a Celery task after ``SANDBOX_ADAPTER_DELAY_SECONDS``
and is deterministic (see ``rules.sandbox_refund_outcome``):

- amount ending in ``.44`` → declined for good (``account_closed``), no retry;
- amount ending in ``.43`` → times out twice, succeeds on the third attempt;
- setting ``SANDBOX_PAYMENT_FAIL = "always"`` → every attempt times out;
- anything else → succeeds on the first attempt.

Timeouts are retried with exponential back-off up to ``SANDBOX_PAYMENT_MAX_ATTEMPTS`` (default
4) attempts; then the refund fails with the last error.

Charges and payouts (``GatewayTransfer``, ``charge``/``payout``) follow the same pattern with
``submit_transfer``, answered by ``services.gateway_transfer_attempt_record``, with the same
sandbox triggers (``.44`` declined, ``.43`` twice a timeout, ``SANDBOX_PAYMENT_FAIL``).
"""

from abc import ABC, abstractmethod

from django.conf import settings
from django.db import transaction

from aftersales.tenancy.actors import SYSTEM

from .. import rules
from . import sandbox_delay, sandbox_queue_options


class PaymentGateway(ABC):
    """What the platform needs from a payment gateway."""

    name = "abstract"

    def refund(self, *, tender, amount, request_id, actor=SYSTEM, reason=""):
        """Refund ``amount`` to ``tender``; idempotent by ``request_id``; returns the pending
        ``GatewayRefund``. The same as ``services.gateway_refund_request``, which checks the
        amount, records the request and calls ``submit_refund`` after commit."""
        from ..services import gateway_refund_request

        return gateway_refund_request(
            tender=tender, amount=amount, request_id=request_id, actor=actor, reason=reason
        )

    @abstractmethod
    def submit_refund(self, refund_id):
        """Send the pending ``GatewayRefund`` ``refund_id`` to the gateway.

        Called after commit; must not block on the result. The gateway's answer is recorded
        with ``services.gateway_refund_attempt_record``; resubmitting the same refund must be
        harmless (the gateway deduplicates by ``request_id``).
        """

    def charge(self, *, order, amount, request_id, actor=SYSTEM, method="card", reason=""):
        """Collect ``amount`` from the consumer of ``order`` by ``method`` (card, balance);
        idempotent by ``request_id``; returns the pending ``GatewayTransfer``. The same as
        ``services.gateway_transfer_request``, which records it and calls ``submit_transfer``
        after commit."""
        from ..services import gateway_transfer_request

        return gateway_transfer_request(
            direction="charge",
            order=order,
            amount=amount,
            request_id=request_id,
            actor=actor,
            method=method,
            reason=reason,
        )

    def payout(
        self, *, order, amount, request_id, actor=SYSTEM, tender=None, refund_of=None, reason=""
    ):
        """Pay ``amount`` to the consumer of ``order`` through the channel of ``tender`` (or
        back to the channel of the charge ``refund_of``; without either, to the consumer's
        platform balance); idempotent by ``request_id``."""
        from ..services import gateway_transfer_request

        return gateway_transfer_request(
            direction="payout",
            order=order,
            amount=amount,
            request_id=request_id,
            actor=actor,
            tender=tender,
            # a payout without a tender goes to the consumer's platform balance
            method=refund_of.method if refund_of is not None else ("" if tender else "balance"),
            refund_of=refund_of,
            reason=reason,
        )

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
        from ..tasks import sandbox_refund_process

        countdown = sandbox_delay() * (2**attempt)
        sandbox_refund_process.apply_async(
            args=[refund_id], countdown=countdown, **sandbox_queue_options(queue)
        )

    def process(self, refund_id, *, queue=None):
        """Answer one attempt of refund ``refund_id``; schedules the next one on a timeout."""
        from ..models import GatewayRefund
        from ..services import gateway_refund_attempt_record

        refund = GatewayRefund.objects.filter(pk=refund_id).first()
        if refund is None or refund.status != GatewayRefund.Status.PENDING:
            return refund

        attempt, outcome, reason = _sandbox_answer(refund)
        gateway_ref = f"SBXR{refund.pk:010d}" if outcome == "succeeded" else ""
        refund = gateway_refund_attempt_record(
            refund=refund, outcome=outcome, reason=reason, gateway_ref=gateway_ref, actor=SYSTEM
        )
        if outcome == "retry":
            transaction.on_commit(
                lambda: self.submit_refund(refund_id, attempt=attempt, queue=queue)
            )
        return refund

    def submit_transfer(self, transfer_id, *, attempt=0, queue=None):
        from ..tasks import sandbox_transfer_process

        countdown = sandbox_delay() * (2**attempt)
        sandbox_transfer_process.apply_async(
            args=[transfer_id], countdown=countdown, **sandbox_queue_options(queue)
        )

    def process_transfer(self, transfer_id, *, queue=None):
        """Answer one attempt of charge/payout ``transfer_id``; schedules the next on a timeout."""
        from ..models import GatewayTransfer
        from ..services import gateway_transfer_attempt_record

        transfer = GatewayTransfer.objects.filter(pk=transfer_id).first()
        if transfer is None or transfer.status != GatewayTransfer.Status.PENDING:
            return transfer
        attempt, outcome, reason = _sandbox_answer(transfer)
        prefix = "SBXC" if transfer.direction == "charge" else "SBXP"
        transfer = gateway_transfer_attempt_record(
            transfer=transfer,
            outcome=outcome,
            reason=reason,
            gateway_ref=f"{prefix}{transfer.pk:010d}" if outcome == "succeeded" else "",
            actor=SYSTEM,
        )
        if outcome == "retry":
            transaction.on_commit(
                lambda: self.submit_transfer(transfer_id, attempt=attempt, queue=queue)
            )
        return transfer


def resubmit_stale_refunds(*, older_than_seconds=300):
    """Send again refunds still pending long after their last attempt was due: the enqueue
    after commit can be lost (broker down). Gateways deduplicate by request id, so a refund
    sent twice is paid once. Returns how many were resubmitted."""
    from datetime import timedelta

    from aftersales import clock

    from ..models import GatewayRefund
    from . import get_payment_gateway

    gateway = get_payment_gateway()
    cutoff = clock.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        GatewayRefund.objects.filter(
            status="pending", gateway=gateway.name, requested_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for refund_id in ids:
        gateway.submit_refund(refund_id)
    from ..models import GatewayTransfer

    transfer_ids = list(
        GatewayTransfer.objects.filter(
            status="pending", gateway=gateway.name, requested_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for transfer_id in transfer_ids:
        gateway.submit_transfer(transfer_id)
    return len(ids) + len(transfer_ids)
