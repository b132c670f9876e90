"""Escalations and remedies (G1, G2, G4–G8): the platform resolves an escalation; the consumer
chooses an exchange or a refund the engine grants, which runs through the returns flow, and
may choose again when that request ends without completing.
"""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.tenancy.actors import SYSTEM
from orders.models import Sku
from returns import services as returns_services

from .. import rules
from ..models import RepairOrder, WarrantyCard, WarrantyEscalation
from ..selectors import card_facts, card_line_units
from .common import (
    card_payload,
    escalation_close,
    escalation_open,
    locked_card,
    publish,
    require_platform_write,
    require_writer,
)


def escalation_resolve(*, escalation, actor, resolution, note=""):
    """Platform staff close an escalation: ``exchange``, ``refund``, ``repair`` (the consumer
    keeps the repair) or ``dismissed`` (with a note saying why)."""
    require_platform_write(actor)
    if resolution not in WarrantyEscalation.Resolution.values:
        raise InvalidInput(
            _("处理结果无效。"),
            code="resolution_invalid",
            fields={"resolution": WarrantyEscalation.Resolution.values},
        )
    if resolution == "dismissed" and not (note or "").strip():
        raise InvalidInput(
            _("请说明不成立的原因。"), code="note_required", fields={"note": "required"}
        )
    with transaction.atomic():
        escalation = WarrantyEscalation.objects.select_for_update().get(pk=escalation.pk)
        if escalation.status != WarrantyEscalation.Status.OPEN:
            raise Conflict(_("该升级案件已处理。"), code="escalation_resolved")
        return escalation_close(escalation, actor=actor, resolution=resolution, note=note)


def _returns_entry():
    return getattr(returns_services, "return_request_create_from_warranty", None)


RETURNS_KIND = {rules.EXCHANGE: "exchange", rules.RETURN: "return_refund"}


def _alternative_sku(card, exchange_sku):
    """The other model or spec the consumer takes when the same one is unavailable (G7): of the
    same product, not the card's own, in stock (the returns flow re-checks under its lock)."""
    if exchange_sku in (None, ""):
        raise InvalidInput(
            _("同型号同规格无货，请选择换成的其他型号或规格。"),
            code="exchange_sku_required",
            fields={"exchange_sku": "required"},
        )
    pk = getattr(exchange_sku, "pk", exchange_sku)
    sku = Sku.objects.filter(pk=pk, product_id=card.product_id).exclude(pk=card.sku_id).first()
    if sku is None:
        raise RuleViolation(
            _("只能换成同一商品的其他型号或规格。"),
            code="exchange_other_product",
            fields={"exchange_sku": pk},
        )
    return sku


def warranty_remedy_choose(*, card, remedy, actor, note="", exchange_sku=None):
    """The consumer takes a remedy the engine grants now: ``exchange`` or ``return`` (refund);
    returns the card (``pending_remedy``, ``return_request_id`` set).

    Checked against ``card_entitlements`` (G1, G2, G4–G8): anything else is refused with
    ``remedy_not_granted``; a refund whose depreciation cannot be computed (rate unknown, G8)
    with ``depreciation_rate_unknown``; a second choice while one is in the returns flow with
    ``remedy_already_chosen``; while the line's units are all in return, exchange or refund
    requests (open or done, R15) with ``units_in_return``. The request runs through the returns flow
    (``returns.services.return_request_create_from_warranty``, kind ``exchange`` or
    ``return_refund``, the granting rule and the refund — full for G1/G7, depreciated for G8).
    When the same model and spec is unavailable the exchange granted is an alternative (G7):
    ``exchange_sku`` names the other model or spec of the same product, in stock
    (``exchange_sku_required``, ``exchange_other_product``, ``exchange_out_of_stock``), the price
    difference charged or refunded as in R18; the G7 full refund records that the consumer
    refuses the alternative.
    The open escalation of the card (G4–G6; opened now if the engine grants one and none is
    open) records the choice. When the returns flow completes, ``repairs.events`` ends the card:
    exchange → ``warranty_card_exchange`` (G10), refund → ``warranty_card_return``.
    """
    if remedy not in (rules.EXCHANGE, rules.RETURN):
        raise InvalidInput(
            _("请选择换货或退货。"),
            code="remedy_invalid",
            fields={"remedy": [rules.EXCHANGE, rules.RETURN]},
        )
    card = WarrantyCard.objects.get(pk=card.pk)
    require_writer(
        actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        card = locked_card(card)
        if card.status != WarrantyCard.Status.ACTIVE:
            raise Conflict(
                _("三包凭证已失效。"), code="card_not_active", fields={"status": card.status}
            )
        if card.pending_remedy:
            raise Conflict(
                _("已选择%(remedy)s，正在处理中。")
                % {"remedy": rules.KIND_LABELS[card.pending_remedy]},
                code="remedy_already_chosen",
                fields={"return_request_id": card.return_request_id},
            )
        free, open_requests = card_line_units(card)
        if free < 1:
            numbers = _("、").join(r.number for r in open_requests)
            raise Conflict(
                _("该商品已在退换货申请 %(numbers)s 中处理，不能重复申请。") % {"numbers": numbers}
                if numbers
                else _("该商品的数量均已退换，不能重复申请。"),
                code="units_in_return",
                fields={"return_request_ids": [r.pk for r in open_requests]},
            )
        ent = rules.entitlements(card_facts(card), clock.now())
        granted = ent.remedy(remedy)
        if granted is None:
            raise RuleViolation(
                _("当前不能%(remedy)s：%(summary)s")
                % {"remedy": rules.KIND_LABELS[remedy], "summary": ent.summary},
                code="remedy_not_granted",
                fields={"remedies": ent.kinds},
            )
        if remedy == rules.RETURN and granted.refund is None:
            raise RuleViolation(
                _("该类目日折旧率未设置，暂不能计算退款金额。"),
                code=granted.refund_error or "depreciation_rate_unknown",
            )
        alternative = _alternative_sku(card, exchange_sku) if granted.alternative else None
        if remedy == rules.RETURN and granted.rule == "G7" and not card.alternative_refused:
            card.alternative_refused = True
            card.save(update_fields=["alternative_refused"])
            timeline_record(
                subject=card,
                verb="warranty_card.alternative_refused",
                actor=actor,
                reason=note,
                data={"refused": True, "by": "g7_refund_chosen"},
            )
        escalation = _escalation_for_choice(card, ent, actor=actor)
        create = _returns_entry()
        request_id = None
        if create is not None:
            extra = {}
            if alternative is not None:
                extra = {"exchange_sku": alternative, "paid_for_units": card.unit_price}
            request = create(
                line=card.order_line,
                kind=RETURNS_KIND[remedy],
                amount=granted.refund if remedy == rules.RETURN else Decimal("0.00"),
                rule=granted.rule,
                explanation=granted.explanation,
                # The engine granted it: the returns flow records it as the platform does.
                actor=actor if actor.platform_write else SYSTEM,
                quantity=1,
                **extra,
            )
            request_id = request.pk
        card.pending_remedy, card.return_request_id = remedy, request_id
        card.save(update_fields=["pending_remedy", "return_request_id"])
        refund = str(granted.refund) if granted.refund is not None else None
        data = {"remedy": remedy, "rule": granted.rule, "refund": refund}
        if alternative is not None:
            data["alternative_sku_id"] = alternative.pk
        data |= {"return_request_id": request_id, "returns_flow": create is not None}
        timeline_record(
            subject=card, verb="warranty_card.remedy_chosen", actor=actor, reason=note, data=data
        )
        if escalation is not None:
            escalation.chosen_remedy = remedy
            escalation.return_request_id = request_id
            escalation.save(update_fields=["chosen_remedy", "return_request_id"])
            timeline_record(
                subject=escalation,
                verb="warranty_escalation.remedy_chosen",
                actor=actor,
                data=data,
            )
        payload = {**card_payload(card), **data, "escalation_id": getattr(escalation, "pk", None)}
        publish("warranty_card.remedy_chosen", card, payload)
    card.remedy_escalation = escalation
    return card


def _escalation_for_choice(card, ent, *, actor):
    escalation = (
        WarrantyEscalation.objects.select_for_update()
        .filter(card=card, status=WarrantyEscalation.Status.OPEN)
        .order_by("pk")
        .first()
    )
    if escalation is not None:
        return escalation
    grant = next(
        (r for r in ent.remedies if r.kind == rules.EXCHANGE and r.rule in ("G4", "G5", "G6")),
        None,
    )
    if grant is None:
        return None  # G1/G2 (7 and 15 days): a plain remedy, nothing to escalate
    repair = RepairOrder.objects.filter(card=card).order_by("-pk").first()
    return escalation_open(card, repair=repair, rule=grant.rule, remedy=grant, actor=actor, ent=ent)


def warranty_remedy_release(*, card, actor, reason=""):
    """The returns request of a chosen remedy ended without completing (cancelled, rejected,
    closed): the consumer may choose again. Run by the returns subscriber (``SYSTEM``)."""
    require_platform_write(actor)
    with transaction.atomic():
        card = locked_card(card)
        if not card.pending_remedy:
            return card
        before = card.pending_remedy
        card.pending_remedy, card.return_request_id = "", None
        card.save(update_fields=["pending_remedy", "return_request_id"])
        timeline_record(
            subject=card,
            verb="warranty_card.remedy_released",
            actor=actor,
            reason=reason,
            data={"remedy": before},
        )
        WarrantyEscalation.objects.filter(card=card, status="open").update(
            chosen_remedy="", return_request_id=None
        )
    return card
