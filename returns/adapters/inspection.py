"""Third-party inspection of returned goods in arbitration (R19; standard 6.3.3).

``InspectionProvider`` is the interface services use: ``submit`` sends a pending
``InspectionRequest`` after commit; the answer comes back later through
``services.inspection_report_record`` (a report) or ``services.inspection_attempt_failed``.

``SandboxInspectionProvider`` (name ``sandbox-inspect``) answers from a Celery task after
``SANDBOX_ADAPTER_DELAY_SECONDS`` (``returns.tasks.sandbox_inspection_process``, which records
the answer through those services) and is deterministic:

- the merchant's inspection note containing "破损", "不完好" or "damaged" → ``not_intact``;
  anything else → ``intact``;
- setting ``SANDBOX_INSPECTION_FAIL = "once"`` → the first attempt times out, the retry reports;
- ``SANDBOX_INSPECTION_FAIL = "always"`` → every attempt times out.

Timeouts are retried with exponential back-off up to ``SANDBOX_INSPECTION_MAX_ATTEMPTS``
(default 3) attempts; then the inspection fails and the arbitration is open again.
"""

from abc import ABC, abstractmethod

from django.conf import settings

from orders.adapters import sandbox_delay, sandbox_send

NOT_INTACT_MARKERS = ("破损", "不完好", "damaged")  # i18n-exempt: matches free text
# Sent by name (``sandbox_send``).
PROCESS_TASK = "returns.sandbox_inspection_process"


class InspectionProvider(ABC):
    """What the platform needs from an inspection agency."""

    name = "abstract"

    @abstractmethod
    def submit(self, inspection_id):
        """Send the pending ``InspectionRequest`` ``inspection_id``; must not block on the
        result. Resubmitting must be harmless (the agency deduplicates by ``request_id``)."""


def sandbox_outcome(*, note, attempt, fail_mode=""):
    """``("retry", reason)`` or ``(result, report)`` of one sandbox attempt (pure)."""
    if fail_mode == "always" or (fail_mode == "once" and attempt == 1):
        return "retry", "inspector_timeout"
    text = (note or "").lower()
    if any(marker in text for marker in NOT_INTACT_MARKERS):
        report = "检测结论：商品外观及功能存在损坏，与寄出时状态不符。"  # i18n-exempt: sandbox data
        return "not_intact", report
    return "intact", "检测结论：商品完好，外观及功能正常。"  # i18n-exempt: sandbox data


class SandboxInspectionProvider(InspectionProvider):
    """An inspector that reports a few seconds later from a Celery task."""

    name = "sandbox-inspect"

    def submit(self, inspection_id, *, attempt=0, queue=None):
        sandbox_send(
            PROCESS_TASK, [inspection_id], countdown=sandbox_delay() * (2**attempt), queue=queue
        )

    def answer(self, inspection):
        """The sandbox's answer to the next attempt of the requested ``InspectionRequest``
        ``inspection`` (its arbitration and request loaded): ``(attempt, outcome, text,
        final)``, where ``outcome`` is ``retry`` (``text`` the reason; ``final`` once the
        attempts are used up) or the result (``text`` the report)."""
        attempt = inspection.attempts + 1
        outcome, text = sandbox_outcome(
            note=inspection.arbitration.request.inspection_note,
            attempt=attempt,
            fail_mode=getattr(settings, "SANDBOX_INSPECTION_FAIL", "") or "",
        )
        final = outcome == "retry" and attempt >= int(
            getattr(settings, "SANDBOX_INSPECTION_MAX_ATTEMPTS", 3)
        )
        return attempt, outcome, text, final
