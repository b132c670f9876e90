"""Price protection (standard 6.8)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PricingGuardConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pricing_guard"
    verbose_name = _("价格保护")

    def ready(self):
        from . import policies  # noqa: F401  (registers the app's policy keys)
