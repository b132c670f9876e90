"""Three-guarantee repairs (standard 6.5)."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy

from aftersales import clock

from .seed import seed_catalog


class RepairsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "repairs"
    verbose_name = gettext_lazy("三包维修")

    def ready(self):
        # Imported here, once the app registry is ready (each of them imports models): the
        # deadline kinds, status rules and subscriptions register on import; the provider role
        # and the revealable fields are registered with the kernel below; its Celery tasks; the
        # labels of the timeline's verbs.
        from aftersales.casefile.timeline import timeline_verbs_register
        from aftersales.tenancy.actors import actor_role_register

        from . import deadlines, events, tasks  # noqa: F401
        from .labels import timeline_verb_labels
        from .selectors import provider_actor
        from .services import reveal_register

        actor_role_register(provider_actor)
        reveal_register()
        timeline_verbs_register(timeline_verb_labels())
        post_migrate.connect(_seed_empty_catalog, sender=self)


def _seed_empty_catalog(sender, using="default", **kwargs):
    """Every install has the RULES.md catalog (migration 0002). A database emptied by
    ``flush`` (which re-sends ``post_migrate``, e.g. after a transactional test) gets it again;
    a catalog that has entries is left alone."""
    # Not at the top: apps.py is imported before the app registry is ready.
    from .models import SanbaoCatalogChange, SanbaoCatalogEntry

    if SanbaoCatalogEntry.objects.using(using).exists():
        return
    seed_catalog(SanbaoCatalogEntry, SanbaoCatalogChange, now=clock.now())
