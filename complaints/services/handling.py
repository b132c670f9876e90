"""Handling of complaints: response, waiting for the consumer, escalation, resolution, C5
decline, reopening, and what the clocks do when they warn or run out (RULES.md C2, C3, C5)."""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.deadlines import rules as time_rules
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.scope import ensure_in_scope

from .. import rules
from ..deadlines import clock_stop
from .common import CONSUMER, MERCHANT, PLATFORM, locked, move, notify_parties, require, step


def _text(value, field):
    value = (value or "").strip()
    if not value:
        raise InvalidInput(
            _("请填写说明。"), code=f"{field}_required", fields={field: ["required"]}
        )
    return value


def _open(complaint):
    if complaint.status not in rules.OPEN_STATES:
        raise Conflict(
            _("投诉已解决或已关闭。"),
            code="complaint_not_open",
            fields={"status": complaint.status},
        )


def complaint_respond(*, complaint, actor, message, attachment_sha256=""):
    """The merchant (or the platform) answers the complaint. The first answer stops the
    first-response clock (C2); a complaint still in ``received`` goes to the merchant."""
    require(actor, complaint, {MERCHANT, PLATFORM})
    message = _text(message, "message")
    with transaction.atomic():
        complaint = locked(complaint)
        _open(complaint)
        first = complaint.first_responded_at is None
        if first:
            complaint.first_responded_at = clock.now()
            complaint.save(update_fields=["first_responded_at"])
            clock_stop(complaint, rules.FIRST_RESPONSE, actor=actor, reason="responded")
        step(
            complaint,
            "complaint.responded",
            actor,
            data={"message": message, "first": first},
            attachment_sha256=attachment_sha256,
        )
        if complaint.status == rules.RECEIVED:
            move(complaint, to=rules.MERCHANT_HANDLING, actor=actor)
        notify_parties(
            complaint, "complaint.responded", to=(CONSUMER,), actor=actor, message=message
        )
        ensure_in_scope(complaint, actor)
    return complaint


def complaint_request_info(*, complaint, actor, message):
    """Ask the consumer for more: the complaint waits for them and its clocks pause."""
    require(actor, complaint, {MERCHANT, PLATFORM})
    message = _text(message, "message")
    with transaction.atomic():
        complaint = locked(complaint)
        move(complaint, to=rules.WAITING_CONSUMER, actor=actor, data={"message": message})
        notify_parties(
            complaint, "complaint.waiting_consumer", to=(CONSUMER,), actor=actor, message=message
        )
    return complaint


def complaint_consumer_reply(*, complaint, actor, message, attachment_sha256=""):
    """The consumer answers: the complaint goes back where it was and its clocks resume
    (working-day clocks gain the working days spent waiting)."""
    require(actor, complaint, {CONSUMER, PLATFORM})
    message = _text(message, "message")
    with transaction.atomic():
        complaint = locked(complaint)
        if complaint.status != rules.WAITING_CONSUMER:
            raise Conflict(
                _("该投诉当前不需要您补充信息。"),
                code="complaint_not_waiting",
                fields={"status": complaint.status},
            )
        step(
            complaint,
            "complaint.consumer_replied",
            actor,
            data={"message": message},
            attachment_sha256=attachment_sha256,
        )
        move(complaint, to=complaint.paused_from or rules.MERCHANT_HANDLING, actor=actor)
        notify_parties(
            complaint, "complaint.consumer_replied", to=(MERCHANT,), actor=actor, message=message
        )
    return complaint


def _escalate(complaint, *, actor, reason, automatic=False):
    complaint.escalated_at = clock.now()
    complaint.save(update_fields=["escalated_at"])
    move(
        complaint,
        to=rules.PLATFORM_MEDIATION,
        actor=actor,
        reason=reason,
        data={"automatic": automatic},
    )
    notify_parties(complaint, "complaint.platform_mediation", actor=actor, reason=reason)


def complaint_escalate(*, complaint, actor, reason):
    """The consumer (or the platform) asks the platform to mediate."""
    require(actor, complaint, {CONSUMER, PLATFORM})
    reason = _text(reason, "reason")
    with transaction.atomic():
        complaint = locked(complaint)
        _escalate(complaint, actor=actor, reason=reason)
    return complaint


def complaint_resolve(*, complaint, actor, conclusion):
    """The platform records the result (conclusion, basis, next steps): resolved."""
    require(actor, complaint, {PLATFORM})
    conclusion = _text(conclusion, "conclusion")
    with transaction.atomic():
        complaint = locked(complaint)
        complaint.outcome = complaint.Outcome.RESOLVED
        complaint.conclusion = conclusion
        complaint.resolved_at = clock.now()
        complaint.save(update_fields=["outcome", "conclusion", "resolved_at"])
        move(complaint, to=rules.RESOLVED, actor=actor, data={"conclusion": conclusion})
        notify_parties(complaint, "complaint.resolved", actor=actor, conclusion=conclusion)
    return complaint


def complaint_close(*, complaint, actor, reason=""):
    """The platform closes a resolved complaint."""
    require(actor, complaint, {PLATFORM})
    with transaction.atomic():
        complaint = locked(complaint)
        if complaint.status != rules.RESOLVED:
            raise Conflict(
                _("只有已解决的投诉可以关闭。"),
                code="complaint_not_resolved",
                fields={"status": complaint.status},
            )
        complaint.closed_at = clock.now()
        complaint.save(update_fields=["closed_at"])
        move(complaint, to=rules.CLOSED, actor=actor, reason=reason)
    return complaint


def complaint_decline(*, complaint, actor, reason):
    """RULES.md C5: the platform declines a complaint about harm the consumer knew of more
    than three years before complaining, with the reason shown to them. Refused
    (``c5_not_applicable``) when the harm is more recent or its date unknown."""
    require(actor, complaint, {PLATFORM})
    reason = _text(reason, "reason")
    with transaction.atomic():
        complaint = locked(complaint)
        _open(complaint)
        received_on = time_rules.local_date(complaint.received_at)
        if not rules.may_decline_as_stale(complaint.harm_known_on, received_on):
            raise RuleViolation(
                _("知道权益受损未超过三年，不能以此为由不予受理（C5）。"),
                code="c5_not_applicable",
                fields={
                    "harm_known_on": complaint.harm_known_on.isoformat()
                    if complaint.harm_known_on
                    else None
                },
            )
        complaint.outcome = complaint.Outcome.DECLINED
        complaint.decline_reason = reason
        complaint.closed_at = clock.now()
        complaint.save(update_fields=["outcome", "decline_reason", "closed_at"])
        move(complaint, to=rules.CLOSED, actor=actor, reason=reason, data={"rule": "C5"})
        notify_parties(complaint, "complaint.declined", to=(CONSUMER,), actor=actor, reason=reason)
    return complaint


def complaint_reopen(*, complaint, actor, reason):
    """Reopen a resolved or closed complaint: back to the platform if it had been escalated,
    else to the merchant. Refused while another open complaint holds its subject and issue."""
    require(actor, complaint, {CONSUMER, PLATFORM})
    reason = _text(reason, "reason")
    with transaction.atomic():
        complaint = locked(complaint)
        if complaint.status not in (rules.RESOLVED, rules.CLOSED):
            raise Conflict(
                _("投诉尚未解决，无需重新打开。"),
                code="complaint_still_open",
                fields={"status": complaint.status},
            )
        others = (
            type(complaint)
            .objects.filter(subject_key=complaint.subject_key, issue=complaint.issue)
            .exclude(pk=complaint.pk)
            .exclude(status=rules.CLOSED)
        )
        if others.exists():
            raise Conflict(_("同一事项已有处理中的投诉。"), code="complaint_open_exists")
        to = rules.PLATFORM_MEDIATION if complaint.escalated_at else rules.MERCHANT_HANDLING
        complaint.outcome, complaint.resolved_at, complaint.closed_at = "", None, None
        complaint.save(update_fields=["outcome", "resolved_at", "closed_at"])
        move(complaint, to=to, actor=actor, reason=reason, data={"reopened": True})
    return complaint


# -- the clocks' warnings and breaches (run by the deadline sweep, as the system) ------------


def _clock_running(complaint, clock_name):
    if clock_name == rules.FIRST_RESPONSE and complaint.first_responded_at is not None:
        return False
    return complaint.status in rules.CLOCK_STATES[clock_name]


def complaint_clock_warn(*, complaint, clock_name, deadline):
    """80 % of a clock has passed (C2/C3): recorded, and the merchant's staff (their clocks)
    or the consumer's case at the platform are warned."""
    if not _clock_running(complaint, clock_name):
        return {"skipped": complaint.status}
    step(
        complaint,
        "complaint.clock_warning",
        SYSTEM,
        data={
            "clock": clock_name,
            "due_at": deadline.parent.due_at.isoformat() if deadline.parent_id else None,
        },
    )
    if clock_name != rules.PLATFORM_HANDLING:
        notify_parties(complaint, "complaint.clock_warning", to=(MERCHANT,))
    return {"warned": clock_name}


def complaint_clock_breach(*, complaint, clock_name, deadline):
    """A clock ran out: a late first response is marked (C2); a merchant who let the
    negotiation lapse loses it to platform mediation (C3); a late platform is marked."""
    if not _clock_running(complaint, clock_name):
        return {"skipped": complaint.status}
    step(
        complaint,
        "complaint.clock_breached",
        SYSTEM,
        data={"clock": clock_name, "due_at": deadline.due_at.isoformat()},
    )
    if clock_name == rules.FIRST_RESPONSE:
        complaint.first_response_breached_at = clock.now()
        complaint.save(update_fields=["first_response_breached_at"])
        notify_parties(complaint, "complaint.clock_breached", to=(MERCHANT,))
        return {"breached": clock_name}
    if clock_name == rules.MERCHANT_NEGOTIATION:
        _escalate(
            complaint,
            actor=SYSTEM,
            reason=_("商家协商期限届满，自动转平台调解（C3）。"),
            automatic=True,
        )
        return {"escalated": True}
    return {"breached": clock_name}
