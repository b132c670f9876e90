from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from orders import rules


@pytest.mark.parametrize(
    "quantity,unit,discount,paid,expected",
    [
        (2, "39.90", "0", "79.80", {}),
        (1, "5999.00", "200.00", "5799.00", {}),
        (1, "10.00", "0", "9.99", {"paid_amount": "line_amounts_mismatch"}),
        (1, "10.00", "10.01", "0", {"discount_amount": "discount_out_of_range"}),
        (0, "10.00", "0", "0", {"quantity": "quantity_not_positive"}),
        (1, "-1", "0", "0", {"unit_price": "unit_price_negative"}),
    ],
)
def test_line_amount_errors(quantity, unit, discount, paid, expected):
    assert (
        rules.line_amount_errors(
            quantity=quantity, unit_price=D(unit), discount_amount=D(discount), paid_amount=D(paid)
        )
        == expected
    )


def test_allocate_discount_pro_rata_last_absorbs_remainder():
    shares = rules.allocate_discount(D("10.00"), [D("33.33"), D("33.33"), D("33.34")])
    assert sum(shares) == D("10.00")
    assert shares[:2] == [D("3.33"), D("3.33")]
    assert shares[2] == D("3.34")
    with pytest.raises(ValueError):
        rules.allocate_discount(D("101"), [D("100")])


def test_tenders_add_up():
    assert rules.tenders_add_up(D("100.00"), [D("80.00"), D("15.00"), D("5.00")])
    assert not rules.tenders_add_up(D("100.00"), [D("80.00"), D("15.00")])
    assert not rules.tenders_add_up(D("100.00"), [])
    assert not rules.tenders_add_up(D("0.00"), [D("10.00"), D("-10.00")])


def test_high_value_threshold_is_inclusive():
    assert rules.is_high_value(rules.unit_paid_price(D("10000.00"), 2), "5000.00")
    assert not rules.is_high_value(rules.unit_paid_price(D("9999.98"), 2), "5000.00")


def test_sign_off_requires_e_signature_only_for_high_value():
    assert rules.sign_off_errors(high_value=True, e_signature="", signer_name="张三") == {
        "e_signature": "e_signature_required"
    }
    assert rules.sign_off_errors(high_value=False, e_signature="", signer_name="张三") == {}
    assert rules.sign_off_errors(high_value=False, e_signature="", signer_name=" ") == {
        "signer_name": "signer_required"
    }


def test_shipment_status_out_of_order_and_signed_final():
    t = datetime(2026, 11, 20, tzinfo=UTC)
    # a late event older than the newest one does not move the status back
    assert (
        rules.shipment_status_after(
            current="out_for_delivery",
            kind="in_transit",
            occurred_at=t,
            last_event_at=t + timedelta(hours=1),
        )
        == "out_for_delivery"
    )
    assert (
        rules.shipment_status_after(
            current="in_transit",
            kind="out_for_delivery",
            occurred_at=t + timedelta(hours=2),
            last_event_at=t,
        )
        == "out_for_delivery"
    )
    assert (
        rules.shipment_status_after(
            current="signed", kind="exception", occurred_at=t, last_event_at=None
        )
        == "signed"
    )
    assert (
        rules.shipment_status_after(
            current="created", kind="signed", occurred_at=t, last_event_at=t + timedelta(days=1)
        )
        == "signed"
    )


def test_order_progress():
    assert (
        rules.order_status_after_shipping(current="paid", open_lines=2, shipped_lines=1)
        == "partially_shipped"
    )
    assert (
        rules.order_status_after_shipping(
            current="partially_shipped", open_lines=2, shipped_lines=2
        )
        == "shipped"
    )
    assert (
        rules.order_status_after_shipping(current="delivered", open_lines=2, shipped_lines=2)
        == "delivered"
    )
    assert rules.order_delivered(open_lines=2, signed_lines=2)
    assert not rules.order_delivered(open_lines=2, signed_lines=1)


def test_order_moves_table_is_closed():
    statuses = set(rules.ORDER_MOVES)
    assert all(targets <= statuses for targets in rules.ORDER_MOVES.values())
    assert rules.ORDER_MOVES["completed"] == set()


def test_refundable_never_above_tender():
    assert rules.refundable(
        tender_amount=D("100"), refunded=D("60"), pending=D("20"), amount=D("20")
    )
    assert not rules.refundable(
        tender_amount=D("100"), refunded=D("60"), pending=D("20"), amount=D("20.01")
    )
    assert not rules.refundable(
        tender_amount=D("100"), refunded=D("0"), pending=D("0"), amount=D("0")
    )


@pytest.mark.parametrize(
    "amount,attempt,mode,expected",
    [
        ("10.00", 1, "", ("succeeded", "")),
        ("10.44", 1, "", ("failed", "account_closed")),
        ("10.43", 1, "", ("retry", "gateway_timeout")),
        ("10.43", 2, "", ("retry", "gateway_timeout")),
        ("10.43", 3, "", ("succeeded", "")),
        ("10.00", 9, "always", ("retry", "gateway_timeout")),
    ],
)
def test_sandbox_refund_outcome(amount, attempt, mode, expected):
    assert (
        rules.sandbox_refund_outcome(amount=D(amount), attempt=attempt, fail_mode=mode) == expected
    )


def test_exclusion_reasons_match_class():
    assert rules.exclusion_reason_valid("excluded_by_law", "perishable")
    assert not rules.exclusion_reason_valid("excluded_by_law", "health_safety")
    assert rules.exclusion_reason_valid("excludable", "health_safety")
    assert rules.exclusion_reason_valid("allowed", "")
    assert rules.exclusion_confirmation_allowed("excludable")
    assert not rules.exclusion_confirmation_allowed("allowed")
