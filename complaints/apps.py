"""Complaints, grading and mediation (standard 6.6)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "complaints"
    verbose_name = _("投诉")

    def ready(self):
        from . import policies  # noqa: F401  (registers the app's policy keys)
