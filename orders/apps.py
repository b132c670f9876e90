"""Catalog, orders, payments, shipments and tracking (standard 6.2)."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = "订单与物流"

    def ready(self):
        from . import events, policies  # noqa: F401  (subscriptions; logistics' deadline kind)
