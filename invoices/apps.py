"""Blue and red-letter e-invoices (standard 6.9)."""

from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "invoices"
    verbose_name = "发票"
