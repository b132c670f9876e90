"""Helpers shared by the orders services' sub-domains: who may write, amounts and instants,
the carrier adapter, the high-value rule of a line (R17), and the order's status moves that
payments, shipments, sign-offs and cancelled lines drive.
"""

from datetime import timedelta
from decimal import InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.statuses import status_move
from aftersales.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.money import yuan
from aftersales.policies import policy_value

from .. import rules
from ..adapters import get_carrier
from ..models import Order, Shipment, SignOff

# Carriers' clocks drift; an event further in the future than this is a data error.
FUTURE_TOLERANCE = timedelta(minutes=10)


# -- who may write ------------------------------------------------------------------------------


def require_merchant_write(actor, merchant_id, *, consumer_id=None):
    """Platform writers change any merchant's data; merchant staff and merchant keys their own.

    Everyone else gets 404 (the object is outside their scope), except read-only platform
    roles and the order's own consumer, who can see it and get 403.
    """
    if actor.platform_write:
        return
    if actor.merchant_id is not None and actor.merchant_id == merchant_id:
        return
    if actor.platform_read:
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    if consumer_id is not None and actor.consumer_id == consumer_id:
        raise PermissionDenied(_("消费者不能执行此操作。"))
    raise NotFound()


ORDER_CREATE_PLATFORM_ONLY = gettext_lazy(
    "订单由平台商城系统记录：只有平台 API 密钥和有写权限的平台员工可以创建订单，"
    "商家员工和商家密钥不能创建订单。"
)


def require_order_create(actor):
    """Only platform writers record orders (the platform's shop system places them).

    A merchant could otherwise put an order on any consumer's pages. Everyone else gets 403.
    """
    if actor.platform_write:
        return
    if actor.platform_read:
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    raise PermissionDenied(ORDER_CREATE_PLATFORM_ONLY, code="order_create_platform_only")


# -- amounts, instants, adapters ----------------------------------------------------------------


# What each amount field is called in an error (the API's field names stay in ``fields``).
MONEY_FIELD_LABELS = {
    "amount": gettext_lazy("金额"),
    "price": gettext_lazy("价格"),
    "unit_price": gettext_lazy("单价"),
    "order_discount": gettext_lazy("订单优惠"),
    "discount_amount": gettext_lazy("优惠金额"),
    "paid_amount": gettext_lazy("实付金额"),
    "total_amount": gettext_lazy("实付总额"),
    "declared_value": gettext_lazy("声明价值"),
}


def clean_money(value, field):
    """``value`` in yuan (two places), else InvalidInput ``amount_invalid`` on ``field``."""
    try:
        if isinstance(value, float):
            value = str(value)
        return yuan(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(
            _("%(field)s不是合法金额。") % {"field": MONEY_FIELD_LABELS.get(field, _("金额"))},
            code="amount_invalid",
            fields={field: "amount_invalid"},
        ) from None


def iso(dt):
    """``dt`` in ISO 8601 for payloads and timeline data; ``None`` stays ``None``."""
    return dt.isoformat() if dt else None


def carrier_adapter():
    """The carrier adapter in use (``orders.adapters.get_carrier``)."""
    return get_carrier()


# -- high-value lines (RULES.md R17) ------------------------------------------------------------


def high_value_threshold(line):
    """The policy threshold in force for ``line`` (RULES.md R17, per merchant or category)."""
    return policy_value(
        "returns.high_value_threshold",
        merchant_id=line.order.merchant_id,
        category_id=line.sku.product.category_id,
    )


def line_is_high_value(line):
    """Is the unit paid price of ``line`` at or above its high-value threshold (R17)?"""
    return rules.is_high_value(line.unit_paid_price, high_value_threshold(line))


# -- the order's status moves -------------------------------------------------------------------


def order_move(order, *, to, actor, reason="", occurred_at=None, held=False):
    """Move ``order`` to ``to`` through ``status_move`` with ``rules.ORDER_MOVES`` and publish
    ``order.status_changed``; returns the moved order (``held``: see ``status_move``)."""
    before = order.status
    moved = status_move(
        order,
        to=to,
        actor=actor,
        moves=rules.ORDER_MOVES,
        reason=reason,
        timestamp_field=rules.ORDER_STATUS_TIMESTAMP.get(to),
        verb="order.status_changed",
        occurred_at=occurred_at,
        data={"number": order.number},
        held=held,
    )
    event_publish(
        "order.status_changed",
        subject=moved,
        payload={
            "order_id": moved.pk,
            "number": moved.number,
            "from": before,
            "to": to,
            "reason": reason,
            "occurred_at": iso(occurred_at or clock.now()),
        },
    )
    return moved


def _open_line_ids(order):
    return set(order.lines.filter(cancelled_at__isnull=True).values_list("pk", flat=True))


def sync_order_progress(order, *, actor, occurred_at=None, locked=False):
    """After shipping, signing or cancelling a line: move the order if its lines say so
    (``locked``: ``order`` is this transaction's locked row, not read again)."""
    if not locked:
        order = Order.objects.select_for_update().get(pk=order.pk)
    open_ids = _open_line_ids(order)
    outbound = Shipment.objects.filter(order=order, purpose="outbound", line_id__in=open_ids)
    shipped = set(outbound.values_list("line_id", flat=True))
    delivered = {}
    for shipment in outbound.filter(signed_at__isnull=False).select_related(
        "line__order", "line__sku__product", "sign_off"
    ):
        at = _delivered_at(shipment)
        if at is not None:
            delivered[shipment.line_id] = at
    if order.status in ("paid", "partially_shipped") and not open_ids:
        if order.status == "paid":
            return order_move(
                order, to="cancelled", actor=actor, reason="all_lines_cancelled", held=locked
            )
        return order
    target = rules.order_status_after_shipping(
        current=order.status, open_lines=len(open_ids), shipped_lines=len(shipped)
    )
    if target != order.status:
        order = order_move(order, to=target, actor=actor, occurred_at=occurred_at, held=locked)
    if order.status in ("shipped", "partially_shipped") and rules.order_delivered(
        open_lines=len(open_ids), signed_lines=len(delivered)
    ):
        order = order_move(
            order, to="delivered", actor=actor, occurred_at=max(delivered.values()), held=locked
        )
    return order


def _delivered_at(shipment):
    """When a signed parcel counts as delivered, or ``None`` while it does not (6.2.3.1).

    The carrier's ``signed`` node is enough for normal lines. A high-value line is delivered
    only once a sign-off with an electronic signature exists for its parcel.
    """
    if not line_is_high_value(shipment.line):
        return shipment.signed_at
    try:
        sign_off = shipment.sign_off
    except SignOff.DoesNotExist:
        return None
    if not (sign_off.e_signature or "").strip():
        return None
    return max(shipment.signed_at, sign_off.signed_at)
