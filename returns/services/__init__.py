"""Writes of returns, exchanges, refunds and arbitration (standard 6.3; RULES.md R1–R19).

Every function is keyword-only, takes ``actor``, owns its transaction, locks rows in a fixed
order (order → line → request → refund → tender), moves statuses through
``aftersales.casefile.statuses.status_move`` with ``rules.RETURN_MOVES``, records a timeline event,
publishes a domain event (``return.<verb>``, fed to the webhook outbox) and notifies the people
concerned. After a write the request must still be inside the actor's scope.

Domain events (payload: ``return_request_id``, ``number``, ``order_id``, ``line_id``,
``status``, ``kind``, ``amount`` and per-event extras): ``return.requested``,
``return.approved``, ``return.rejected``, ``return.cancelled``, ``return.closed``,
``return.shipped_back``, ``return.pickup_booked``, ``return.parcel_scanned``,
``return.received``, ``return.disputed``, ``return.escalated``, ``return.arbitration_answered``,
``return.inspection_requested``, ``return.inspection_reported``, ``return.arbitration_decided``,
``return.refund_started``, ``return.refunded``, ``return.refund_failed``,
``return.exchange_shipped``, ``return.completed``, ``return.overridden``,
``return.express_advanced``, ``return.express_recovered``, ``return.express_clawback``,
``return.express_clawback_cancelled``, ``return.evidence_added``, ``return.receipt_timeout``
(R20), those of ``returns.services.insurance`` (``return.insurance_*``, R8), and those of
``returns.services.payments`` (``return.difference_*``, ``return.shipping_reimburs*``,
``return.shipping_fee_declared`` in the timeline). (``refund.succeeded`` / ``refund.failed``
stay the gateway-level events of ``orders``, one per tender.)

Money besides the refund (``returns.services.payments``): a positive price difference of a spec
exchange (R18) is charged to the consumer (``exchange_difference_pay``) before the merchant may
ship the replacement (``price_difference_unpaid``) and given back if the request then ends
without the exchange; the return shipping the merchant pays (R9, R8 with "退货免运费") is
reimbursed with the refund — the fee declared at ship-back or pickup, capped by the policy
``returns.shipping_reimbursement_max`` — as a separate ``ShippingReimbursement`` payout to the
channel of the original card (else balance) tender, *not* as a refund part, so R7's invariant
(refund parts per tender never exceed what the tender paid) is untouched.

Who may do what: the consumer of the request creates, cancels, ships back, books a pickup and
escalates; the merchant (staff or a merchant key) approves, rejects, receives, ships the
replacement, refunds and answers in arbitration; platform writers may do all of that and
alone request inspections, decide arbitration and override. Mediators granted a request
(``returns.view_returnrequest`` via django-guardian) may also decide its arbitration.

The package by sub-domain (each module's docstring says more): ``common`` (who may act, the
row lock, timeline, events, notifications, policies of a request), ``moves`` (the one status
move), ``evidence``, ``entitlement`` (what a line allows now), ``create``, ``review`` (approve,
reject, cancel), ``parcel`` (ship back, pickup, carrier scans), ``receipt`` (receipt and
inspection), ``refunds``, ``express`` (R12 express refunds and their ledger), ``exchanges``,
``arbitration``, ``override``, ``deadline_actions`` (what the deadlines of ``returns.deadlines``
do) and ``payments`` (the price difference and the reimbursed return shipping). Callers import
the services from this package (``from returns import services``); the modules import one
another's public names only.
"""

from . import payments
from .addresses import (
    return_address_archive,
    return_address_create,
    return_address_update,
)
from .arbitration import (
    arbitration_answer,
    arbitration_answer_window_end,
    arbitration_decide,
    arbitration_inspection_request,
    inspection_attempt_failed,
    inspection_report_record,
    return_escalate,
)
from .common import KIND_REFUND_ONLY, KINDS, RETURN_GRANT, request_category_id, request_policy
from .create import return_request_create, return_request_create_from_warranty
from .deadline_actions import (
    return_auto_approve,
    return_close_reminder,
    return_close_unshipped,
    return_receipt_timeout,
    return_refund_after_receipt,
)
from .entitlement import (
    COMPLETED_STATUSES,
    QUANTITY_HELD,
    line_facts,
    line_held_quantities,
    line_options,
    line_shipping_payer,
)
from .evidence import evidence_add
from .exchanges import exchange_delivered, exchange_ship
from .express import (
    express_clawback,
    express_clawback_due,
    express_receipt_settle,
    express_settlements_retry_failed,
    express_transfer_settled,
)
from .insurance import (
    insurance_claim_attempt_failed,
    insurance_claim_open,
    insurance_claim_settle,
)
from .override import OVERRIDE_MOVES, return_override
from .parcel import (
    SCAN_KINDS,
    return_parcel_scan_record,
    return_pickup_book,
    return_pickup_settled,
    return_ship_back,
)
from .receipt import refund_after_receipt_due, return_receive, return_refund
from .refunds import (
    MAX_REFUND_RETRIES,
    refund_part_settled,
    refund_plan,
    refund_retry,
    refunds_retry_failed,
)
from .review import return_request_approve, return_request_cancel, return_request_reject

__all__ = [
    "return_address_archive",
    "return_address_create",
    "return_address_update",
    "COMPLETED_STATUSES",
    "KINDS",
    "KIND_REFUND_ONLY",
    "MAX_REFUND_RETRIES",
    "OVERRIDE_MOVES",
    "QUANTITY_HELD",
    "RETURN_GRANT",
    "SCAN_KINDS",
    "arbitration_answer",
    "arbitration_answer_window_end",
    "arbitration_decide",
    "arbitration_inspection_request",
    "evidence_add",
    "exchange_delivered",
    "exchange_ship",
    "express_clawback",
    "express_clawback_due",
    "express_receipt_settle",
    "express_settlements_retry_failed",
    "express_transfer_settled",
    "inspection_attempt_failed",
    "insurance_claim_attempt_failed",
    "insurance_claim_open",
    "insurance_claim_settle",
    "inspection_report_record",
    "line_facts",
    "line_held_quantities",
    "line_options",
    "line_shipping_payer",
    "payments",
    "refund_after_receipt_due",
    "refund_part_settled",
    "refund_plan",
    "refund_retry",
    "refunds_retry_failed",
    "request_category_id",
    "request_policy",
    "return_auto_approve",
    "return_close_reminder",
    "return_close_unshipped",
    "return_escalate",
    "return_override",
    "return_parcel_scan_record",
    "return_pickup_book",
    "return_pickup_settled",
    "return_receipt_timeout",
    "return_receive",
    "return_refund",
    "return_refund_after_receipt",
    "return_request_approve",
    "return_request_cancel",
    "return_request_create",
    "return_request_create_from_warranty",
    "return_request_reject",
    "return_ship_back",
]
