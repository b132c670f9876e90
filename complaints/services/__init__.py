"""Every write of complaints (ARCHITECTURE.md "Inside an app"), by sub-domain: intake and
grading, handling and the clocks' outcomes, the tamper-evident records."""

from .handling import (
    complaint_clock_breach,
    complaint_clock_warn,
    complaint_close,
    complaint_consumer_reply,
    complaint_decline,
    complaint_escalate,
    complaint_reopen,
    complaint_request_info,
    complaint_resolve,
    complaint_respond,
)
from .intake import complaint_create, complaint_regrade, grading_rule_save
from .records import (
    checkpoint_publish,
    complaint_receipt,
    integrity_check,
    record_append,
)

__all__ = [
    "checkpoint_publish",
    "complaint_clock_breach",
    "complaint_clock_warn",
    "complaint_close",
    "complaint_consumer_reply",
    "complaint_create",
    "complaint_decline",
    "complaint_escalate",
    "complaint_receipt",
    "complaint_regrade",
    "complaint_reopen",
    "complaint_request_info",
    "complaint_resolve",
    "complaint_respond",
    "grading_rule_save",
    "integrity_check",
    "record_append",
]
