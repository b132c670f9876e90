"""Reads of the kernel, scoped to the caller."""

from .models import ApiKey, ConsumerProfile, Merchant
from .scope import scoped


def merchant_list(*, actor, filters=None):
    return scoped(Merchant.objects.all(), actor, merchant_field="id", consumer_field=None)


def consumer_list(*, actor, filters=None):
    """Platform sees all consumers; a consumer sees only themself; merchants see none here."""
    qs = ConsumerProfile.objects.select_related("user")
    return scoped(qs, actor, merchant_field=None, consumer_field="id")


def api_key_list(*, actor, filters=None):
    qs = ApiKey.objects.select_related("merchant")
    if actor.kind == "integrator":
        return qs.filter(pk=actor.api_key.pk)
    return scoped(qs, actor, merchant_field=None, consumer_field=None)
