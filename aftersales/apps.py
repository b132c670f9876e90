"""The shared kernel: tenancy, clock, policies, timeline, events, PII."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AftersalesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aftersales"
    verbose_name = gettext_lazy("售后平台")

    def ready(self):
        from django.db.models.signals import post_migrate

        # The engine's status listener, the outbox's subscription, and the kernel's Celery tasks
        # (the engine and notifications send them by name).
        from aftersales import tasks  # noqa: F401
        from aftersales.deadlines import engine  # noqa: F401
        from aftersales.messaging import subscriptions  # noqa: F401
        from aftersales.tenancy.groups import on_post_migrate

        post_migrate.connect(on_post_migrate, sender=self)
