"""The shared kernel: tenancy, clock, policies, timeline, events, PII."""

from django.apps import AppConfig


class AftersalesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aftersales"
    verbose_name = "售后平台"
