"""What every complaint service shares: who may act, one step on the timeline and the chain,
the status move, the domain event and the message to the parties."""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.statuses import status_move
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import PermissionDenied
from aftersales.messaging.notifications import notify_users
from aftersales.tenancy.actors import SYSTEM

from .. import rules
from ..models import Complaint
from .records import record_append

CONSUMER, MERCHANT, PLATFORM = "consumer", "merchant", "platform"


def may_act(actor, complaint, parties):
    """Whether ``actor`` acts for one of ``parties`` of ``complaint``: its consumer, its
    merchant's staff (or key), or the platform's writers (staff, platform keys, the system)."""
    if PLATFORM in parties and actor.platform_write:
        return True
    if CONSUMER in parties and actor.consumer_id == complaint.consumer_id:
        return True
    return MERCHANT in parties and actor.merchant_id == complaint.merchant_id


def require(actor, complaint, parties):
    """Refuse an actor who sees the complaint but may not take this step (403)."""
    if not may_act(actor, complaint, parties):
        raise PermissionDenied(_("您不能对该投诉执行此操作。"), code="complaint_action_not_allowed")


def locked(complaint):
    """The complaint row, locked for the step (call inside the step's transaction)."""
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


def payload(complaint, **extra):
    return {
        "complaint_id": complaint.pk,
        "number": complaint.number,
        "merchant_id": complaint.merchant_id,
        "consumer_id": complaint.consumer_id,
        "subject_kind": complaint.subject_kind,
        "issue": complaint.issue,
        "grade": complaint.grade,
        "status": complaint.status,
        **extra,
    }


def step(complaint, verb, actor, *, reason="", data=None, attachment_sha256="", publish=True):
    """One step of a complaint: its timeline event, its entry in the hash chain (C6) and,
    unless ``publish=False``, the domain event ``verb`` (webhooks)."""
    data = dict(data or {})
    if reason:
        data["reason"] = reason
    timeline_record(subject=complaint, verb=verb, actor=actor, reason=reason, data=data)
    record = record_append(
        complaint=complaint, verb=verb, actor=actor, data=data, attachment_sha256=attachment_sha256
    )
    if publish:
        event_publish(verb, subject=complaint, payload=payload(complaint, **data))
    return record


def move(complaint, *, to, actor, reason="", data=None):
    """Move the locked ``complaint`` to ``to`` (``rules.MOVES``): the kernel's status move
    (timeline, clocks through ``complaints.deadlines.complaint_clocks``), then the chain
    entry and the domain event ``complaint.<to>``."""
    with transaction.atomic(savepoint=False):
        current = complaint.status
        if to == rules.WAITING_CONSUMER:
            complaint.paused_from, complaint.paused_at = current, clock.now()
            complaint.save(update_fields=["paused_from", "paused_at"])
        status_move(
            complaint,
            to=to,
            actor=actor,
            moves=rules.MOVES,
            reason=reason,
            data=data,
            timestamp_field="status_changed_at",
            verb=f"complaint.{to}",
            held=True,
        )
        if current == rules.WAITING_CONSUMER:
            complaint.paused_from, complaint.paused_at = "", None
            complaint.save(update_fields=["paused_from", "paused_at"])
        entry = {"from": current, "to": to, **(data or {})}
        if reason:
            entry["reason"] = reason
        record_append(complaint=complaint, verb=f"complaint.{to}", actor=actor, data=entry)
        event_publish(f"complaint.{to}", subject=complaint, payload=payload(complaint, **entry))
    return complaint


def notify_parties(complaint, event, *, to=(CONSUMER, MERCHANT), actor=SYSTEM, **context):
    """Tell the consumer and/or the merchant's staff (in-app and their channels) from the
    event's templates in each recipient's language (``notifications/<language>/<event>/``);
    ``context``: what the templates name (``message``, ``reason``, ``conclusion``). A message
    that cannot be prepared never fails the step."""
    notify_users(
        users=[complaint.consumer.user_id] if CONSUMER in to else [],
        merchant_staff_of=complaint.merchant_id if MERCHANT in to else None,
        event=event,
        context={
            "number": complaint.number,
            "grade": complaint.grade,
            "complaint_id": complaint.pk,
            **context,
        },
        subject=complaint,
        actor=actor,
        quiet=True,
    )
