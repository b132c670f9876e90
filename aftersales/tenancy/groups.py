"""The four platform staff groups and their Django model permissions (standard 4.1).

``platform_groups_ensure`` is data-safe: it creates missing groups and adds missing permissions,
and never removes a permission staff granted by hand (unless ``reset=True``). It runs after every
``migrate`` (``post_migrate``, hooked up in ``AftersalesConfig.ready``) and from
``manage.py setup_platform_groups``.

- auditor (审计员): view only, everything.
- after_sales_agent (售后专员): view everything; add and change the case apps' records
  (orders, returns, repairs, complaints, price protection, invoices).
- after_sales_manager (售后主管): the agent's rights plus add and change on the kernel
  (merchants, consumers, API keys, policies, deadlines, ...).
- mediator (调解员): view of the case apps only; each case is granted to the mediator through
  django-guardian, which is what the API and pages check.

Nobody gets delete through a group: records are closed or revoked, not deleted. Append-only
records (timeline, domain events, idempotency, personal-data access log) are view-only for all.
The one exception is the sign-in lock (django-axes, ``aftersales.tenancy.signin``): managers
unlock an account or an address by deleting its access-attempt row; auditors and managers read
the sign-in logs.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS, transaction

from aftersales.tenancy.models import PlatformGroup

PROJECT_APPS = (
    "aftersales",
    "orders",
    "returns",
    "repairs",
    "complaints",
    "pricing_guard",
    "invoices",
)
CASE_APPS = ("orders", "returns", "repairs", "complaints", "pricing_guard", "invoices")
APPEND_ONLY = {
    ("aftersales", "timelineevent"),
    ("aftersales", "domainevent"),
    ("aftersales", "idempotencyrecord"),
    ("aftersales", "piiaccesslog"),
}


SIGNIN_APP = "axes"


def _wanted(app_label, model, action, group):
    if app_label == SIGNIN_APP:
        if group == PlatformGroup.MANAGER and model == "accessattempt" and action == "delete":
            return True
        return action == "view" and group in (PlatformGroup.MANAGER, PlatformGroup.AUDITOR)
    if action == "delete":
        return False
    if action == "view":
        return group != PlatformGroup.MEDIATOR or app_label in CASE_APPS
    if (app_label, model) in APPEND_ONLY:
        return False
    if group == PlatformGroup.AGENT:
        return app_label in CASE_APPS
    if group == PlatformGroup.MANAGER:
        return model != "user"  # accounts stay with superusers
    return False


def platform_group_permissions():
    """``{group name: set of Permission}`` as the policy above defines it."""
    labels = (*PROJECT_APPS, SIGNIN_APP)
    perms = Permission.objects.filter(content_type__app_label__in=labels).select_related(
        "content_type"
    )
    out = {g: set() for g in PlatformGroup.values}
    for perm in perms:
        action = perm.codename.split("_", 1)[0]
        if action not in {"view", "add", "change", "delete"}:
            action = "change"  # custom permissions count as changes
        for group in out:
            if _wanted(perm.content_type.app_label, perm.content_type.model, action, group):
                out[group].add(perm)
    return out


def platform_groups_ensure(*, reset=False):
    """Create the four groups and give them their permissions; returns added counts."""
    added = {}
    with transaction.atomic():
        for name, perms in platform_group_permissions().items():
            group, _ = Group.objects.get_or_create(name=name)
            have = set(group.permissions.all())
            if reset:
                group.permissions.set(perms)
                added[name] = len(perms - have)
            else:
                group.permissions.add(*(perms - have))
                added[name] = len(perms - have)
    return added


def on_post_migrate(sender, **kwargs):
    """``post_migrate`` receiver: runs once per ``migrate`` (sent for the aftersales app)."""
    if kwargs.get("using", DEFAULT_DB_ALIAS) != DEFAULT_DB_ALIAS:
        return
    # Permissions are created by auth's own post_migrate receiver, which runs for every app;
    # make sure they exist for all apps before reading them.

    for config in global_apps.get_app_configs():
        if config.label in PROJECT_APPS or config.label == SIGNIN_APP:
            create_permissions(config, verbosity=0, using=DEFAULT_DB_ALIAS)
    platform_groups_ensure()
