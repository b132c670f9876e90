"""The floor views of the benchmarks (never part of the product).

``bare_orders`` — the floor of the list benchmark: the same page of a merchant's orders, without
DRF.

It does the work the API cannot avoid: find the merchant of the ``Api-Key`` (one query on the
hashed key), read one keyset page with ``.values()`` (merchant and consumer joined, the
consumer's name decrypted and masked) and return it with ``JsonResponse``. No serializer, no
permissions, no pagination class; the same middleware stack as the API.
"""

import json

from django.db import transaction
from django.http import JsonResponse

from aftersales.casefile.models import TimelineEvent
from aftersales.pii import mask_name
from aftersales.tenancy.auth import parse_raw_key
from aftersales.tenancy.models import ApiKey
from orders.models import Order, OrderLine

# The columns behind the API's list row (orders/api/serializers.py OrderListSerializer).
FIELDS = (
    "id",
    "number",
    "status",
    "merchant_id",
    "merchant__name",
    "consumer_id",
    "consumer__name",
    "total_amount",
    "placed_at",
    "paid_at",
    "delivered_at",
)


def bare_orders(request):
    raw = parse_raw_key(request.headers.get("Authorization"))
    pieces = (raw or "").split("_")
    merchant_id = None
    if len(pieces) >= 3:
        merchant_id = (
            ApiKey.objects.filter(
                prefix=pieces[1], hashed_key=ApiKey.hash(raw), revoked_at__isnull=True
            )
            .values_list("merchant_id", flat=True)
            .first()
        )
    if merchant_id is None:
        return JsonResponse({"code": "authentication_failed"}, status=401)
    size = max(1, min(int(request.GET.get("page_size") or 25), 100))
    qs = Order.objects.filter(merchant_id=merchant_id).order_by("-id")
    if request.GET.get("before"):
        qs = qs.filter(id__lt=int(request.GET["before"]))
    rows = list(qs.values(*FIELDS)[: size + 1])
    for row in rows:  # the same keys and masking as the API row
        row["merchant"] = row.pop("merchant_id")
        row["merchant_name"] = row.pop("merchant__name")
        row["consumer"] = row.pop("consumer_id")
        row["consumer_name"] = mask_name(row.pop("consumer__name"))
    next_url = None
    if len(rows) > size:
        rows = rows[:size]
        next_url = request.build_absolute_uri(
            f"{request.path}?page_size={size}&before={rows[-1]['id']}"
        )
    return JsonResponse({"next": next_url, "previous": None, "results": rows})


def bare_create(request):
    """The floor of the returns benchmark's creates: the least a create through the API pays.

    The same middleware stack (session, CSRF, the signed-in user with its roles), the JSON body
    read, then one transaction that locks the consumer's order line and writes one timeline
    row, answered with ``JsonResponse`` 201. No DRF, no entitlement check, no other rows.
    """
    user = request.user
    consumer = getattr(user, "consumer", None) if user.is_authenticated else None
    if consumer is None:
        return JsonResponse({"code": "not_authenticated"}, status=403)
    body = json.loads(request.body or b"{}")
    with transaction.atomic():
        line = (
            OrderLine.objects.select_for_update()
            .filter(pk=body.get("line"), order__consumer_id=consumer.pk)
            .values_list("id", "order__merchant_id")
            .first()
        )
        if line is None:
            return JsonResponse({"code": "not_found"}, status=404)
        event = TimelineEvent.objects.create(
            subject_type="orders.orderline",
            subject_id=line[0],
            merchant_id=line[1],
            verb="bench.floor",
            actor_kind="consumer",
            actor_user=user,
        )
    return JsonResponse({"id": event.pk, "status": "requested"}, status=201)
