"""Helpers shared by the repairs services' sub-domains: time, numbers and amounts; who may act;
notifications and domain events; row locks and status moves of cards and repairs; the
provider staff's django-guardian grants; escalations opened and closed from several places.
"""

import secrets
from datetime import timedelta

from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.statuses import status_move
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import InvalidInput, NotFound, PermissionDenied
from aftersales.messaging.notifications import merchant_staff, notify_quietly

from .. import rules
from ..models import RepairOrder, RepairProviderMember, WarrantyCard, WarrantyEscalation

FUTURE_TOLERANCE = timedelta(minutes=10)
VIEW_PERM = "repairs.view_repairorder"
CHANGE_PERM = "repairs.change_repairorder"
PARTS_ONLY_RULE = "G3P"  # whole unit out of period, main parts still covered (G3, G9)


# -- time, numbers ------------------------------------------------------------------------------


def new_number(prefix):
    """A case number: ``prefix``, the local date and eight random digits."""
    return f"{prefix}{clock.local(clock.now()):%Y%m%d}{secrets.randbelow(10**8):08d}"


def iso(dt):
    """``dt`` in ISO 8601 for payloads and timeline data; ``None`` stays ``None``."""
    return dt.isoformat() if dt else None


def clean_instant(value, field, *, default=None, not_before=None):
    """An aware instant not in the future (and not before ``not_before``), else InvalidInput."""
    value = value or default or clock.now()
    if value.tzinfo is None:
        raise InvalidInput(
            _("时间必须带时区。"), code=f"{field}_invalid", fields={field: "timezone required"}
        )
    if value > clock.now() + FUTURE_TOLERANCE:
        raise InvalidInput(
            _("时间不能在未来。"), code=f"{field}_in_future", fields={field: "future"}
        )
    if not_before is not None and value < not_before - FUTURE_TOLERANCE:
        raise InvalidInput(
            _("时间早于上一步骤。"),
            code=f"{field}_too_early",
            fields={field: iso(not_before)},
        )
    return value


# -- who may act --------------------------------------------------------------------------------


def require_writer(actor, *, merchant_id, consumer_id=None, consumer_may=False):
    """Platform writers; the case's merchant staff; the case's consumer when ``consumer_may``.
    Others who can see the case get 403, everyone else 404."""
    if actor.platform_write:
        return
    if actor.merchant_id is not None and actor.merchant_id == merchant_id:
        return
    if consumer_id is not None and actor.consumer_id == consumer_id:
        if consumer_may:
            return
        raise PermissionDenied(_("消费者不能执行此操作。"))
    if actor.platform_read:
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    raise NotFound()


def require_platform_write(actor):
    """Platform writers only; read-only platform roles and everyone else get 403."""
    if actor.platform_write:
        return
    if actor.platform_read:
        raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
    raise PermissionDenied(_("只有平台可以执行此操作。"), code="platform_only")


def require_repairer(actor, repair):
    """Provider staff granted ``change`` on the repair, a platform writer (recording for the
    provider), or the merchant's API key (its own repair system). The repair's consumer and the
    merchant's staff see it but may not act as its repairer."""
    if actor.platform_write:
        return
    if actor.api_key is not None and actor.merchant_id == repair.merchant_id:
        return  # the merchant's own repair system, through its API key (issue 5)
    user = actor.user if actor.is_provider else None
    if user is not None and user.has_perm(CHANGE_PERM, repair):
        return
    if user is not None and not user.has_perm(VIEW_PERM, repair):
        raise NotFound()
    if actor.consumer_id == repair.consumer_id or actor.merchant_id == repair.merchant_id:
        raise PermissionDenied(
            _("只有承修的维修服务商可以记录维修进度。"),
            code="repairer_only",
        )
    if actor.platform_read or user is not None:
        raise PermissionDenied(_("无权操作该维修单。"), code="permission_denied")
    raise NotFound()


# -- notifications and events -------------------------------------------------------------------


def users_of_provider(provider_id):
    """The staff users of the provider ``provider_id`` (none when it is ``None``)."""
    if provider_id is None:
        return []
    return [
        m.user
        for m in RepairProviderMember.objects.filter(provider_id=provider_id).select_related("user")
    ]


def notify(users, *, event, subject, actor, **context):
    """Notify each of ``users`` of ``event`` with the event's template in their language
    (``notifications/<lang>/<event>/``), filled from ``context``: the facts of the message
    (numbers, amounts, instants), and ``audience`` when the event tells several parties
    different things (a failed send never undoes the write)."""
    for user in users:
        notify_quietly(
            recipient_user=user, event=event, context=context, subject=subject, actor=actor
        )


def consumer_user(obj):
    """The user account of the consumer of a card or repair."""
    return obj.consumer.user


def card_payload(card):
    """The domain-event payload of a warranty card."""
    return {
        "card_id": card.pk,
        "number": card.number,
        "order_line_id": card.order_line_id,
        "unit_index": card.unit_index,
        "status": card.status,
        "catalog_code": card.catalog_entry.code if card.catalog_entry_id else None,
        "starts_at": iso(card.starts_at),
        "root_id": card.chain_root_id,
    }


def repair_payload(repair):
    """The domain-event payload of a repair order."""
    return {
        "repair_id": repair.pk,
        "number": repair.number,
        "card_id": repair.card_id,
        "order_line_id": repair.order_line_id,
        "provider_id": repair.provider_id,
        "status": repair.status,
        "service_mode": repair.service_mode,
        "is_paid": repair.is_paid,
        "paid_reason": repair.paid_reason,
        "entitlement_rule": repair.entitlement_rule,
        "received_at": iso(repair.received_at),
        "finished_at": iso(repair.finished_at),
        "result": repair.result,
    }


def publish(name, obj, payload):
    """Publish the domain event ``name`` about ``obj`` (the webhook outbox follows)."""
    event_publish(name, subject=obj, payload=payload)


# -- row locks and status moves -----------------------------------------------------------------


def locked_card(card):
    """``card`` read again under a row lock, with its catalog entry and consumer."""
    return (
        WarrantyCard.objects.select_for_update(of=("self",))
        .select_related("catalog_entry", "consumer__user")
        .get(pk=card.pk)
    )


def card_move(card, *, to, actor, at=None, note="", data=None):
    """Move ``card`` to ``to`` through ``status_move`` with ``rules.CARD_MOVES``: sets the
    status and its timestamp (``rules.CARD_STATUS_TIMESTAMP``) at ``at`` (default now) and
    records the timeline event ``warranty_card.<to>``. A move the table forbids is a 409
    ``invalid_status_transition``. ``card`` is updated in place."""
    return status_move(
        card,
        to=to,
        actor=actor,
        moves=rules.CARD_MOVES,
        reason=note,
        data=data,
        timestamp_field=rules.CARD_STATUS_TIMESTAMP.get(to),
        verb=f"warranty_card.{to}",
        occurred_at=at,
    )


def locked_repair(repair):
    """``repair`` read again under a row lock, with its card, catalog and consumer."""
    return (
        RepairOrder.objects.select_for_update(of=("self",))
        .select_related("card__catalog_entry", "card__catalog_change", "consumer__user")
        .get(pk=repair.pk)
    )


def repair_move(repair, *, to, actor, reason="", occurred_at=None, data=None):
    """Move ``repair`` to ``to`` through ``status_move`` with ``rules.REPAIR_MOVES`` (its
    timestamp from ``rules.REPAIR_TIMESTAMPS``, timeline event ``repair.<to>``) and publish
    ``repair.<to>``; returns the moved repair."""
    before = repair.status
    moved = status_move(
        repair,
        to=to,
        actor=actor,
        moves=rules.REPAIR_MOVES,
        reason=reason,
        timestamp_field=rules.REPAIR_TIMESTAMPS.get(to),
        verb=f"repair.{to}",
        occurred_at=occurred_at,
        data={"number": repair.number, **(data or {})},
    )
    moved.updated_at = clock.now()
    moved.save(update_fields=["updated_at"])
    publish(f"repair.{to}", moved, {**repair_payload(moved), "from": before, "reason": reason})
    return moved


# -- the provider staff's grants on repair orders (django-guardian) -----------------------------


def grant_repairs(users, repairs):
    """Grant ``users`` view and change on ``repairs`` (django-guardian)."""
    for user in users:
        for perm in (VIEW_PERM, CHANGE_PERM):
            assign_perm(perm, user, RepairOrder.objects.filter(pk__in=[r.pk for r in repairs]))


def revoke_repairs(users, repairs):
    """Remove the grants of ``grant_repairs``."""
    for user in users:
        for perm in (VIEW_PERM, CHANGE_PERM):
            remove_perm(perm, user, RepairOrder.objects.filter(pk__in=[r.pk for r in repairs]))


# -- escalations (G4–G6), opened by a repair request or a remedy, closed by a card's end --------


def escalation_open(card, *, repair, rule, remedy, actor, ent):
    """Open (or return the open) escalation of ``rule`` on ``card``."""
    existing = WarrantyEscalation.objects.filter(
        card=card, rule=rule, status=WarrantyEscalation.Status.OPEN
    ).first()
    if existing is not None:
        return existing
    kinds = [rules.EXCHANGE] + ([rules.RETURN] if rules.RETURN in ent.kinds else [])
    escalation = WarrantyEscalation.objects.create(
        card=card,
        repair=repair,
        merchant_id=card.merchant_id,
        consumer_id=card.consumer_id,
        rule=rule,
        granted_remedies=kinds,
        cost_borne_by=remedy.cost_borne_by,
        explanation=remedy.explanation,
        data={
            k: (iso(v) if hasattr(v, "isoformat") else v)
            for k, v in (remedy.dates or {}).items()
            if not isinstance(v, list)
        },
        raised_at=clock.now(),
    )
    timeline_record(
        subject=escalation,
        verb="warranty_escalation.opened",
        actor=actor,
        to_status=escalation.status,
        reason=escalation.explanation,
        data={"rule": rule, "card_id": card.pk, "repair_id": getattr(repair, "pk", None)},
    )
    publish(
        "warranty_escalation.opened",
        escalation,
        {
            "escalation_id": escalation.pk,
            "card_id": card.pk,
            "rule": rule,
            "granted_remedies": kinds,
        },
    )
    facts = {
        "escalation_id": escalation.pk,
        "rule": rule,
        "product_name": card.product_name,
        "explanation": escalation.explanation,
    }
    notify(
        [consumer_user(card)],
        event="warranty_escalation.opened",
        subject=escalation,
        actor=actor,
        audience="consumer",
        **facts,
    )
    notify(
        merchant_staff(card.merchant_id),
        event="warranty_escalation.opened",
        subject=escalation,
        actor=actor,
        audience="merchant",
        **facts,
    )
    return escalation


def escalation_close(escalation, *, actor, resolution, note=""):
    """Resolve the locked open ``escalation`` as ``resolution``, record and publish it."""
    now = clock.now()
    escalation.status = WarrantyEscalation.Status.RESOLVED
    escalation.resolution = resolution
    escalation.resolution_note = note or ""
    escalation.resolved_by = actor.user if getattr(actor.user, "pk", None) else None
    escalation.resolved_label = actor.label
    escalation.resolved_at = now
    escalation.save(
        update_fields=[
            "status",
            "resolution",
            "resolution_note",
            "resolved_by",
            "resolved_label",
            "resolved_at",
        ]
    )
    timeline_record(
        subject=escalation,
        verb="warranty_escalation.resolved",
        actor=actor,
        from_status="open",
        to_status="resolved",
        reason=note or "",
        data={"resolution": resolution},
    )
    publish(
        "warranty_escalation.resolved",
        escalation,
        {"escalation_id": escalation.pk, "card_id": escalation.card_id, "resolution": resolution},
    )
    return escalation
