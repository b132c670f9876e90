"""Demo data for a fresh machine (``manage.py seed_demo``): no models, no URLs."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = gettext_lazy("演示数据")

    def ready(self):
        # The label of the one timeline verb the demo records.
        from aftersales.casefile.timeline import timeline_verbs_register

        timeline_verbs_register({"demo.seeded": gettext_lazy("载入演示数据")})
