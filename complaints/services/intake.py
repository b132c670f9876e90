"""Intake and grading of complaints (standard 6.6.1; RULES.md C1, C5)."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines import rules as time_rules
from aftersales.deadlines.engine import deadline_schedule
from aftersales.errors import InvalidInput, NotFound
from aftersales.money import yuan
from aftersales.tenancy.models import ConsumerProfile
from aftersales.tenancy.scope import ensure_in_scope

from .. import rules
from ..deadlines import KIND as CLOCK_KIND
from ..deadlines import clocks_apply, first_response_due, open_clock
from ..models import Complaint, ComplaintChannel, ComplaintSubject, GradingRule
from .common import MERCHANT, PLATFORM, locked, move, notify_parties, require, step


def _subject(*, subject_kind, order, return_request, repair, merchant, consumer):
    """``(subject_key, merchant, consumer, order)`` of a complaint's subject; the consumer
    must be the subject's own."""
    if subject_kind == ComplaintSubject.ORDER and order is not None:
        owner, key = order, f"order:{order.pk}"
    elif subject_kind == ComplaintSubject.RETURN and return_request is not None:
        owner, key, order = return_request, f"return:{return_request.pk}", return_request.order
    elif subject_kind == ComplaintSubject.REPAIR and repair is not None:
        owner, key = repair, f"repair:{repair.pk}"
    elif subject_kind == ComplaintSubject.CONDUCT and merchant is not None and consumer:
        # A merchant's conduct with no case: one open complaint per consumer and issue.
        return f"merchant:{merchant.pk}:consumer:{consumer.pk}", merchant, consumer, None
    else:
        raise InvalidInput(
            _("请指明投诉的订单、退换货、维修单或商家。"),
            code="complaint_subject_missing",
            fields={"subject_kind": [subject_kind]},
        )
    if consumer is not None and owner.consumer_id != consumer.pk:
        raise NotFound()
    return key, owner.merchant, owner.consumer, order


def _channel(actor, channel):
    """Consumers complain on the self-service page, integrators through the API, staff enter
    hotline calls and e-mails (the inbound e-mail adapter comes later)."""
    if actor.is_consumer:
        return ComplaintChannel.SELF_SERVICE
    if actor.api_key is not None:
        return ComplaintChannel.API
    if channel in (ComplaintChannel.HOTLINE, ComplaintChannel.EMAIL):
        return channel
    return ComplaintChannel.HOTLINE


def grading_facts(complaint):
    return rules.GradingFacts(
        issue=complaint.issue,
        amount=Decimal(complaint.amount),
        safety_risk=complaint.safety_risk,
        repeat=complaint.is_repeat,
        media_or_regulator=complaint.media_or_regulator,
    )


def rule_snapshot(rule):
    """What the matrix row said when it graded (a later edit does not rewrite history)."""
    if rule is None:
        return {"rule": None, "grade": rules.DEFAULT_GRADE}
    return {
        "rule": rule.pk,
        "position": rule.position,
        "issue": rule.issue,
        "amount_from": None if rule.amount_from is None else str(rule.amount_from),
        "amount_below": None if rule.amount_below is None else str(rule.amount_below),
        "safety_risk": rule.safety_risk,
        "repeat": rule.repeat,
        "media_or_regulator": rule.media_or_regulator,
        "grade": rule.grade,
    }


def grade(complaint):
    """Grade by the matrix (C1): sets ``grade``, ``grading_rule`` and ``grading_basis``."""
    value, rule = rules.grade_for(grading_facts(complaint), list(GradingRule.objects.all()))
    complaint.grade, complaint.grading_rule = value, rule
    complaint.grading_basis = rule_snapshot(rule)
    return value


def complaint_create(
    *,
    actor,
    subject_kind,
    issue,
    description,
    order=None,
    return_request=None,
    repair=None,
    merchant=None,
    consumer=None,
    amount=Decimal("0"),
    safety_risk=False,
    media_or_regulator=False,
    harm_known_on=None,
    channel="",
    attachment_sha256="",
):
    """Take in a complaint; returns ``(complaint, created)``.

    The consumer complains for themself; platform writers enter one for a consumer (hotline,
    e-mail) and integrators through the API. One open complaint per subject and issue: a repeat
    is counted on the open one (and it is graded again as a repeat), never a new row. A new
    complaint is graded by the matrix (C1), its first-response clock starts (C2) and it goes to
    the merchant's handling, unless the harm was known more than three years earlier (C5):
    then it waits in ``received`` for staff to decline it or pass it on.
    """
    if not (actor.is_consumer or actor.platform_write):
        raise NotFound()
    if issue not in Complaint.Issue.values:
        raise InvalidInput(
            _("投诉性质无效。"), code="complaint_issue_invalid", fields={"issue": [issue]}
        )
    consumer_obj = consumer
    if actor.is_consumer:
        consumer_obj = ConsumerProfile.objects.get(pk=actor.consumer_id)
    key, merchant, consumer_obj, order = _subject(
        subject_kind=subject_kind,
        order=order,
        return_request=return_request,
        repair=repair,
        merchant=merchant,
        consumer=consumer_obj,
    )
    try:
        with transaction.atomic():
            return _create(
                actor=actor,
                key=key,
                subject_kind=subject_kind,
                order=order,
                return_request=return_request,
                repair=repair,
                merchant=merchant,
                consumer=consumer_obj,
                issue=issue,
                description=description,
                amount=yuan(amount or 0),
                safety_risk=safety_risk,
                media_or_regulator=media_or_regulator,
                harm_known_on=harm_known_on,
                channel=_channel(actor, channel),
                attachment_sha256=attachment_sha256,
            )
    except IntegrityError:
        # Another intake of the same subject and issue committed first: this one is a repeat.
        with transaction.atomic():
            open_ = Complaint.objects.filter(subject_key=key, issue=issue).exclude(
                status=rules.CLOSED
            )
            return _repeat(open_.get(), actor=actor, description=description)


def _create(*, actor, key, issue, description, attachment_sha256, **fields):
    open_ = (
        Complaint.objects.select_for_update()
        .filter(subject_key=key, issue=issue)
        .exclude(status=rules.CLOSED)
        .first()
    )
    if open_ is not None:
        return _repeat(open_, actor=actor, description=description)
    now = clock.now()
    complaint = Complaint(
        subject_key=key,
        issue=issue,
        description=description,
        received_at=now,
        status_changed_at=now,
        is_repeat=Complaint.objects.filter(subject_key=key, issue=issue).exists(),
        **fields,
    )
    grade(complaint)
    complaint.save(force_insert=True)
    stale = rules.may_decline_as_stale(complaint.harm_known_on, time_rules.local_date(now))
    step(
        complaint,
        "complaint.received",
        actor,
        data={
            "channel": complaint.channel,
            "subject": key,
            "issue": issue,
            "description": description,
            "amount": str(complaint.amount),
            "safety_risk": complaint.safety_risk,
            "media_or_regulator": complaint.media_or_regulator,
            "harm_known_on": complaint.harm_known_on.isoformat()
            if complaint.harm_known_on
            else None,
            "repeat": complaint.is_repeat,
            "grade": complaint.grade,
            "grading_basis": complaint.grading_basis,
            "c5_may_decline": stale,
        },
        attachment_sha256=attachment_sha256,
    )
    clocks_apply(complaint, "", rules.RECEIVED, actor, fresh=True)
    if not stale:
        move(complaint, to=rules.MERCHANT_HANDLING, actor=actor)
        notify_parties(complaint, "complaint.received", to=(MERCHANT,), actor=actor)
    ensure_in_scope(complaint, actor)
    return complaint, True


def _repeat(complaint, *, actor, description):
    """A repeat of an open complaint: counted on it, recorded, graded again as a repeat (a
    higher grade is taken, never a lower one)."""
    complaint = locked(complaint)
    complaint.repeat_count += 1
    was = complaint.grade
    update = ["repeat_count"]
    if not complaint.is_repeat:
        complaint.is_repeat = True
        update.append("is_repeat")
        basis, rule_id = complaint.grading_basis, complaint.grading_rule_id
        if grade(complaint) < was:
            update += ["grade", "grading_rule", "grading_basis"]
        else:
            complaint.grade, complaint.grading_basis = was, basis
            complaint.grading_rule_id = rule_id
    complaint.save(update_fields=update)
    step(
        complaint,
        "complaint.repeated",
        actor,
        data={"description": description, "repeat_count": complaint.repeat_count},
    )
    if complaint.grade != was:
        _regraded(complaint, was=was, actor=actor, reason="repeat")
    ensure_in_scope(complaint, actor)
    return complaint, False


def _regraded(complaint, *, was, actor, reason):
    step(
        complaint,
        "complaint.regraded",
        actor,
        reason=reason,
        data={"from": was, "to": complaint.grade},
    )
    deadline = open_clock(complaint, rules.FIRST_RESPONSE)
    if deadline is not None and deadline.state == deadline.State.PENDING:
        due, ref = first_response_due(complaint)
        deadline_schedule(
            subject=complaint,
            kind=CLOCK_KIND[rules.FIRST_RESPONSE],
            due_at=due,
            actor=actor,
            policy=ref,
            reminders=[rules.hour_clock_warning_offset(due - complaint.received_at)],
        )


def complaint_regrade(*, complaint, actor, grade, reason):
    """Staff set another grade, with the reason (C1); an open first-response clock follows
    the new grade (C2)."""
    require(actor, complaint, {PLATFORM})
    if grade not in Complaint.Grade.values:
        raise InvalidInput(
            _("等级无效。"), code="complaint_grade_invalid", fields={"grade": [grade]}
        )
    if not (reason or "").strip():
        raise InvalidInput(
            _("调整等级须说明原因。"), code="reason_required", fields={"reason": ["required"]}
        )
    with transaction.atomic():
        complaint = locked(complaint)
        was = complaint.grade
        if grade == was:
            return complaint
        complaint.grade = grade
        complaint.grading_basis = {**complaint.grading_basis, "regraded_by_staff": True}
        complaint.save(update_fields=["grade", "grading_basis"])
        _regraded(complaint, was=was, actor=actor, reason=reason.strip())
    return complaint


GRADING_FIELDS = (
    "position",
    "issue",
    "amount_from",
    "amount_below",
    "safety_risk",
    "repeat",
    "media_or_regulator",
    "grade",
    "note",
)


def _rule_fields(rule):
    return {
        name: (str(v) if v is not None and name.startswith("amount") else v)
        for name in GRADING_FIELDS
        for v in [getattr(rule, name)]
    }


def grading_rule_save(*, rule, actor):
    """Save a row of the grading matrix (the console's add and change forms), recording what
    it said before on the row's timeline. Complaints graded earlier keep their snapshot."""
    require_platform = actor.platform_write
    if not require_platform:
        raise NotFound()
    with transaction.atomic():
        before = None
        if rule.pk is not None:
            old = GradingRule.objects.select_for_update().filter(pk=rule.pk).first()
            before = _rule_fields(old) if old is not None else None
        rule.updated_at = clock.now()
        rule.save()
        after = _rule_fields(rule)
        timeline_record(
            subject=rule,
            verb="grading_rule.changed" if before else "grading_rule.created",
            actor=actor,
            data={"before": before, "after": after},
        )
    return rule
