"""Reads of orders and logistics, scoped to the caller (ARCHITECTURE.md "Tenancy")."""

from datetime import UTC, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Prefetch, Q

from aftersales.clock import SHANGHAI
from aftersales.tenancy.scope import access, scoped

from .models import (
    Category,
    GatewayRefund,
    Order,
    OrderLine,
    Payment,
    Product,
    Shipment,
    Sku,
    TrackingEvent,
)


def day_start(day):
    """The first instant of calendar day ``day`` in Shanghai (RULES.md "Time")."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def day_instant_or_none(day, *, next_day=False):
    """The UTC instant calendar day ``day`` (with ``next_day``, the day after) starts in
    Shanghai; ``None`` for a day at either end of the calendar (0001-01-01, 9999-12-31), which
    has no UTC instant to compare with: that bound is open rather than a 500."""
    try:
        return day_start(day + timedelta(days=1) if next_day else day).astimezone(UTC)
    except OverflowError:
        return None


def placed_between(qs, *, placed_from=None, placed_to=None):
    """Orders placed on calendar days ``placed_from`` … ``placed_to`` (inclusive, Shanghai)."""
    start = day_instant_or_none(placed_from) if placed_from else None
    end = day_instant_or_none(placed_to, next_day=True) if placed_to else None
    if start is not None:
        qs = qs.filter(placed_at__gte=start)
    if end is not None:
        qs = qs.filter(placed_at__lt=end)
    return qs


def order_search(qs, term):
    """Orders whose number or one of whose product names contains ``term``."""
    lines = OrderLine.objects.filter(order=OuterRef("pk"), product_name__icontains=term)
    return qs.filter(Q(number__icontains=term) | Exists(lines))


# Mediators (and later other case handlers) see single orders granted with django-guardian.
ORDER_GRANT = "orders.view_order"


def order_list(*, actor, filters=None):
    """Orders the actor may see, newest first, with merchant, consumer and lines (the portals'
    order lists show each order's products).

    ``filters``: ``status``, ``number`` (exact), ``q`` (order number or product name contains),
    ``placed_from`` / ``placed_to`` (dates, Shanghai), ``merchant`` (platform only).
    """
    filters = filters or {}
    qs = Order.objects.select_related("merchant", "consumer__user").prefetch_related("lines")
    qs = scoped(qs, actor, grant_perm=ORDER_GRANT)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("number"):
        qs = qs.filter(number=filters["number"])
    if filters.get("q"):
        qs = order_search(qs, filters["q"])
    qs = placed_between(
        qs, placed_from=filters.get("placed_from"), placed_to=filters.get("placed_to")
    )
    if filters.get("merchant") and actor.platform_read:
        qs = qs.filter(merchant_id=filters["merchant"])
    return qs.order_by("-id")


ORDER_LIST_COLUMNS = [
    "id",
    "number",
    "status",
    "merchant_id",
    "merchant__name",
    "consumer_id",
    "consumer__name",
    "total_amount",
    "placed_at",
    "paid_at",
    "delivered_at",
]


def order_list_lean(*, actor):
    """The API's orders list: only the columns of a list row (no encrypted address columns)."""
    qs = Order.objects.select_related("merchant", "consumer").only(*ORDER_LIST_COLUMNS)
    return scoped(qs, actor, grant_perm=ORDER_GRANT).order_by("-id")


def _shipments_prefetch():
    return Prefetch(
        "shipments",
        queryset=Shipment.objects.select_related("sign_off")
        .prefetch_related(
            Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "id"))
        )
        .order_by("id"),
    )


def order_detail_queryset(*, actor):
    qs = Order.objects.select_related("merchant", "consumer__user").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("sku__product__category").order_by("id"),
        ),
        _shipments_prefetch(),
        Prefetch("payments", queryset=Payment.objects.prefetch_related("tenders").order_by("id")),
    )
    return scoped(qs, actor, grant_perm=ORDER_GRANT)


def order_get(*, actor, pk):
    """One order with lines, shipments and their tracking events; 404 outside the scope."""
    return access(order_detail_queryset(actor=actor), actor, pk, grant_perm=ORDER_GRANT)


def shipment_list(*, actor, filters=None):
    """Parcels of the orders the actor may see, with their events and sign-off."""
    qs = Shipment.objects.select_related("order", "line", "sign_off").prefetch_related(
        Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "id"))
    )
    return scoped(qs, actor, consumer_field="order__consumer_id").order_by("-id")


def shipment_get(*, actor, pk):
    return access(shipment_list(actor=actor), actor, pk, consumer_field="order__consumer_id")


def payment_list(*, actor, filters=None):
    qs = Payment.objects.select_related("order").prefetch_related("tenders")
    return scoped(
        qs, actor, merchant_field="order__merchant_id", consumer_field="order__consumer_id"
    ).order_by("-id")


def gateway_refund_list(*, actor):
    qs = GatewayRefund.objects.select_related("tender", "order")
    return scoped(qs, actor, consumer_field="order__consumer_id").order_by("-id")


def category_list(*, actor=None, filters=None):
    """Categories are public reference data for every signed-in role."""
    return Category.objects.all()


def product_list(*, actor, filters=None):
    """Platform sees all products; a merchant its own; consumers the active catalog."""
    qs = Product.objects.select_related("merchant", "category")
    if actor.is_consumer:
        return qs.filter(is_active=True)
    return scoped(qs, actor, consumer_field=None)


def sku_list(*, actor, filters=None):
    """SKUs of the products the actor may see."""
    qs = Sku.objects.select_related("product")
    if actor.is_consumer:
        return qs.filter(product__is_active=True)
    return scoped(qs, actor, merchant_field="product__merchant_id", consumer_field=None)
