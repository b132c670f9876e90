"""Reads of the kernel, scoped to the caller."""

from aftersales.pii import blind_index
from aftersales.tenancy.models import ApiKey, ConsumerProfile, Merchant
from aftersales.tenancy.scope import access, scoped


def merchant_list(*, actor, filters=None):
    return scoped(Merchant.objects.all(), actor, merchant_field="id", consumer_field=None)


def consumer_list(*, actor, filters=None):
    """Platform sees all consumers; a consumer sees only themself; merchants see none here.

    ``filters["phone"]`` finds a consumer by phone through the blind index (RULES.md D1): the
    phone is normalised (``+86 138-1234-5678`` = ``13812345678``) and never decrypted."""
    qs = ConsumerProfile.objects.select_related("user")
    phone = (filters or {}).get("phone")
    if phone:
        qs = qs.filter(phone_index=blind_index(phone))
    return scoped(qs, actor, merchant_field=None, consumer_field="id")


def consumer_get(*, actor, pk):
    """One consumer the actor may see (platform staff, or the consumer themself); else 404."""
    return access(consumer_list(actor=actor), actor, pk, merchant_field=None, consumer_field="id")


def api_key_list(*, actor, filters=None):
    qs = ApiKey.objects.select_related("merchant")
    if actor.kind == "integrator":
        return qs.filter(pk=actor.api_key.pk)
    return scoped(qs, actor, merchant_field=None, consumer_field=None)
