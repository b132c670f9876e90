"""Repair orders from the consumer's and the merchant's side: the request and its terms decided
by the entitlement engine (G3, G4, G9, G11, G12), a fault that comes back, closing,
cancelling and evidence.
"""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.files import original_name
from aftersales.casefile.timeline import timeline_record
from aftersales.casefile.uploads import check_upload, track_stored
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.messaging.notifications import merchant_staff

from .. import rules
from ..models import RepairEvidence, RepairOrder, WarrantyCard
from ..selectors import card_facts
from ..uploads import FAULT_PHOTOS, KIND_CLAIMS, MAX_FAULT_PHOTOS, REPAIR_EVIDENCE
from .common import (
    CHANGE_PERM,
    PARTS_ONLY_RULE,
    clean_instant,
    consumer_user,
    escalation_open,
    iso,
    locked_card,
    locked_repair,
    new_number,
    notify,
    publish,
    repair_move,
    repair_payload,
    require_writer,
    revoke_repairs,
    users_of_provider,
)


def _resolve_card(*, card, line, unit_index):
    if card is not None:
        return WarrantyCard.objects.select_related("catalog_entry").get(pk=card.pk)
    if line is None:
        raise InvalidInput(
            _("请指定三包凭证或订单行。"), code="card_required", fields={"card": "required"}
        )
    current = (
        WarrantyCard.objects.select_related("catalog_entry")
        .filter(order_line_id=line.pk, unit_index=unit_index or 1)
        .order_by("-id")
        .first()
    )
    if current is None:
        raise RuleViolation(
            _("该商品没有三包凭证（未签收或不属于三包商品）。"), code="no_warranty_card"
        )
    return current


def _decide_paid(ent, misuse):
    """(is_paid, paid_reason, rule) of a repair requested now, from the engine's answer.

    ``G3P``: the whole-unit period is over but main parts are still covered — free for now;
    the repairer may still charge (``out_of_period``) when the fault is not a covered part."""
    if misuse:
        return True, sorted(misuse)[0], "G11"
    free = [r for r in ent.remedies if r.kind == rules.FREE_REPAIR]
    if any(r.rule == "G12" for r in free):
        return False, "", "G12"
    if free:
        return False, "", PARTS_ONLY_RULE if "parts" in free[0].dates else free[0].rule
    return True, "out_of_period", "G9"


def repair_request(
    *,
    actor,
    fault_description,
    card=None,
    line=None,
    unit_index=1,
    service_mode=RepairOrder.ServiceMode.SEND_IN,
    fault_reported_at=None,
    evidence=(),
):
    """The consumer reports a fault of a unit (its card, or order line × unit) and asks for a
    repair (standard 6.5): returns the ``RepairOrder`` (``requested``).

    The entitlement engine decides the terms at the report: free under G3 (within the extended
    三包 period, or a main part still covered) or G12 (the last repair failed within 30 days:
    that repair now counts as not fixed and this one is its free redo, ``reopened_from``);
    paid under G11 (misuse etc. recorded on the card) or when the period is over (G9). When the
    engine grants an exchange for this fault because two repairs were done in the period (G4),
    an escalation is opened for the consumer's choice (``warranty_remedy_choose``).

    ``evidence``: uploaded files (photos of the fault, ``fault_photos_clean``). One open
    repair per card.
    """
    fault_description = (fault_description or "").strip()
    if not fault_description:
        raise InvalidInput(
            _("请描述故障。"),
            code="fault_description_required",
            fields={"fault_description": "required"},
        )
    if service_mode not in RepairOrder.ServiceMode.values:
        raise InvalidInput(
            _("服务方式无效。"),
            code="service_mode_invalid",
            fields={"service_mode": RepairOrder.ServiceMode.values},
        )
    card = _resolve_card(card=card, line=line, unit_index=unit_index)
    require_writer(
        actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id, consumer_may=True
    )
    evidence = fault_photos_clean(evidence)
    with transaction.atomic():
        card = locked_card(card)
        return _request(
            card=card,
            actor=actor,
            fault_description=fault_description,
            service_mode=service_mode,
            fault_reported_at=clean_instant(fault_reported_at, "fault_reported_at"),
            evidence=evidence,
            facts_of=card_facts,
        )


def _request(
    *, card, actor, fault_description, service_mode, fault_reported_at, evidence, facts_of
):
    if card.status != WarrantyCard.Status.ACTIVE:
        raise Conflict(
            _("三包凭证状态为“%(status)s”，不能报修。") % {"status": card.get_status_display()},
            code="card_not_active",
            fields={"status": card.status},
        )
    if RepairOrder.objects.filter(card=card, status__in=RepairOrder.OPEN_STATUSES).exists():
        raise Conflict(_("该商品已有进行中的维修单。"), code="repair_already_open")
    modes = rules.service_modes(card.catalog_entry.code)
    if service_mode not in modes:
        raise RuleViolation(
            _("该类商品不提供上门维修，请寄修或送至维修网点。"),
            code="service_mode_not_offered",
            fields={"service_mode": list(modes)},
        )
    facts = facts_of(card)
    ent = rules.entitlements(facts, fault_reported_at)
    is_paid, paid_reason, rule = _decide_paid(ent, facts.misuse)
    reopened = None
    if rule == "G12" and ent.not_fixed_repairs:
        reopened = _reopen_last(card, ent, actor=actor, at=fault_reported_at)
    repair = RepairOrder.objects.create(
        number=new_number("RP"),
        card=card,
        order_line_id=card.order_line_id,
        merchant_id=card.merchant_id,
        consumer_id=card.consumer_id,
        fault_description=fault_description,
        service_mode=service_mode,
        fault_reported_at=fault_reported_at,
        entitlement_rule=rule,
        is_paid=is_paid,
        paid_reason=paid_reason,
        reopened_from=reopened,
        updated_at=clock.now(),
    )
    for upload in evidence or ():
        row = RepairEvidence.objects.create(
            repair=repair,
            file=upload,
            original_name=original_name(upload),
            uploaded_by=actor.user if getattr(actor.user, "pk", None) else None,
            actor_label=actor.label,
        )
        track_stored(row.file)
    timeline_record(
        subject=repair,
        verb="repair.requested",
        actor=actor,
        to_status=repair.status,
        occurred_at=fault_reported_at,
        data={
            "card_id": card.pk,
            "rule": rule,
            "is_paid": is_paid,
            "paid_reason": paid_reason,
            "summary": ent.summary,
            "reopened_from": reopened.pk if reopened else None,
        },
    )
    publish("repair.requested", repair, {**repair_payload(repair), "summary": ent.summary})
    g4 = next((r for r in ent.remedies if r.rule == "G4"), None)
    if g4 is not None:
        escalation_open(card, repair=repair, rule="G4", remedy=g4, actor=actor, ent=ent)
    facts = {
        "repair_id": repair.pk,
        "repair_number": repair.number,
        "product_name": card.product_name,
    }
    notify(
        [consumer_user(card)],
        event="repair.requested",
        subject=repair,
        actor=actor,
        audience="consumer",
        is_paid=is_paid,
        rule=rule,
        summary=ent.summary,
        **facts,
    )
    notify(
        merchant_staff(card.merchant_id),
        event="repair.requested",
        subject=repair,
        actor=actor,
        audience="merchant",
        fault=fault_description[:100],
        **facts,
    )
    return repair


def _reopen_last(card, ent, *, actor, at):
    """G12: the last repair failed again within 30 days — it counts as not fixed."""
    last_finished = ent.not_fixed_repairs[-1].finished_at
    previous = (
        RepairOrder.objects.select_for_update()
        .filter(card__in=_chain_ids(card), finished_at__isnull=False)
        .order_by("-finished_at", "-pk")
        .first()
    )
    # Only the latest repair is redone; an older one the repairer left unfixed is history.
    if previous is None or previous.finished_at != last_finished:
        return None
    if previous.result != RepairOrder.Result.NOT_FIXED:
        previous.result = RepairOrder.Result.NOT_FIXED
        previous.reopened_at = at
        previous.updated_at = clock.now()
        previous.save(update_fields=["result", "reopened_at", "updated_at"])
        timeline_record(
            subject=previous,
            verb="repair.reopened",
            actor=actor,
            reason=_("修复后 30 日内再次故障，视为未修好"),
            occurred_at=at,
            data={"finished_at": iso(previous.finished_at)},
        )
        publish("repair.reopened", previous, repair_payload(previous))
    return previous


def _chain_ids(card):
    root = card.chain_root_id
    return list(
        WarrantyCard.objects.filter(Q(pk=root) | Q(root_id=root)).values_list("pk", flat=True)
    )


def repair_fault_reoccurred(
    *, repair, actor, fault_description, service_mode=None, fault_reported_at=None
):
    """The consumer reports that a repaired unit fails again; returns the new repair order.

    Within 30 days after ``repair`` ended it counts as not fixed and the new repair is its free
    redo (G12, ``reopened_from``); a third fault after two repairs in the period also opens an
    exchange or return with depreciation (G4, escalation). Otherwise it is an ordinary request.
    """
    repair = RepairOrder.objects.get(pk=repair.pk)
    if repair.finished_at is None:
        raise Conflict(_("该维修单尚未完成。"), code="repair_not_finished")
    return repair_request(
        actor=actor,
        card=repair.card,
        fault_description=fault_description,
        service_mode=service_mode or repair.service_mode,
        fault_reported_at=fault_reported_at,
    )


def repair_close(*, repair, actor, reason=""):
    """Close a repair that is done (returned, or ended without return). The consumer confirms,
    or the merchant / platform closes it."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_writer(
        actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        locked = locked_repair(repair)
        if locked.status in RepairOrder.OPEN_STATUSES and not actor.platform_write:
            raise Conflict(_("维修尚未完成，不能关闭。"), code="repair_not_finished")
        return repair_move(locked, to="closed", actor=actor, reason=reason)


def repair_cancel(*, repair, actor, reason=""):
    """Cancel a repair before the repairer received the unit (consumer, merchant, platform)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    require_writer(
        actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        locked = locked_repair(repair)
        moved = repair_move(locked, to="cancelled", actor=actor, reason=reason)
        if locked.provider_id:
            revoke_repairs(users_of_provider(locked.provider_id), [moved])
    return moved


def fault_photos_clean(evidence):
    """The photos of a repair request, each checked for what it is (``repairs.uploads``: at
    most ``MAX_FAULT_PHOTOS`` images, re-encoded without metadata); ``UploadRejected``
    otherwise."""
    evidence = list(evidence or ())
    if len(evidence) > MAX_FAULT_PHOTOS:
        raise InvalidInput(
            _("最多上传 %(n)s 张照片。") % {"n": MAX_FAULT_PHOTOS},
            code="upload_too_many",
            fields={"photos": MAX_FAULT_PHOTOS},
        )
    return [check_upload(f, accept=FAULT_PHOTOS, field_name="photos") for f in evidence]


def repair_evidence_add(*, repair, actor, file, kind=RepairEvidence.Kind.PHOTO, caption=""):
    """Attach a photo, video or inspection report (the consumer, the merchant, the repairer,
    or the platform)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    if not (actor.is_provider and actor.user.has_perm(CHANGE_PERM, repair)):
        require_writer(
            actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id, consumer_may=True
        )
    if kind not in RepairEvidence.Kind.values:
        raise InvalidInput(
            _("凭证类型无效。"),
            code="evidence_kind_invalid",
            fields={"kind": RepairEvidence.Kind.values},
        )
    if not file:
        raise InvalidInput(
            _("请选择文件。"), code="evidence_file_required", fields={"file": "required"}
        )
    file = check_upload(file, accept=REPAIR_EVIDENCE, claims=KIND_CLAIMS[kind], field_name="file")
    with transaction.atomic():
        evidence = RepairEvidence.objects.create(
            repair=repair,
            kind=kind,
            file=file,
            original_name=original_name(file),
            caption=caption or "",
            uploaded_by=actor.user if getattr(actor.user, "pk", None) else None,
            actor_label=actor.label,
        )
        track_stored(evidence.file)
        timeline_record(
            subject=repair,
            verb="repair.evidence_added",
            actor=actor,
            data={"evidence_id": evidence.pk, "kind": kind},
        )
    return evidence
