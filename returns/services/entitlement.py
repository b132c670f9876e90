"""What an order line allows now (RULES.md R1–R4, R8–R11, R15): the facts of the line, its
return options, the units its requests hold and who pays the return shipping. Read by the
creation of a request, by selectors and by pages.
"""

from django.db.models import Q

from aftersales import clock
from aftersales.deadlines.calendar import calendar_exceptions
from aftersales.money import ZERO
from aftersales.policies import policy_value
from orders.models import Shipment

from .. import rules
from ..models import ReturnRequest

QUANTITY_HELD = ~Q(status__in=sorted(rules.QUANTITY_FREE_STATUSES))
COMPLETED_STATUSES = ("refunded", "completed")


def _held_rows(line_id):
    """``(status, quantity, amount)`` of the line's requests that hold units (R15)."""
    return ReturnRequest.objects.filter(QUANTITY_HELD, line_id=line_id).values_list(
        "status", "quantity", "amount"
    )


def line_window_settings(line):
    """The ``rules.WindowSettings`` of a line: the holiday extension its policy grants."""
    merchant_id, category_id = line.order.merchant_id, line.sku.product.category_id
    extension = bool(
        policy_value("calendar.holiday_extension", merchant_id=merchant_id, category_id=category_id)
    )
    exceptions = None
    if extension:
        exceptions = calendar_exceptions()
    return rules.WindowSettings(holiday_extension=extension, exceptions=exceptions)


def line_held_quantities(line, *, exclude=None):
    """``(open_units, completed_units, allocated_amount)`` of the line's requests that hold
    units (RULES.md R15)."""
    rows = _held_rows(line.pk)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    open_units = completed = 0
    amount = ZERO
    for status, quantity, value in rows:
        if status in COMPLETED_STATUSES:
            completed += quantity
        else:
            open_units += quantity
        amount += value
    return open_units, completed, amount


def line_facts(line, *, held=None):
    """The ``rules.LineFacts`` of an order line, read from its parcel, category and requests
    (``held``: the line's ``line_held_quantities`` when the caller already has them)."""
    category = line.sku.product.category
    outbound = (
        Shipment.objects.filter(line_id=line.pk, purpose=Shipment.Purpose.OUTBOUND)
        .only("shipped_at", "signed_at")
        .order_by("pk")
        .first()
    )
    open_units, completed, _amount = held or line_held_quantities(line)
    return rules.LineFacts(
        no_reason_class=category.no_reason_class,
        exclusion_reason=category.exclusion_reason,
        exclusion_confirmed_at=line.exclusion_confirmed_at,
        shipped_at=outbound.shipped_at if outbound else None,
        signed_at=outbound.signed_at if outbound else None,
        received_at=outbound.signed_at if outbound else None,
        quantity=line.quantity,
        quantity_open=open_units,
        quantity_completed=completed,
        cancelled_at=line.cancelled_at,
    )


def line_options(line, *, now=None):
    """``rules.return_options`` for ``line`` at ``now`` (default: the clock)."""
    return rules.return_options(
        line_facts(line), now=now or clock.now(), windows=line_window_settings(line)
    )


def line_shipping_payer(line, reason_kind):
    """Who pays the return shipping of ``line`` for a reason of ``reason_kind`` (R8, R9), with
    the merchant's "退货免运费" commitment (policy ``returns.free_return_shipping``)."""
    return rules.return_shipping_payer(
        reason_kind,
        merchant_commits_free_return=bool(
            policy_value(
                "returns.free_return_shipping",
                merchant_id=line.order.merchant_id,
                category_id=line.sku.product.category_id,
            )
        ),
    )
