"""Repair orders from assignment to return: the admitted provider is assigned and granted the
order, then receives the unit (送修), diagnoses it, waits for parts (G5, G6), repairs it,
records the result and fees (G11) and returns it.
"""

from decimal import InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines.engine import deadline_pause
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.money import yuan

from .. import deadlines, rules
from ..models import PartsWait, RepairOrder, RepairProvider, WarrantyCard
from .common import (
    PARTS_ONLY_RULE,
    clean_instant,
    consumer_user,
    grant_repairs,
    locked_repair,
    notify,
    publish,
    repair_move,
    repair_payload,
    require_repairer,
    require_writer,
    revoke_repairs,
    users_of_provider,
)

G11_REASONS = ("misuse", "disassembly", "voucher", "force_majeure")
# G11 conditions of the unit itself (kept on the card); misuse and force majeure concern a fault.
CARD_G11_REASONS = ("disassembly", "voucher")


def _field_label(field):
    """The field's verbose name in the reader's language (errors never show raw field names)."""
    try:
        return RepairOrder._meta.get_field(field).verbose_name
    except FieldDoesNotExist:
        return field


def _fee(value, field):
    try:
        amount = yuan(str(value) if isinstance(value, float) else (value or 0))
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(
            _("%(field)s不是合法金额。") % {"field": _field_label(field)},
            code="amount_invalid",
            fields={field: "amount_invalid"},
        ) from None
    if amount < 0:
        raise InvalidInput(
            _("%(field)s不能为负。") % {"field": _field_label(field)},
            code="amount_invalid",
            fields={field: ">= 0"},
        )
    return amount


def assignable_providers(*, repair):
    """Admitted providers that may take ``repair``: approved, the card's category among theirs,
    and the consumer's province among their regions (or nationwide)."""
    province = repair.order_line.order.ship_province
    qs = RepairProvider.objects.filter(
        status=RepairProvider.Status.APPROVED, categories=repair.card.catalog_entry_id
    )
    return [p for p in qs.order_by("id") if p.serves_region(province)]


def repair_assign(*, repair, provider, actor, note="", occurred_at=None):
    """Assign (or reassign, while not yet received) a repair to an admitted provider
    (``occurred_at``: when, default now; a data import may give an earlier instant).

    Only ``approved`` providers whose categories hold the card's catalog entry and whose regions
    hold the delivery province (``provider_not_admitted``, ``provider_category_mismatch``,
    ``provider_region_mismatch``). The provider's staff are granted view and change on this
    repair order (django-guardian); a previous provider's grants are removed. Platform writers
    and the repair's merchant.
    """
    repair = RepairOrder.objects.select_related("order_line__order", "card").get(pk=repair.pk)
    require_writer(actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id)
    with transaction.atomic():
        provider = RepairProvider.objects.select_for_update().get(pk=provider.pk)
        locked = locked_repair(repair)
        if provider.status != RepairProvider.Status.APPROVED:
            raise RuleViolation(
                _("维修服务商“%(name)s”状态为%(status)s，不能派单。")
                % {"name": provider.name, "status": provider.get_status_display()},
                code="provider_not_admitted",
                fields={"provider": provider.status},
            )
        if not provider.categories.filter(pk=locked.card.catalog_entry_id).exists():
            raise RuleViolation(
                _("该服务商不具备此类商品的维修资质。"), code="provider_category_mismatch"
            )
        province = repair.order_line.order.ship_province
        if not provider.serves_region(province):
            raise RuleViolation(
                _("该服务商不服务%(province)s。") % {"province": province},
                code="provider_region_mismatch",
                fields={"province": province},
            )
        previous = locked.provider_id
        if locked.status == "requested":
            locked.provider = provider
            locked.save(update_fields=["provider"])
            at = clean_instant(occurred_at, "occurred_at", not_before=locked.fault_reported_at)
            locked = repair_move(
                locked,
                to="assigned",
                actor=actor,
                reason=note,
                occurred_at=at,
                data={"provider_id": provider.pk},
            )
        elif locked.status == "assigned":
            if previous == provider.pk:
                return locked
            locked.provider = provider
            locked.assigned_at = clock.now()
            locked.updated_at = locked.assigned_at
            locked.save(update_fields=["provider", "assigned_at", "updated_at"])
            timeline_record(
                subject=locked,
                verb="repair.reassigned",
                actor=actor,
                reason=note,
                data={"from_provider": previous, "provider_id": provider.pk},
            )
            publish(
                "repair.assigned", locked, {**repair_payload(locked), "from_provider": previous}
            )
        else:
            raise Conflict(
                _("维修单已送修，不能改派。"),
                code="repair_already_received",
                fields={"status": locked.status},
            )
        if previous and previous != provider.pk:
            revoke_repairs(users_of_provider(previous), [locked])
        staff = users_of_provider(provider.pk)
        grant_repairs(staff, [locked])
        facts = {
            "repair_id": locked.pk,
            "repair_number": locked.number,
            "product_name": locked.card.product_name,
        }
        notify(
            staff,
            event="repair.assigned",
            subject=locked,
            actor=actor,
            audience="provider",
            fault=locked.fault_description[:100],
            **facts,
        )
        notify(
            [consumer_user(locked)],
            event="repair.assigned",
            subject=locked,
            actor=actor,
            audience="consumer",
            provider_name=provider.name,
            **facts,
        )
    return locked


def repair_receive(*, repair, actor, occurred_at=None, note=""):
    """The provider received the unit (送修; on site: the technician took it in hand) at
    ``occurred_at``. G6's 30-day clock starts here (``repairs.g6_repairer_limit``)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_repairer(actor, repair)
    with transaction.atomic():
        locked = locked_repair(repair)
        at = clean_instant(
            occurred_at, "occurred_at", not_before=locked.assigned_at or locked.fault_reported_at
        )
        moved = repair_move(locked, to="received", actor=actor, reason=note, occurred_at=at)
        if moved.is_paid:
            deadlines.sanbao_limits_cancel(
                moved, actor=actor, reason=_("付费维修不适用三包换货期限")
            )
        notify(
            [consumer_user(locked)],
            event="repair.received",
            subject=moved,
            actor=actor,
            repair_id=moved.pk,
            repair_number=moved.number,
            product_name=locked.card.product_name,
            received_at=clock.local(at),
        )
    return moved


def repair_diagnose(*, repair, actor, diagnosis, paid_reason="", occurred_at=None):
    """The provider records the diagnosis. ``paid_reason`` (G11: misuse, disassembly, voucher,
    force_majeure) makes the repair paid; disassembly by others and altered/missing vouchers
    are also kept on the card (they concern the unit, not this fault)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_repairer(actor, repair)
    diagnosis = (diagnosis or "").strip()
    if not diagnosis:
        raise InvalidInput(
            _("请填写检测结论。"), code="diagnosis_required", fields={"diagnosis": "required"}
        )
    if paid_reason and paid_reason not in G11_REASONS:
        raise InvalidInput(
            _("付费原因无效（G11）。"),
            code="paid_reason_invalid",
            fields={"paid_reason": list(G11_REASONS)},
        )
    with transaction.atomic():
        locked = locked_repair(repair)
        at = clean_instant(occurred_at, "occurred_at", not_before=locked.received_at)
        moved = repair_move(
            locked,
            to="diagnosing",
            actor=actor,
            occurred_at=at,
            data={"paid_reason": paid_reason},
        )
        moved.diagnosis = diagnosis
        update = ["diagnosis"]
        if paid_reason:
            moved.is_paid, moved.paid_reason = True, paid_reason
            update += ["is_paid", "paid_reason"]
            _card_misuse(locked.card, paid_reason, actor=actor)
            deadlines.sanbao_limits_cancel(
                moved, actor=actor, reason=_("付费维修不适用三包换货期限")
            )
        moved.save(update_fields=update)
        if paid_reason:
            notify(
                [consumer_user(locked)],
                event="repair.paid",
                subject=moved,
                actor=actor,
                repair_id=moved.pk,
                repair_number=moved.number,
                paid_reason=RepairOrder.PaidReason(paid_reason).label,
                diagnosis=diagnosis,
            )
    return moved


def _card_misuse(card, reason, *, actor):
    if reason not in CARD_G11_REASONS or reason in (card.misuse_reasons or []):
        return
    card = WarrantyCard.objects.select_for_update().get(pk=card.pk)
    card.misuse_reasons = sorted({*(card.misuse_reasons or []), reason})
    card.save(update_fields=["misuse_reasons"])
    timeline_record(
        subject=card,
        verb="warranty_card.misuse",
        actor=actor,
        reason=str(rules.MISUSE_LABELS[reason]),
        data={"reasons": card.misuse_reasons},
    )


def repair_parts_wait_start(*, repair, actor, parts="", note="", occurred_at=None):
    """The repair waits for manufacturer parts from ``occurred_at``: the G6 clock stops (those
    days are not the repairer's) and the G5 limit (90 days from 送修; mobile phones 60) is
    scheduled once."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_repairer(actor, repair)
    with transaction.atomic():
        locked = locked_repair(repair)
        at = clean_instant(occurred_at, "occurred_at", not_before=locked.received_at)
        moved = repair_move(
            locked,
            to="waiting_parts",
            actor=actor,
            reason=note,
            occurred_at=at,
            data={"parts": parts},
        )
        PartsWait.objects.create(repair=moved, started_at=at, parts=parts or "", note=note or "")
        moved.parts_wait_since = at
        moved.save(update_fields=["parts_wait_since"])
        if deadlines.open_deadline(moved, deadlines.G6_KIND) is not None:
            deadline_pause(
                subject=moved, kind=deadlines.G6_KIND, actor=actor, reason="waiting_parts"
            )
        moved.card = locked.card
        deadlines.g5_schedule_once(moved, actor=actor)
        notify(
            [consumer_user(locked)],
            event="repair.waiting_parts",
            subject=moved,
            actor=actor,
            repair_id=moved.pk,
            repair_number=moved.number,
            parts=parts,
        )
    return moved


def _end_wait(repair, at):
    """Close the open wait of the locked ``repair``; returns the days it lasted."""
    wait = (
        PartsWait.objects.select_for_update().filter(repair=repair, ended_at__isnull=True).first()
    )
    if wait is None:
        return 0
    at = max(at, wait.started_at)
    wait.ended_at = at
    wait.save(update_fields=["ended_at"])
    days = rules.days_between(wait.started_at, at)
    repair.parts_wait_days += days
    repair.parts_wait_since = None
    repair.save(update_fields=["parts_wait_days", "parts_wait_since"])
    return days


def repair_parts_wait_end(*, repair, actor, occurred_at=None, note=""):
    """The parts arrived at ``occurred_at``: the repair goes on (``repairing``); the waited
    calendar days (Shanghai, the day the wait began not counted) are added to the repair's parts
    days and G6 is due again 30 repairer days after 送修."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_repairer(actor, repair)
    with transaction.atomic():
        locked = locked_repair(repair)
        if locked.status != "waiting_parts":
            raise Conflict(
                _("维修单不在等待配件状态。"),
                code="not_waiting_parts",
                fields={"status": locked.status},
            )
        at = clean_instant(occurred_at, "occurred_at", not_before=locked.parts_wait_since)
        days = _end_wait(locked, at)
        moved = repair_move(
            locked,
            to="repairing",
            actor=actor,
            reason=note,
            occurred_at=at,
            data={"parts_wait_days": days},
        )
        deadlines.g6_reschedule(moved, actor=actor)
    return moved


def repair_start(*, repair, actor, occurred_at=None, note=""):
    """The provider starts repairing (after receipt or diagnosis)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_repairer(actor, repair)
    with transaction.atomic():
        locked = locked_repair(repair)
        at = clean_instant(occurred_at, "occurred_at", not_before=locked.received_at)
        return repair_move(locked, to="repairing", actor=actor, reason=note, occurred_at=at)


def _clean_parts_replaced(parts):
    out = []
    for part in parts or []:
        if isinstance(part, str):
            part = {"name": part, "quantity": 1}
        name = str((part or {}).get("name", "")).strip() if isinstance(part, dict) else ""
        quantity = part.get("quantity", 1) if isinstance(part, dict) else None
        if not name or not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise InvalidInput(
                _("更换部件需要名称和正整数数量。"),
                code="parts_replaced_invalid",
                fields={"parts_replaced": "each part needs a name and quantity >= 1"},
            )
        out.append({"name": name[:80], "quantity": quantity})
    return out


def repair_finish(
    *,
    repair,
    actor,
    result,
    parts_replaced=(),
    labour_fee=0,
    parts_fee=0,
    is_paid=None,
    paid_reason=None,
    note="",
    occurred_at=None,
):
    """The provider records the result: ``fixed`` or ``not_fixed``, the parts replaced, labour
    and parts fees, free or paid. The deadlines G5/G6 end here; an open parts wait ends too.

    Paid only with a reason: G11 (``misuse``, ``disassembly``, ``voucher``, ``force_majeure``),
    or ``out_of_period`` when the engine found no free repair at the report (G9) or only main
    parts still covered (``G3P``, the fault not being one of them). A repair the engine granted
    free (G3, G12) becomes paid only with a G11 reason; making a repair free is always allowed.
    """
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_repairer(actor, repair)
    if result not in RepairOrder.Result.values:
        raise InvalidInput(
            _("维修结果无效。"), code="result_invalid", fields={"result": RepairOrder.Result.values}
        )
    parts = _clean_parts_replaced(list(parts_replaced or []))
    labour, parts_cost = _fee(labour_fee, "labour_fee"), _fee(parts_fee, "parts_fee")
    with transaction.atomic():
        locked = locked_repair(repair)
        at = clean_instant(occurred_at, "occurred_at", not_before=locked.received_at)
        paid, reason = locked.is_paid, locked.paid_reason
        if is_paid is not None or paid_reason is not None:
            paid = bool(is_paid) if is_paid is not None else bool(paid_reason)
            reason = (paid_reason or "") if paid else ""
            if (
                paid
                and reason not in G11_REASONS
                and not (
                    reason == "out_of_period"
                    and (
                        locked.paid_reason == "out_of_period"
                        or locked.entitlement_rule == PARTS_ONLY_RULE
                    )
                )
            ):
                raise RuleViolation(
                    _("三包期内的维修只能因使用不当、擅自拆动、凭证问题或不可抗力收费（G11）。"),
                    code="paid_reason_required",
                    fields={"paid_reason": list(G11_REASONS)},
                )
            if paid and not reason:
                reason = locked.paid_reason
        if locked.parts_wait_since is not None:
            _end_wait(locked, at)
        moved = repair_move(
            locked,
            to=result,
            actor=actor,
            reason=note,
            occurred_at=at,
            data={"is_paid": paid, "paid_reason": reason},
        )
        moved.result = result
        moved.result_note = note or ""
        moved.parts_replaced = parts
        moved.labour_fee, moved.parts_fee = labour, parts_cost
        moved.is_paid, moved.paid_reason = paid, reason
        moved.save(
            update_fields=[
                "result",
                "result_note",
                "parts_replaced",
                "labour_fee",
                "parts_fee",
                "is_paid",
                "paid_reason",
            ]
        )
        if paid and reason in CARD_G11_REASONS:
            _card_misuse(locked.card, reason, actor=actor)
        notify(
            [consumer_user(locked)],
            event=f"repair.{result}",
            subject=moved,
            actor=actor,
            repair_id=moved.pk,
            repair_number=moved.number,
            product_name=locked.card.product_name,
            paid=paid,
            fee=moved.total_fee,
            note=note,
        )
    return moved


def repair_return_to_consumer(*, repair, actor, occurred_at=None, note=""):
    """The unit went back to the consumer (``returned_at``). The days in repair end at the
    repair's finish; G12's 30 days run from there."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_repairer(actor, repair)
    with transaction.atomic():
        locked = locked_repair(repair)
        at = clean_instant(occurred_at, "occurred_at", not_before=locked.finished_at)
        moved = repair_move(locked, to="returned", actor=actor, reason=note, occurred_at=at)
        notify(
            [consumer_user(locked)],
            event="repair.returned",
            subject=moved,
            actor=actor,
            repair_id=moved.pk,
            repair_number=moved.number,
            product_name=locked.card.product_name,
        )
    return moved
