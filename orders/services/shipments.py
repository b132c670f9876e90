"""Shipments, tracking and sign-off (standard 6.2.1, 6.2.3): parcels of lines, the carrier's
trajectory events, who signed, and the order's delivery they lead to.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, RuleViolation

from .. import rules
from ..models import Order, OrderLine, Shipment, SignOff, TrackingEvent
from .common import (
    FUTURE_TOLERANCE,
    carrier_adapter,
    iso,
    line_is_high_value,
    require_merchant_write,
    sync_order_progress,
)


def shipment_create(
    *, line, carrier, tracking_number, actor, shipped_at=None, purpose=Shipment.Purpose.OUTBOUND
):
    """The merchant ships ``line`` (standard 6.2.1).

    Refused when the order is not paid or the line was cancelled; a line has one outbound
    parcel. High-value lines (unit paid price ≥ policy threshold) are insured (R17).
    """
    line = OrderLine.objects.select_related("order", "sku__product").get(pk=line.pk)
    require_merchant_write(actor, line.order.merchant_id, consumer_id=line.order.consumer_id)
    if not carrier or not tracking_number:
        raise InvalidInput(
            _("需要承运商和运单号。"),
            code="tracking_required",
            fields={"carrier": "required", "tracking_number": "required"},
        )
    if purpose not in Shipment.Purpose.values:
        raise InvalidInput(
            _("用途无效。"), code="purpose_invalid", fields={"purpose": Shipment.Purpose.values}
        )
    insured = line_is_high_value(line)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=line.order_id)
        line = OrderLine.objects.select_for_update().get(pk=line.pk)
        if order.status == "cancelled":
            raise RuleViolation(_("订单已取消，不能发货。"), code="order_cancelled")
        if line.cancelled_at is not None:
            raise RuleViolation(_("该订单行已取消，不能发货。"), code="line_cancelled")
        if order.status not in rules.PAID_STATUSES:
            raise RuleViolation(_("订单未付款，不能发货。"), code="line_not_paid")
        if purpose == "outbound" and line.shipments.filter(purpose="outbound").exists():
            raise Conflict(
                _("该订单行已发货。"), code="line_already_shipped", fields={"line": line.pk}
            )
        if Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).exists():
            raise Conflict(
                _("运单号已被使用。"),
                code="tracking_number_taken",
                fields={"tracking_number": tracking_number},
            )
        shipped_at = shipped_at or clock.now()
        shipment = Shipment.objects.create(
            order=order,
            line=line,
            merchant_id=order.merchant_id,
            carrier=carrier,
            tracking_number=tracking_number,
            insured=insured,
            shipped_at=shipped_at,
            purpose=purpose,
        )
        timeline_record(
            subject=shipment,
            verb="shipment.created",
            actor=actor,
            to_status=shipment.status,
            occurred_at=shipped_at,
            data={"order_id": order.pk, "line_id": line.pk, "insured": insured},
        )
        timeline_record(
            subject=order,
            verb="shipment.created",
            actor=actor,
            occurred_at=shipped_at,
            data={
                "shipment_id": shipment.pk,
                "line_id": line.pk,
                "carrier": carrier,
                "tracking_number": tracking_number,
                "insured": insured,
            },
        )
        event_publish(
            "shipment.created",
            subject=shipment,
            payload={
                "shipment_id": shipment.pk,
                "order_id": order.pk,
                "line_id": line.pk,
                "carrier": carrier,
                "tracking_number": tracking_number,
                "insured": insured,
                "purpose": purpose,
                "shipped_at": iso(shipped_at),
            },
        )
        if purpose == "outbound":
            sync_order_progress(order, actor=actor, occurred_at=shipped_at, locked=True)
        shipment_id = shipment.pk
        transaction.on_commit(
            lambda: carrier_adapter().shipment_registered(shipment_id), robust=True
        )
    return shipment


def _tracking_event_apply(
    shipment, *, kind, occurred_at, location, description, external_id, actor
):
    """Insert one event into the locked ``shipment``; returns ``(event, created, first_signed)``."""
    if external_id:
        existing = TrackingEvent.objects.filter(shipment=shipment, external_id=external_id).first()
        if existing is not None:
            return existing, False, False
    event = TrackingEvent.objects.create(
        shipment=shipment,
        kind=kind,
        occurred_at=occurred_at,
        location=location or "",
        description=description or "",
        external_id=external_id or "",
    )
    before = shipment.status
    shipment.status = rules.shipment_status_after(
        current=shipment.status,
        kind=kind,
        occurred_at=occurred_at,
        last_event_at=shipment.last_event_at,
    )
    shipment.last_event_at = max(filter(None, [shipment.last_event_at, occurred_at]))
    first_signed = kind == "signed" and shipment.signed_at is None
    if first_signed:
        shipment.signed_at = occurred_at
    shipment.save(update_fields=["status", "last_event_at", "signed_at"])
    timeline_record(
        subject=shipment,
        verb="shipment.tracking_event",
        actor=actor,
        from_status=before if before != shipment.status else "",
        to_status=shipment.status if before != shipment.status else "",
        occurred_at=occurred_at,
        data={"event_id": event.pk, "kind": kind, "location": event.location},
    )
    event_publish(
        "shipment.tracking_event",
        subject=shipment,
        payload={
            "shipment_id": shipment.pk,
            "order_id": shipment.order_id,
            "line_id": shipment.line_id,
            "tracking_event_id": event.pk,
            "kind": kind,
            "occurred_at": iso(occurred_at),
            "location": event.location,
            "description": event.description,
            "carrier": shipment.carrier,
            "tracking_number": shipment.tracking_number,
            "shipment_status": shipment.status,
        },
    )
    if first_signed:
        event_publish(
            "shipment.signed",
            subject=shipment,
            payload={
                "shipment_id": shipment.pk,
                "order_id": shipment.order_id,
                "line_id": shipment.line_id,
                "signed_at": iso(occurred_at),
            },
        )
    return event, True, first_signed


def tracking_event_record(
    *, shipment, kind, occurred_at, actor, location="", description="", external_id=""
):
    """Add a node to a parcel's trajectory (standard 6.2.1, kept as evidence per 6.2.3.2).

    Events may arrive late and out of order; a repeat of ``external_id`` changes nothing.
    Returns ``(event, created)``. The first ``signed`` event marks the shipment signed and, once
    every line is signed for, the order delivered; a high-value line also needs its sign-off
    with an electronic signature (6.2.3.1, ``sign_off_record``).
    """
    require_merchant_write(actor, shipment.merchant_id, consumer_id=shipment.order.consumer_id)
    if kind not in TrackingEvent.Kind.values:
        raise InvalidInput(
            _("轨迹节点无效。"),
            code="tracking_kind_invalid",
            fields={"kind": TrackingEvent.Kind.values},
        )
    if occurred_at is None or occurred_at.tzinfo is None:
        raise InvalidInput(
            _("发生时间必须带时区。"),
            code="occurred_at_invalid",
            fields={"occurred_at": "timezone required"},
        )
    if occurred_at > clock.now() + FUTURE_TOLERANCE:
        raise InvalidInput(
            _("发生时间不能在未来。"),
            code="occurred_at_in_future",
            fields={"occurred_at": "future"},
        )
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if occurred_at < shipment.shipped_at - FUTURE_TOLERANCE:
            raise InvalidInput(
                _("发生时间早于发货时间。"),
                code="occurred_at_before_shipping",
                fields={"occurred_at": iso(shipment.shipped_at)},
            )
        event, created, first_signed = _tracking_event_apply(
            shipment,
            kind=kind,
            occurred_at=occurred_at,
            location=location,
            description=description,
            external_id=external_id,
            actor=actor,
        )
        if first_signed and shipment.purpose == "outbound":
            sync_order_progress(shipment.order, actor=actor, occurred_at=occurred_at)
    return event, created


def tracking_events_push(*, shipment, events, actor):
    """Record events a carrier pushed (its callback): dicts with ``kind``, ``occurred_at``,
    ``location``, ``description`` and the carrier's ``external_id``, oldest first. Repeats
    change nothing. Returns how many events were new."""
    created = 0
    for event in sorted(events, key=lambda e: e["occurred_at"]):
        _, new = tracking_event_record(shipment=shipment, actor=actor, **event)
        created += int(new)
    return created


def sign_off_record(
    *, shipment, signer_name, signed_at, actor, signer_relation="self", e_signature=""
):
    """Record who signed for a parcel (standard 6.2.3.1).

    For lines at or above the high-value threshold an electronic signature is required. When
    the carrier has not reported ``signed`` yet, the sign-off records that event too.
    """
    require_merchant_write(actor, shipment.merchant_id, consumer_id=shipment.order.consumer_id)
    if signer_relation not in rules.SIGNER_RELATIONS:
        raise InvalidInput(
            _("签收关系无效。"),
            code="signer_relation_invalid",
            fields={"signer_relation": sorted(rules.SIGNER_RELATIONS)},
        )
    if signed_at is None or signed_at.tzinfo is None or signed_at > clock.now() + FUTURE_TOLERANCE:
        raise InvalidInput(
            _("签收时间无效。"), code="signed_at_invalid", fields={"signed_at": "invalid"}
        )
    line = OrderLine.objects.select_related("order", "sku__product").get(pk=shipment.line_id)
    high_value = line_is_high_value(line)
    errors = rules.sign_off_errors(
        high_value=high_value, e_signature=e_signature, signer_name=signer_name
    )
    if errors:
        raise InvalidInput(
            _("高价值商品签收须有电子签名（《电子商务平台售后服务要求》6.2.3.1）。")
            if "e_signature" in errors
            else _("签收信息不完整。"),
            code=next(iter(errors.values())),
            fields=errors,
        )
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        # The sign-off time starts the consumer's windows (RULES.md R1, G1); one before the
        # parcel left would shorten them, as tracking_event_record already refuses.
        if signed_at < shipment.shipped_at - FUTURE_TOLERANCE:
            raise InvalidInput(
                _("签收时间早于发货时间。"),
                code="signed_at_before_shipping",
                fields={"signed_at": iso(shipment.shipped_at)},
            )
        if SignOff.objects.filter(shipment=shipment).exists():
            raise Conflict(_("该包裹已有签收记录。"), code="already_signed_off")
        sign_off = SignOff.objects.create(
            shipment=shipment,
            signer_name=signer_name,
            signer_relation=signer_relation,
            signed_at=signed_at,
            e_signature=e_signature or "",
            recorded_by=actor.user if getattr(actor.user, "pk", None) else None,
        )
        timeline_record(
            subject=shipment,
            verb="shipment.signed_off",
            actor=actor,
            occurred_at=signed_at,
            data={
                "relation": signer_relation,
                "e_signature": bool(e_signature),
                "high_value": high_value,
            },
        )
        first_signed = False
        if shipment.signed_at is None:
            _event, _created, first_signed = _tracking_event_apply(
                shipment,
                kind="signed",
                occurred_at=signed_at,
                location="",
                description="签收人已签收",  # i18n-exempt: stored like a carrier's own scan text
                external_id=f"signoff-{shipment.pk}",
                actor=actor,
            )
        # A high-value parcel the carrier already reported signed is delivered only now.
        if (first_signed or high_value) and shipment.purpose == "outbound":
            sync_order_progress(shipment.order, actor=actor, occurred_at=signed_at)
    return sign_off
