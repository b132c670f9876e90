"""Three-guarantee repairs (standard 6.5)."""

from django.apps import AppConfig


class RepairsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "repairs"
    verbose_name = "三包维修"
