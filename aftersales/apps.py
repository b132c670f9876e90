"""The shared kernel: tenancy, clock, policies, timeline, events, PII."""

from django.apps import AppConfig


class AftersalesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aftersales"
    verbose_name = "售后平台"

    def ready(self):
        from django.db.models.signals import post_migrate

        from . import deadlines, subscriptions  # noqa: F401  (deadline engine; the outbox)
        from .groups import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self)
