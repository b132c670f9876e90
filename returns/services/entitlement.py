"""What an order line allows now (RULES.md R1–R4, R8–R11, R15): the facts of the line, its
return options, the units its requests hold and who pays the return shipping. Read by the
creation of a request, by selectors and by pages.
"""

from django.db.models import IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from aftersales import clock
from aftersales.deadlines.calendar import calendar_exceptions
from aftersales.money import MONEY_FIELD, ZERO
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


def _held_sum(field, output_field, *, completed=None):
    """The sum of ``field`` over the outer line's requests that hold units (R15) as a subquery,
    0 when there are none: all of them, or (``completed`` true/false) the completed/open ones."""
    rows = ReturnRequest.objects.filter(QUANTITY_HELD, line_id=OuterRef("pk"))
    if completed is True:
        rows = rows.filter(status__in=COMPLETED_STATUSES)
    elif completed is False:
        rows = rows.exclude(status__in=COMPLETED_STATUSES)
    total = rows.order_by().values("line_id").annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(total, output_field=output_field), Value(0), output_field=output_field)


def _outbound(field):
    return Subquery(
        Shipment.objects.filter(line_id=OuterRef("pk"), purpose=Shipment.Purpose.OUTBOUND)
        .order_by("pk")
        .values(field)[:1]
    )


def with_line_facts(lines):
    """``lines`` (an ``OrderLine`` queryset) carrying what ``line_held_quantities`` and
    ``line_facts`` read besides the line itself, in the same statement: the units and amount its
    requests hold (R15) and the dates of its outbound parcel. Used under the order's row lock
    (``create._locked_line``): requests and shipments of a line are written under that lock, so
    the line's statement, run once the lock is held, sees them all."""
    return lines.annotate(
        held_open_units=_held_sum("quantity", IntegerField(), completed=False),
        held_completed_units=_held_sum("quantity", IntegerField(), completed=True),
        held_amount=_held_sum("amount", MONEY_FIELD),
        outbound_shipped_at=_outbound("shipped_at"),
        outbound_signed_at=_outbound("signed_at"),
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


def line_held_quantities(line):
    """``(open_units, completed_units, allocated_amount)`` of the line's requests that hold
    units (RULES.md R15); read with the line when it comes from ``with_line_facts``."""
    if hasattr(line, "held_amount"):
        return line.held_open_units, line.held_completed_units, line.held_amount
    open_units = completed = 0
    amount = ZERO
    for status, quantity, value in _held_rows(line.pk):
        if status in COMPLETED_STATUSES:
            completed += quantity
        else:
            open_units += quantity
        amount += value
    return open_units, completed, amount


def line_facts(line):
    """The ``rules.LineFacts`` of an order line, read from its parcel, category and requests
    (read with the line when it comes from ``with_line_facts``)."""
    category = line.sku.product.category
    if hasattr(line, "outbound_shipped_at"):  # with_line_facts; a parcel always has shipped_at
        outbound = None
        if line.outbound_shipped_at is not None:
            outbound = Shipment(
                shipped_at=line.outbound_shipped_at, signed_at=line.outbound_signed_at
            )
    else:
        outbound = (
            Shipment.objects.filter(line_id=line.pk, purpose=Shipment.Purpose.OUTBOUND)
            .only("shipped_at", "signed_at")
            .order_by("pk")
            .first()
        )
    open_units, completed, _amount = line_held_quantities(line)
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
        unsealed_at=line.unsealed_at,
    )


def line_options(line, *, now=None):
    """``rules.return_options`` for ``line`` at ``now`` (default: the clock)."""
    return rules.return_options(
        line_facts(line), now=now or clock.now(), windows=line_window_settings(line)
    )


def line_shipping_payer(line, reason_kind):
    """Who pays the return shipping of ``line`` for a reason of ``reason_kind`` (R8, R9), with
    the merchant's "退货免运费" commitment (policy ``returns.free_return_shipping``) and the
    line's return-shipping insurance bought at checkout (运费险)."""
    return rules.return_shipping_payer(
        reason_kind,
        merchant_commits_free_return=bool(
            policy_value(
                "returns.free_return_shipping",
                merchant_id=line.order.merchant_id,
                category_id=line.sku.product.category_id,
            )
        ),
        has_shipping_insurance=line.return_shipping_insured,
    )
