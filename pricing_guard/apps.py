"""Price protection (standard 6.8)."""

from django.apps import AppConfig


class PricingGuardConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pricing_guard"
    verbose_name = "价格保护"
