"""Catalog, orders, payments, shipments and tracking (standard 6.2)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = gettext_lazy("订单与物流")

    def ready(self):
        # Imported here, once the app registry is ready (they import models), to register
        # them: subscriptions and logistics' deadline kind; policy keys; the Celery tasks the
        # sandbox adapters send by name, in every process (web as well as worker); the labels
        # of the timeline's verbs.
        from aftersales.casefile.timeline import timeline_verbs_register

        from . import events, policies, tasks  # noqa: F401
        from .labels import timeline_verb_labels

        timeline_verbs_register(timeline_verb_labels())
