"""Complaints, grading and mediation (standard 6.6)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "complaints"
    verbose_name = _("投诉")

    def ready(self):
        # Imported here, once the app registry is ready: the policy keys, the deadline kinds
        # and the status listener register on import; the Celery tasks; the timeline labels.
        from aftersales.casefile.timeline import timeline_verbs_register

        from . import deadlines, events, policies, tasks  # noqa: F401
        from .labels import timeline_verb_labels

        timeline_verbs_register(timeline_verb_labels())
