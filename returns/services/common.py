"""Helpers every sub-domain of the returns services shares: who may act on a request
(``require_consumer``, ``require_merchant``, ``require_platform``), the check that the result is
still in the actor's scope (``check_scope``), the request's row lock (``locked_request``), the
timeline (``record``), domain events (``publish``), notifications (``notify_parties``), input
cleaning (``money``, ``required_text``) and the policies in force for a request
(``request_policy``).
"""

from django.utils.translation import gettext as _
from guardian.shortcuts import get_perms

from aftersales.casefile.events import event_publish
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.messaging.notifications import notify_users
from aftersales.money import yuan
from aftersales.policies import policy_get
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.scope import ensure_in_scope
from orders import services as order_services

from ..models import ReturnEvidence, ReturnRequest

RETURN_GRANT = "returns.view_returnrequest"
"""The django-guardian permission that grants one request to a mediator."""

KIND_REFUND_ONLY = ReturnRequest.Kind.REFUND_ONLY
KINDS = ReturnRequest.Kind.values


def iso(dt):
    """``dt`` in ISO 8601 for event payloads and timeline data (``None`` stays ``None``)."""
    return dt.isoformat() if dt else None


def money(value, field):
    """``value`` as yuan with two places; ``amount_invalid`` on ``field`` when it is not one."""
    try:
        amount = yuan(str(value) if isinstance(value, float) else value)
    except Exception:  # noqa: BLE001 - InvalidOperation, TypeError, ValueError
        raise InvalidInput(
            _("请填写合法的金额。"), code="amount_invalid", fields={field: "amount_invalid"}
        ) from None
    return amount


def required_text(value, field, message):
    """``value`` stripped; ``<field>_required`` with ``message`` when it is empty."""
    value = (value or "").strip()
    if not value:
        raise InvalidInput(message, code=f"{field}_required", fields={field: "required"})
    return value


def actor_party(actor, request):
    """Which side of the request ``actor`` is on: consumer, merchant, else platform."""
    if actor.consumer_id is not None and actor.consumer_id == request.consumer_id:
        return ReturnEvidence.Party.CONSUMER
    if actor.merchant_id is not None and actor.merchant_id == request.merchant_id:
        return ReturnEvidence.Party.MERCHANT
    return ReturnEvidence.Party.PLATFORM


def actor_user(actor):
    """The actor's saved user, if any (``None`` for system and API-key actors)."""
    return actor.user if getattr(actor.user, "pk", None) else None


def _has_grant(actor, request):
    user = actor_user(actor)
    if user is None or not actor.is_mediator:
        return False
    return "view_returnrequest" in get_perms(user, request)


def require_consumer(actor, request):
    """The request's consumer, or a platform writer acting for them."""
    if actor.platform_write or (
        actor.consumer_id is not None and actor.consumer_id == request.consumer_id
    ):
        return
    if actor.merchant_id is not None and actor.merchant_id == request.merchant_id:
        raise PermissionDenied(_("此操作只能由消费者本人进行。"), code="consumer_only")
    if actor.platform_read or _has_grant(actor, request):
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    raise NotFound()


def require_merchant(actor, request):
    """The request's merchant (staff or merchant key), or a platform writer."""
    if _has_grant(actor, request):
        raise PermissionDenied(_("调解员不能代商家操作。"))
    order_services.require_merchant_write(
        actor, request.merchant_id, consumer_id=request.consumer_id
    )


def require_platform(actor, request, *, mediator=False):
    """Platform writers (and, with ``mediator``, a mediator granted this request)."""
    if actor.platform_write or (mediator and _has_grant(actor, request)):
        return
    if (
        actor.platform_read
        or _has_grant(actor, request)
        or actor.merchant_id == request.merchant_id
        or actor.consumer_id == request.consumer_id
    ):
        raise PermissionDenied(_("此操作只能由平台处理。"), code="platform_only")
    raise NotFound()


def check_scope(request, actor):
    """After a write, inside its transaction: the request is still in the actor's scope."""
    ensure_in_scope(request, actor, grant_perm=RETURN_GRANT)


def locked_request(request):
    """The request re-read under its row lock, with its order, line, consumer and merchant."""
    # of=self: FOR UPDATE over a join would also lock the merchant, product, consumer... rows
    # and serialize every request of a merchant.
    return (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("order", "line__sku__product", "consumer__user", "merchant")
        .get(pk=request.pk)
    )


def _payload(request, **extra):
    return {
        "return_request_id": request.pk,
        "number": request.number,
        "order_id": request.order_id,
        "line_id": request.line_id,
        "merchant_id": request.merchant_id,
        "consumer_id": request.consumer_id,
        "kind": request.kind,
        "status": request.status,
        "quantity": request.quantity,
        "amount": str(request.amount),
        **extra,
    }


def publish(name, request, **extra):
    """Publish the domain event ``name`` of a request (standard payload plus ``extra``)."""
    return event_publish(name, subject=request, payload=_payload(request, **extra))


def notify_parties(request, event, *, to=("consumer", "merchant"), actor=SYSTEM, **facts):
    """Tell the consumer and/or the merchant's staff, all in one go (``notify_users``), with the
    event's template in each recipient's language (``notifications/<lang>/<event>/``) filled
    from ``facts`` and the request's own (number, kind, amount, status; ``audience`` says who
    reads it: ``consumer``, ``merchant`` or ``both``). A message that cannot be rendered never
    fails the write (the timeline already records what happened); its rows are written like
    the write's own, with no savepoint: inserts of new rows in the write's transaction, which
    fail only when the transaction itself does."""
    audience = "both" if len(to) > 1 else to[0]
    context = {
        "number": request.number,
        "return_request_id": request.pk,
        "status": request.status,
        "status_label": ReturnRequest.Status(request.status).label,
        "request_kind": ReturnRequest.Kind(request.kind).label,
        "amount": request.amount,
        "audience": audience,
        **facts,
    }
    notify_users(
        users=[request.consumer.user_id] if "consumer" in to else [],
        merchant_staff_of=request.merchant_id if "merchant" in to else None,
        event=event,
        context=context,
        subject=request,
        actor=actor,
        quiet=True,
    )


def record(request, verb, actor, *, reason="", data=None):
    """Write a timeline event of the request (its number always in ``data``)."""
    return timeline_record(
        subject=request,
        verb=verb,
        actor=actor,
        reason=reason,
        data={"number": request.number, **(data or {})},
    )


def request_policy(request, key):
    """The ``PolicyRef`` of ``key`` in force for a request: its merchant, then its product's
    category, then the platform (RULES.md: policies per platform, category and merchant)."""
    return policy_get(
        key, merchant_id=request.merchant_id, category_id=request_category_id(request)
    )


def request_category_id(request):
    """The category of the request's product, kept on the instance as ``category_id_cached``
    (set when the request is created, else read once)."""
    cached = getattr(request, "category_id_cached", None)
    if cached is None:
        cached = (
            ReturnRequest.objects.filter(pk=request.pk)
            .values_list("line__sku__product__category_id", flat=True)
            .first()
        )
        request.category_id_cached = cached
    return cached
