"""Three-guarantee repairs (standard 6.5)."""

from django.apps import AppConfig


class RepairsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "repairs"
    verbose_name = "三包维修"

    def ready(self):
        from aftersales.actors import actor_role_register

        from . import deadlines, events  # noqa: F401  (deadline kinds, status rules, subscribers)
        from .selectors import provider_actor

        actor_role_register(provider_actor)
