"""Complaints, grading and mediation (standard 6.6)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
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
        post_migrate.connect(_seed_empty_matrix, sender=self)


def _seed_empty_matrix(sender, using="default", **kwargs):
    """A database emptied by ``flush`` (re-sending ``post_migrate``, e.g. after a
    transactional test) gets the starting matrix and the log's head row again."""
    from .models import GradingRule, LogHead
    from .seed import seed_grading

    seed_grading(GradingRule, LogHead, using=using)
