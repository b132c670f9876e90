"""Returns, exchanges and refunds (standard 6.3)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "returns"
    verbose_name = _("退货退款")

    def ready(self):
        # Imported here, once the app registry is ready (each of them imports models):
        # deadline handlers, status rules and policies; subscribers to orders' events; the
        # labels of the timeline's verbs; the Celery tasks the sandbox adapters send by name,
        # in every process (web as well as worker).
        from aftersales.casefile.timeline import timeline_verbs_register

        from . import deadlines, events, policies, tasks  # noqa: F401
        from .labels import timeline_verb_labels

        timeline_verbs_register(timeline_verb_labels())
