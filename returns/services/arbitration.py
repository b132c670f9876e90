"""Platform arbitration (R19; standard 6.3.3): the consumer escalates, the merchant answers,
platform staff may ask a third party to inspect the goods, and the platform (or a mediator
granted the request) decides.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.statuses import status_move
from aftersales.deadlines.engine import deadline_cancel, deadline_schedule
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.tenancy.actors import SYSTEM

from .. import rules
from ..adapters import get_inspection_provider
from ..models import (
    ARBITRATION_MOVES,
    Arbitration,
    InspectionRequest,
    Refund,
    ReturnEvidence,
    ReturnRequest,
)
from .common import (
    actor_user,
    check_scope,
    iso,
    locked_request,
    money,
    notify_parties,
    publish,
    record,
    request_policy,
    require_consumer,
    require_merchant,
    require_platform,
    required_text,
)
from .evidence import evidence_clean, evidence_save
from .express import express_ledger_record
from .moves import move
from .refunds import refund_start

ANSWER_DUE = "returns.arbitration_answer"
"""R21: the deadline kind of the merchant's answer window (``returns.deadlines``)."""


def arbitration_answer_due(request, escalated_at):
    """R21: 24:00 Shanghai of day N (policy ``returns.arbitration_answer_days``, 3) after the
    escalation, and the policy it came from."""
    ref = request_policy(request, "returns.arbitration_answer_days")
    return rules.arbitration_answer_due(escalated_at, int(ref.value)), ref


def _lock_arbitration(request):
    try:
        return Arbitration.objects.select_for_update().get(request_id=request.pk)
    except Arbitration.DoesNotExist:
        raise Conflict(_("该售后申请没有仲裁。"), code="no_arbitration") from None


def return_escalate(*, request, actor, statement, evidence=()):
    """The consumer escalates a rejected or disputed request to platform arbitration (R19;
    standard 6.3.3), with a statement and evidence. The merchant is asked to answer by the end
    of the answer window (R21, ``answer_due_at``); the platform decides after the answer or
    that date, which both parties are told."""
    statement = required_text(statement, "statement", _("请说明申请仲裁的理由。"))
    items = evidence_clean(evidence, stage="arbitration")
    with transaction.atomic():
        request = locked_request(request)
        require_consumer(actor, request)
        if not request.can_escalate():
            raise Conflict(
                _("商家拒绝或对商品状态有异议后才能申请仲裁。"),
                code="invalid_status_transition",
                fields={"status": request.status, "to": "arbitration"},
            )
        request = move(request, to="arbitration", actor=actor, reason=statement)
        now = clock.now()
        due, ref = arbitration_answer_due(request, now)
        arbitration = Arbitration.objects.create(
            request=request,
            merchant_id=request.merchant_id,
            consumer_id=request.consumer_id,
            opened_at=now,
            opened_by=actor_user(actor),
            opened_by_label=actor.label,
            consumer_statement=statement,
            answer_due_at=due,
        )
        deadline_schedule(subject=request, kind=ANSWER_DUE, due_at=due, actor=actor, policy=ref)
        evidence_save(request, items, actor=actor, stage="arbitration", party="consumer")
        publish("return.escalated", request, arbitration_id=arbitration.pk, answer_due_at=iso(due))
        notify_parties(
            request,
            "return.escalated",
            to=("merchant",),
            actor=actor,
            statement=statement,
            due_at=due,
        )
        notify_parties(request, "return.escalated", to=("consumer",), actor=actor, due_at=due)
        check_scope(request, actor)
    return arbitration


def arbitration_answer(*, request, actor, statement, evidence=()):
    """The merchant's statement and evidence in arbitration (R19)."""
    statement = required_text(statement, "statement", _("请填写答辩说明。"))
    items = evidence_clean(evidence, stage="arbitration")
    with transaction.atomic():
        request = locked_request(request)
        require_merchant(actor, request)
        arbitration = _lock_arbitration(request)
        if arbitration.status == Arbitration.Status.DECIDED:
            raise Conflict(_("仲裁已裁决。"), code="arbitration_decided")
        arbitration.merchant_statement = statement
        arbitration.merchant_answered_at = clock.now()
        arbitration.save(update_fields=["merchant_statement", "merchant_answered_at"])
        deadline_cancel(subject=request, kind=ANSWER_DUE, actor=actor, reason="answered")
        evidence_save(request, items, actor=actor, stage="arbitration", party="merchant")
        record(request, "return.arbitration_answered", actor, reason=statement)
        publish("return.arbitration_answered", request, arbitration_id=arbitration.pk)
        check_scope(request, actor)
    return arbitration


def arbitration_inspection_request(*, request, actor, provider=None):
    """Platform staff ask a third party to inspect the goods (R19; inspection adapter). The
    provider answers asynchronously (``inspection_report_record``)."""
    inspector = get_inspection_provider() if provider is None else provider
    with transaction.atomic():
        request = locked_request(request)
        require_platform(actor, request, mediator=True)
        arbitration = _lock_arbitration(request)
        if arbitration.status != Arbitration.Status.OPEN:
            raise Conflict(
                _("仲裁不在待裁决状态。"),
                code="invalid_status_transition",
                fields={"status": arbitration.status, "to": "inspecting"},
            )
        if arbitration.inspections.filter(status="requested").exists():
            raise Conflict(_("已有进行中的检测。"), code="inspection_pending")
        inspection = InspectionRequest.objects.create(
            arbitration=arbitration,
            merchant_id=request.merchant_id,
            provider=inspector.name,
            request_id=f"ri-{arbitration.pk}-{arbitration.inspections.count() + 1}",
            requested_at=clock.now(),
        )
        status_move(
            arbitration,
            to="inspecting",
            actor=actor,
            moves=ARBITRATION_MOVES,
            timestamp_field="inspecting_at",
            verb="arbitration.inspecting",
        )
        record(
            request,
            "return.inspection_requested",
            actor,
            data={"inspection_id": inspection.pk, "provider": inspector.name},
        )
        publish("return.inspection_requested", request, inspection_id=inspection.pk)
        inspection_id = inspection.pk
        transaction.on_commit(lambda: inspector.submit(inspection_id), robust=True)
    return inspection


def inspection_report_record(*, inspection, result, report, actor=SYSTEM, external_ref=""):
    """The inspector's report (``intact`` / ``not_intact``), kept as evidence; the arbitration
    is open for a decision again. Only a pending inspection changes (repeats do nothing)."""
    if result not in InspectionRequest.Result.values:
        raise InvalidInput(
            _("检测结论无效。"),
            code="inspection_result_invalid",
            fields={"result": InspectionRequest.Result.values},
        )
    with transaction.atomic():
        inspection = InspectionRequest.objects.select_for_update().get(pk=inspection.pk)
        if inspection.status != InspectionRequest.Status.REQUESTED:
            return inspection
        arbitration = Arbitration.objects.select_for_update().get(pk=inspection.arbitration_id)
        request = ReturnRequest.objects.select_related("consumer__user").get(
            pk=arbitration.request_id
        )
        inspection.status = InspectionRequest.Status.REPORTED
        inspection.result = result
        inspection.report = report or ""
        inspection.external_ref = external_ref or inspection.external_ref
        inspection.attempts += 1
        inspection.reported_at = clock.now()
        inspection.save()
        ReturnEvidence.objects.create(
            request=request,
            merchant_id=request.merchant_id,
            party=ReturnEvidence.Party.INSPECTOR,
            kind=ReturnEvidence.Kind.REPORT,
            note=f"{inspection.provider} {inspection.external_ref}: {result}. {report}"[:500],
            stage="arbitration",
            uploaded_by_label=inspection.provider,
            created_at=clock.now(),
        )
        if arbitration.status == Arbitration.Status.INSPECTING:
            status_move(
                arbitration,
                to="open",
                actor=actor,
                moves=ARBITRATION_MOVES,
                verb="arbitration.inspection_reported",
            )
        record(
            request,
            "return.inspection_reported",
            actor,
            reason=report,
            data={"inspection_id": inspection.pk, "result": result},
        )
        publish("return.inspection_reported", request, inspection_id=inspection.pk, result=result)
    return inspection


def inspection_attempt_failed(*, inspection, reason, final=False, actor=SYSTEM):
    """One failed attempt of the inspector (a timeout): recorded; with ``final`` the inspection
    fails and the arbitration is open again (staff may ask again)."""
    with transaction.atomic():
        inspection = InspectionRequest.objects.select_for_update().get(pk=inspection.pk)
        if inspection.status != InspectionRequest.Status.REQUESTED:
            return inspection
        arbitration = Arbitration.objects.select_for_update().get(pk=inspection.arbitration_id)
        inspection.attempts += 1
        inspection.last_error = (reason or "")[:200]
        fields = ["attempts", "last_error"]
        if final:
            inspection.status = InspectionRequest.Status.FAILED
            fields.append("status")
        inspection.save(update_fields=fields)
        request = ReturnRequest.objects.get(pk=arbitration.request_id)
        record(
            request,
            "return.inspection_failed" if final else "return.inspection_attempt_failed",
            actor,
            reason=reason,
            data={"inspection_id": inspection.pk, "attempt": inspection.attempts},
        )
        if final and arbitration.status == Arbitration.Status.INSPECTING:
            status_move(arbitration, to="open", actor=actor, moves=ARBITRATION_MOVES)
    return inspection


def arbitration_decide(*, request, actor, decision, reason, amount=None):
    """The platform's binding decision (R19): ``refund_full``, ``refund_partial`` (``amount``
    up to the request's) or ``reject`` (the request closes). For an express-refunded request,
    a refund decision recovers the advance from the merchant, a rejection claws it back from
    the consumer (R12). Only after the merchant's answer or the end of its answer window
    (R21): before, ``arbitration_answer_pending`` (409) with the date."""
    reason = required_text(reason, "reason", _("裁决需要说明理由。"))
    if decision not in Arbitration.Decision.values:
        raise InvalidInput(
            _("裁决无效。"),
            code="decision_invalid",
            fields={"decision": Arbitration.Decision.values},
        )
    with transaction.atomic():
        request = locked_request(request)
        require_platform(actor, request, mediator=True)
        arbitration = _lock_arbitration(request)
        if arbitration.status == Arbitration.Status.DECIDED:
            raise Conflict(_("仲裁已裁决。"), code="arbitration_decided")
        if not arbitration.decidable_at(clock.now()):
            until = rules.display_instant(arbitration.answer_due_at)
            raise Conflict(
                _("商家答辩期至 %(until)s，平台须在商家答辩后或期满后裁决（R21）。")
                % {"until": until},
                code="arbitration_answer_pending",
                fields={"answer_due_at": iso(arbitration.answer_due_at)},
            )
        refund = Refund.objects.filter(request_id=request.pk).first()
        decided = None
        if decision == "refund_full":
            decided = request.amount
        elif decision == "refund_partial":
            if amount is None:
                raise InvalidInput(
                    _("部分退款需要金额。"), code="amount_required", fields={"amount": "required"}
                )
            decided = money(amount, "amount")
            if decided <= 0 or decided > request.amount:
                raise RuleViolation(
                    _("部分退款金额应在 0 与 %(amount)s 之间。") % {"amount": request.amount},
                    code="refund_amount_invalid",
                    fields={"amount": str(request.amount)},
                )
            if refund is not None and refund.amount != decided:
                raise Conflict(
                    _("该申请已退款，不能再部分退款。"),
                    code="refund_already_made",
                    fields={"refunded": str(refund.amount)},
                )
        now = clock.now()
        arbitration.decision = decision
        arbitration.decided_amount = decided
        arbitration.decided_by = actor_user(actor)
        arbitration.decided_by_label = actor.label
        arbitration.reason = reason
        arbitration.save(
            update_fields=["decision", "decided_amount", "decided_by", "decided_by_label", "reason"]
        )
        status_move(
            arbitration,
            to="decided",
            actor=actor,
            moves=ARBITRATION_MOVES,
            reason=reason,
            timestamp_field="decided_at",
            occurred_at=now,
            verb="arbitration.decided",
        )
        if decision == "reject":
            request = move(request, to="closed", actor=actor, reason=reason)
            if request.express:
                express_ledger_record(
                    request,
                    "clawback",
                    request.amount,
                    actor=actor,
                    note=_("仲裁驳回，向消费者追回垫付款"),
                )
        elif refund is not None:
            to = "refunded" if refund.status == Refund.Status.SUCCEEDED else "refunding"
            request = move(request, to=to, actor=actor, reason=reason)
            if request.express:
                express_ledger_record(
                    request,
                    "recovery",
                    refund.amount,
                    actor=actor,
                    note=_("仲裁支持退款，向商家追偿"),
                )
        else:
            request = move(request, to="refunding", actor=actor, reason=reason)
            refund_start(request, amount=decided, actor=actor, source=Refund.Source.MERCHANT)
        publish(
            "return.arbitration_decided",
            request,
            arbitration_id=arbitration.pk,
            decision=decision,
            decided_amount=str(decided) if decided is not None else None,
        )
        notify_parties(
            request,
            "return.arbitration_decided",
            actor=actor,
            decision=Arbitration.Decision(arbitration.decision).label,
            decided_amount=decided,
            reason=reason,
        )
    return arbitration


def arbitration_answer_window_end(*, request, actor=SYSTEM):
    """R21: the merchant's answer window ended without an answer; the platform may decide now.
    Both parties are told. Nothing happens once answered or decided."""
    with transaction.atomic():
        request = locked_request(request)
        arbitration = Arbitration.objects.filter(request_id=request.pk).first()
        if (
            arbitration is None
            or arbitration.status == Arbitration.Status.DECIDED
            or arbitration.merchant_answered_at is not None
        ):
            return None
        record(request, "return.arbitration_answer_overdue", actor, reason="R21")
        notify_parties(request, "return.arbitration_answer_overdue", actor=actor)
    return arbitration
