"""Logistics alerts (standard 6.2.1.2): a parcel with no tracking update for 72 hours (policy
``logistics.stale_tracking_hours``) after pickup, or with an exception event, raises an alert to
the consumer, the merchant and the platform's logistics queue.

Driven by the domain event ``shipment.tracking_event`` (payload: shipment id, kind, occurred_at;
subscribed in ``orders/events.py``):
a movement (re)schedules the ``logistics.stale`` deadline, a sign-off cancels it, an exception
raises the alert at once. The first real user of the deadline engine.

Alerts close by themselves when the parcel shows it is fine again:

- a movement scan newer than the last node the alert saw resolves the open ``stale`` alert (the
  parcel moves again), so a later stall raises a new alert and notifies both parties again;
- a movement leaves an open ``exception`` alert open: a parcel that moves after a damage or
  refusal report may still be damaged or on its way back, so staff close it (admin queue);
- ``signed`` resolves every open alert of the parcel: it has arrived, nothing is left to chase.

Each automatic resolution is recorded on the order's timeline (actor SYSTEM, reason in Chinese).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines.engine import deadline_cancel, deadline_schedule
from aftersales.deadlines.registry import deadline_register
from aftersales.messaging.notifications import merchant_staff, notify_quietly
from aftersales.policies import policy_get
from aftersales.tenancy.actors import SYSTEM

from .models import LogisticsAlert, Order, Shipment

STALE_KIND = "logistics.stale"
MOVEMENT_KINDS = {"picked_up", "in_transit", "out_for_delivery"}
SIGNED = "signed"
EXCEPTION = "exception"


def _instant(value):
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(value) if value else None
    return parsed or clock.now()


def _shipment_id(event):
    payload = event.payload or {}
    for key in ("shipment_id", "shipment"):
        if payload.get(key) is not None:
            return int(payload[key])
    if event.subject_type == "orders.shipment":
        return event.subject_id
    return None


def stale_due_at(*, last_event_at, merchant_id):
    """When a parcel last seen at ``last_event_at`` counts as stale; and the policy used."""
    ref = policy_get("logistics.stale_tracking_hours", merchant_id=merchant_id)
    return last_event_at + timedelta(hours=int(ref.value)), ref


def on_tracking_event(event):
    """React to one tracking node, inside the transaction that recorded it."""
    shipment_id = _shipment_id(event)
    if shipment_id is None:
        return
    shipment = Shipment.objects.select_related("order").filter(pk=shipment_id).first()
    if shipment is None:
        return
    kind = (event.payload or {}).get("kind", "")
    occurred_at = _instant((event.payload or {}).get("occurred_at"))
    if kind in MOVEMENT_KINDS:
        if shipment.status == Shipment.Status.SIGNED:
            # A late node of a parcel already signed for: nothing can go stale any more.
            return
        # Out-of-order feeds: the newest node counts.
        last = max(filter(None, [occurred_at, shipment.last_event_at]))
        due_at, ref = stale_due_at(last_event_at=last, merchant_id=shipment.merchant_id)
        deadline_schedule(
            subject=shipment,
            kind=STALE_KIND,
            due_at=due_at,
            actor=SYSTEM,
            policy=ref,
            data={"last_event_at": last.isoformat()},
        )
        _resolve_open(
            shipment,
            reasons=[LogisticsAlert.Reason.STALE],
            newer_than=occurred_at,
            note=_("物流轨迹已恢复更新，系统自动解除预警"),
        )
    elif kind == SIGNED:
        deadline_cancel(subject=shipment, kind=STALE_KIND, actor=SYSTEM, reason="signed")
        _resolve_open(
            shipment,
            reasons=[LogisticsAlert.Reason.STALE, LogisticsAlert.Reason.EXCEPTION],
            note=_("包裹已签收，系统自动解除预警"),
        )
    elif kind == EXCEPTION:
        description = (event.payload or {}).get("description", "")
        logistics_alert_raise(
            shipment=shipment,
            reason=LogisticsAlert.Reason.EXCEPTION,
            actor=SYSTEM,
            last_event_at=occurred_at,
            detail=description,
        )


def _resolve_open(shipment, *, reasons, note, newer_than=None):
    """Resolve the shipment's open alerts of ``reasons``. With ``newer_than`` (a movement's time),
    only alerts raised on an older last node: a late-arriving node from before the stall is
    no sign that the parcel moves again."""
    alerts = LogisticsAlert.objects.filter(
        shipment_id=shipment.pk, reason__in=reasons, status=LogisticsAlert.Status.OPEN
    ).order_by("pk")
    for alert in alerts:
        if newer_than is not None and alert.last_event_at and newer_than <= alert.last_event_at:
            continue
        logistics_alert_resolve(alert=alert, actor=SYSTEM, note=note)


def _on_stale(deadline):
    shipment = Shipment.objects.select_for_update().get(pk=deadline.subject_id)
    if shipment.status == Shipment.Status.SIGNED:
        return {"skipped": "signed"}
    alert = logistics_alert_raise(
        shipment=shipment,
        reason=LogisticsAlert.Reason.STALE,
        actor=SYSTEM,
        last_event_at=shipment.last_event_at,
        detail=_("%(hours)s 小时无物流更新") % {"hours": deadline.policy_value or 72},
    )
    return {"alert_id": alert.pk}


deadline_register(
    STALE_KIND,
    _on_stale,
    gettext_lazy("物流长时间未更新，向消费者、商家和平台物流队列发出预警"),
)


def logistics_alert_raise(*, shipment, reason, actor, last_event_at=None, detail=""):
    """Raise (or return the already open) alert of ``reason`` on ``shipment``: the alert row,
    a timeline event on the order, and notifications to the consumer and the merchant."""
    with transaction.atomic():
        open_alert = (
            LogisticsAlert.objects.select_for_update()
            .filter(shipment_id=shipment.pk, reason=reason, status=LogisticsAlert.Status.OPEN)
            .first()
        )
        if open_alert is not None:
            return open_alert
        order = shipment.order
        alert = LogisticsAlert.objects.create(
            shipment_id=shipment.pk,
            order_id=order.pk,
            merchant_id=shipment.merchant_id,
            consumer_id=order.consumer_id,
            reason=reason,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            last_event_at=last_event_at,
            detail=(detail or "")[:300],
            raised_at=clock.now(),
        )
        timeline_record(
            subject=order,
            verb="logistics.alert",
            actor=actor,
            reason=alert.detail,
            data={
                "alert_id": alert.pk,
                "shipment_id": shipment.pk,
                "reason": reason,
                "tracking_number": shipment.tracking_number,
            },
        )
        _notify(alert, order)
        return alert


def _notify(alert, order):
    context = {
        "alert_id": alert.pk,
        "order_number": order.number,
        "reason": alert.reason,
        "carrier": alert.carrier,
        "tracking_number": alert.tracking_number,
    }
    users = [order.consumer.user, *merchant_staff(order.merchant_id)]
    for user in users:
        notify_quietly(
            recipient_user=user,
            event="logistics.alert",
            context=context,
            subject=order,
            actor=SYSTEM,
        )


def logistics_alert_resolve(*, alert, actor, note=""):
    """Close an alert (the parcel moved again, was signed for, or staff handled it).

    Recorded on the alert and on its order's timeline, so the case shows the alert both
    raised and resolved. Resolving a resolved alert changes nothing.
    """
    with transaction.atomic():
        alert = LogisticsAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.status == LogisticsAlert.Status.RESOLVED:
            return alert
        alert.status = LogisticsAlert.Status.RESOLVED
        alert.resolved_at = clock.now()
        alert.save(update_fields=["status", "resolved_at"])
        data = {
            "alert_id": alert.pk,
            "shipment_id": alert.shipment_id,
            "order_id": alert.order_id,
            "reason": alert.reason,
        }
        timeline_record(
            subject=alert, verb="logistics.alert_resolved", actor=actor, reason=note, data=data
        )
        order = Order.objects.filter(pk=alert.order_id).first()
        if order is not None:
            timeline_record(
                subject=order,
                verb="logistics.alert_resolved",
                actor=actor,
                reason=note,
                data=data,
            )
        return alert
