"""Deadlines (RULES.md R6, R13, R14), shipping (R8, R9), insurance (R17), express refund (R12),
inspection (R5)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from returns import rules
from returns.citations import citation

SH = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 2026-11-21 00:30 Shanghai


# -- R6 ----------------------------------------------------------------------------------------


def test_refund_due_seven_days_after_receipt_in_shanghai():
    due = rules.refund_due_after_receipt(RECEIVED)
    assert due == datetime(2026, 11, 29, 0, 0, tzinfo=SH)
    assert rules.display_instant(due) == "2026-11-28 24:00"
    assert rules.refund_due_after_receipt(RECEIVED, 3) == datetime(2026, 11, 25, 0, 0, tzinfo=SH)


@pytest.mark.parametrize("days", [0, 8])
def test_refund_due_never_beyond_the_law(days):
    with pytest.raises(ValueError):
        rules.refund_due_after_receipt(RECEIVED, days)


def test_refund_due_with_holiday_extension():
    # Last day Sat 11-28 → Mon 11-30 with the extension on; a make-up Saturday stays.
    assert rules.refund_due_after_receipt(
        RECEIVED, holiday_extension=True, exceptions={}
    ) == datetime(2026, 12, 1, tzinfo=SH)
    assert rules.refund_due_after_receipt(
        RECEIVED, holiday_extension=True, exceptions={date(2026, 11, 28): "workday"}
    ) == datetime(2026, 11, 29, tzinfo=SH)


# -- R20 ---------------------------------------------------------------------------------------


def test_receipt_confirm_due_ten_days_after_ship_back_in_shanghai():
    # shipped back 2026-11-21 00:30 Shanghai (11-20 in UTC): day 10 ends 12-01 24:00 Shanghai
    due = rules.receipt_confirm_due(RECEIVED)
    assert due == datetime(2026, 12, 2, 0, 0, tzinfo=SH)
    assert rules.display_instant(due) == "2026-12-01 24:00"
    assert rules.receipt_confirm_due(RECEIVED, 1) == datetime(2026, 11, 23, 0, 0, tzinfo=SH)
    with pytest.raises(ValueError):
        rules.receipt_confirm_due(RECEIVED, 0)


def test_receipt_confirm_due_runs_until_3_days_after_the_latest_scan():
    # a scan before day 7 changes nothing; one on day 10 (23:59) keeps it open to day 13
    early = datetime(2026, 11, 28, 15, 59, tzinfo=UTC)  # 11-28 23:59 Shanghai
    assert rules.receipt_confirm_due(RECEIVED, last_scan_at=early) == datetime(
        2026, 12, 2, 0, 0, tzinfo=SH
    )
    late = datetime(2026, 12, 1, 15, 59, tzinfo=UTC)  # 12-01 23:59 Shanghai
    assert rules.receipt_confirm_due(RECEIVED, last_scan_at=late) == datetime(
        2026, 12, 5, 0, 0, tzinfo=SH
    )
    # 12-01 16:00 UTC is already 12-02 in Shanghai: one day more
    next_day = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert rules.receipt_confirm_due(RECEIVED, last_scan_at=next_day) == datetime(
        2026, 12, 6, 0, 0, tzinfo=SH
    )


# -- R13, R14 ----------------------------------------------------------------------------------


def test_auto_approve_after_exact_hours():
    requested = datetime(2026, 11, 27, 15, 45, 30, tzinfo=UTC)
    assert rules.auto_approve_due(requested) == requested + timedelta(hours=48)
    assert rules.auto_approve_due(requested, 72) == datetime(2026, 11, 30, 15, 45, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        rules.auto_approve_due(requested, 0)


def test_close_unshipped_by_the_window_rule_and_reminder_before():
    approved = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 11-21 00:30 Shanghai
    due = rules.close_unshipped_due(approved)
    assert due == datetime(2026, 11, 29, 0, 0, tzinfo=SH)
    assert rules.close_unshipped_due(approved, 1) == datetime(2026, 11, 23, 0, 0, tzinfo=SH)
    assert rules.close_reminder_at(due) == datetime(2026, 11, 28, 0, 0, tzinfo=SH)
    assert rules.close_reminder_at(due, 2) == datetime(2026, 11, 28, 22, 0, tzinfo=SH)
    with pytest.raises(ValueError):
        rules.close_unshipped_due(approved, 0)
    with pytest.raises(ValueError):
        rules.close_reminder_at(due, -1)


def test_display_instant():
    assert rules.display_instant(datetime(2026, 11, 28, 16, 0, tzinfo=UTC)) == "2026-11-28 24:00"
    assert rules.display_instant(datetime(2026, 11, 28, 16, 1, tzinfo=UTC)) == "2026-11-29 00:01"
    assert rules.display_instant(datetime(2026, 11, 28, 3, 5, tzinfo=UTC)) == "2026-11-28 11:05"


# -- R8, R9 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,free,insured,payer,rule,code",
    [
        ("no_reason", False, False, "consumer", "R8", "shipping_consumer"),
        ("no_reason", True, False, "merchant", "R8", "shipping_merchant_committed"),
        ("no_reason", False, True, "insurance", "R8", "shipping_insurance"),
        ("no_reason", True, True, "merchant", "R8", "shipping_merchant_committed"),
        ("quality", False, False, "merchant", "R9", "shipping_merchant_quality"),
        ("quality", False, True, "merchant", "R9", "shipping_merchant_quality"),
    ],
)
def test_return_shipping_payer(kind, free, insured, payer, rule, code):
    result = rules.return_shipping_payer(kind, free, insured)
    assert (result.payer, result.rule, result.code) == (payer, rule, code)
    assert citation(rule) in result.message and rule not in result.message


def test_quality_shipping_is_reimbursed_and_unknown_kind_refused():
    assert rules.return_shipping_payer("quality").reimbursed_with_refund
    assert not rules.return_shipping_payer("no_reason").reimbursed_with_refund
    with pytest.raises(ValueError):
        rules.return_shipping_payer("whim")


def test_reasons():
    assert rules.reason_kind("damaged") == rules.QUALITY
    assert rules.reason_kind("changed_mind") == rules.NO_REASON
    assert rules.reason_needs_evidence("not_as_described")
    assert not rules.reason_needs_evidence("no_reason")
    with pytest.raises(ValueError):
        rules.reason_kind("whim")


# -- R17 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit,threshold,insured",
    [
        ("4999.99", "5000.00", False),
        ("5000.00", "5000.00", True),
        ("5000.01", "5000", True),
        ("100.00", 100, True),
    ],
)
def test_is_insured_at_the_threshold(unit, threshold, insured):
    assert rules.is_insured(D(unit), threshold) is insured


# -- R12 ---------------------------------------------------------------------------------------


SCAN = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "score,scan,eligible",
    [
        (600, SCAN, True),
        (599, SCAN, False),
        (1000, SCAN, True),
        (600, None, False),
        (None, SCAN, False),
    ],
)
def test_express_refund_eligible(score, scan, eligible):
    assert rules.express_refund_eligible(score, 600, scan) is eligible


# -- R5 ----------------------------------------------------------------------------------------


def test_inspection_outcome():
    assert rules.inspection_outcome(intact=True) == "refund"
    assert rules.inspection_outcome(intact=False, evidence_count=2) == "dispute"
    assert rules.inspection_outcome(intact=False) == "evidence_required"
