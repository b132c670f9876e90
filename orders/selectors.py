"""Reads of orders and logistics, scoped to the caller (ARCHITECTURE.md "Tenancy")."""

from django.db.models import Prefetch, Q

from aftersales.scope import access, scoped

from .models import Category, Order, OrderLine, Product, Shipment, TrackingEvent


def order_list(*, actor, filters=None):
    """Orders the actor may see, newest first, with merchant and consumer joined.

    ``filters``: ``status``, ``number`` (exact), ``q`` (order number or product name contains),
    ``placed_from`` / ``placed_to`` (dates, Shanghai), ``merchant`` (platform only).
    """
    filters = filters or {}
    qs = Order.objects.select_related("merchant", "consumer__user")
    qs = scoped(qs, actor)
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("number"):
        qs = qs.filter(number=filters["number"])
    if filters.get("q"):
        term = filters["q"]
        qs = qs.filter(Q(number__icontains=term) | Q(lines__product_name__icontains=term)).distinct()
    if filters.get("placed_from"):
        qs = qs.filter(placed_at__date__gte=filters["placed_from"])
    if filters.get("placed_to"):
        qs = qs.filter(placed_at__date__lte=filters["placed_to"])
    if filters.get("merchant") and actor.platform_read:
        qs = qs.filter(merchant_id=filters["merchant"])
    return qs.order_by("-id")


def order_get(*, actor, pk):
    """One order with lines, shipments and their tracking events; 404 outside the scope."""
    qs = Order.objects.select_related("merchant", "consumer__user").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("sku__product__category")),
        Prefetch(
            "shipments",
            queryset=Shipment.objects.select_related("sign_off").prefetch_related(
                Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "id"))
            ),
        ),
        "payments__tenders",
    )
    return access(qs, actor, pk)


def shipment_list(*, actor, filters=None):
    qs = Shipment.objects.select_related("order", "line")
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
