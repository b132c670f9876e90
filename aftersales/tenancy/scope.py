"""Tenant scoping of querysets: the one place that says who sees which rows.

Selectors call ``scoped``; anything outside the caller's scope answers 404 (``access``), never
403. Mediators and repair providers see only objects granted to them with django-guardian.
"""

from django.db.models import Q
from guardian.shortcuts import get_objects_for_user

from aftersales.errors import NotFound


def scoped(
    qs, actor, *, merchant_field="merchant_id", consumer_field="consumer_id", grant_perm=None
):
    """``qs`` restricted to what ``actor`` may read.

    ``merchant_field`` / ``consumer_field`` are lookups from the model to its merchant's and
    consumer's ids (``"order__merchant_id"``; ``None`` when the model has no such owner).
    ``grant_perm`` is the guardian permission codename (``"app.view_model"``) that grants
    single objects to other users.
    """
    if actor.platform_read:
        return qs
    conditions = Q(pk__in=[])
    if actor.merchant_id is not None and merchant_field:
        conditions |= Q(**{merchant_field: actor.merchant_id})
    if actor.consumer_id is not None and consumer_field:
        conditions |= Q(**{consumer_field: actor.consumer_id})
    # Grants are for people outside the tenants (mediators, repair providers): merchant staff
    # and consumers are scoped by ownership alone, which keeps their queries cheap.
    if (
        grant_perm
        and actor.merchant_id is None
        and actor.consumer_id is None
        and getattr(actor.user, "pk", None)
    ):
        granted = get_objects_for_user(
            actor.user, grant_perm, klass=qs.model, with_superuser=False, accept_global_perms=False
        ).values("pk")
        conditions |= Q(pk__in=granted)
    return qs.filter(conditions)


def access(qs, actor, pk, **kwargs):
    """The object ``pk`` if ``actor`` may read it, else ``NotFound`` (Zulip's ``access_*``)."""
    try:
        return scoped(qs, actor, **kwargs).get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def ensure_in_scope(obj, actor, **kwargs):
    """After a write, inside the transaction: the object must still be the actor's (NetBox).

    The platform, and a merchant or consumer whose id the written object carries in its own
    owner column, pass without a query (the instance holds what the write stored); anyone else
    (a lookup across relations, a grant) is checked in the database."""
    if actor.platform_read or _owns(obj, actor, **kwargs):
        return
    if not scoped(type(obj)._default_manager.filter(pk=obj.pk), actor, **kwargs).exists():
        raise NotFound()


def _owns(obj, actor, *, merchant_field="merchant_id", consumer_field="consumer_id", **_kwargs):
    for owner, field in ((actor.merchant_id, merchant_field), (actor.consumer_id, consumer_field)):
        if owner is not None and field and "__" not in field and getattr(obj, field, None) == owner:
            return True
    return False
