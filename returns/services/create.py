"""A request comes in: the consumer asks to return, exchange or get a refund (standard 6.3.1;
RULES.md R1–R4, R8–R11, R15, R17, R18), or the 三包 engine grants a return or an exchange
(repairs; G1, G4–G8). A refund-only request on a line not shipped yet is refunded at once (R11).
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import events_batched
from aftersales.casefile.timeline import timeline_batched
from aftersales.deadlines.engine import deadline_status_enter
from aftersales.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.money import ZERO
from aftersales.policies import policies_cached
from aftersales.tenancy.actors import SYSTEM
from orders import services as order_services
from orders.models import Order, OrderLine, Sku

from .. import rules
from ..citations import citation
from ..models import Refund, ReturnRequest
from .common import (
    KIND_REFUND_ONLY,
    KINDS,
    check_scope,
    iso,
    money,
    notify_parties,
    publish,
    record,
    request_policy,
    required_text,
)
from .entitlement import (
    line_facts,
    line_held_quantities,
    line_shipping_payer,
    line_window_settings,
    with_line_facts,
)
from .evidence import evidence_clean, evidence_save
from .refunds import refund_start


def _option_kind(kind, reason_kind, shipped):
    """Which option of ``rules.return_options`` a request of ``kind`` for a reason of
    ``reason_kind`` needs (R1–R4, R10, R11, R18)."""
    if kind == KIND_REFUND_ONLY and not shipped:
        return rules.REFUND_ONLY_UNSHIPPED
    quality = reason_kind == rules.QUALITY
    if kind in (ReturnRequest.Kind.EXCHANGE, ReturnRequest.Kind.SPEC_EXCHANGE):
        return rules.QUALITY_EXCHANGE if quality else rules.SPEC_EXCHANGE
    return rules.QUALITY_RETURN if quality else rules.NO_REASON_RETURN


def _refuse(option):
    raise RuleViolation(
        option.message,
        code=option.code,
        fields={"rule": option.rule, "decided_by": iso(option.decided_by)},
    )


def _exchange_terms(line, exchange_sku, units, amount, kind):
    """R18: the new spec must be of the same product and in stock; the difference is charged
    (positive) or refunded (negative)."""
    if exchange_sku is None:
        if kind == ReturnRequest.Kind.SPEC_EXCHANGE:
            raise InvalidInput(
                _("换规格需要选择新的规格。"),
                code="exchange_sku_required",
                fields={"exchange_sku": "required"},
            )
        exchange_sku = line.sku
    sku = Sku.objects.select_for_update().get(pk=exchange_sku.pk)
    code = rules.exchange_refusal(
        same_product=sku.product_id == line.sku.product_id, stock=sku.stock, units=units
    )
    if code == "exchange_other_product":
        raise RuleViolation(
            _("只能换成同一商品的其他规格或型号（%(basis)s）。") % {"basis": citation("R18")},
            code=code,
            fields={"exchange_sku": sku.pk},
        )
    if code:
        raise RuleViolation(
            _("所选规格库存不足（剩余 %(stock)s 件），请选择其他规格或申请退货（%(basis)s）。")
            % {"stock": sku.stock, "basis": citation("R18")},
            code=code,
            fields={"exchange_sku": sku.pk, "stock": sku.stock},
        )
    difference = ZERO
    if sku.pk != line.sku_id:
        difference = rules.exchange_price_difference(amount, sku.price, units)
    return sku, difference


def _locked_line(line):
    """Lock order then line (the order ``orders.services.shipment_create`` uses), so a refund
    before shipping and the merchant's shipment are settled by the line lock (R11). ``line``: an
    ``OrderLine`` or its id (the API passes the id: the lock is the line's first read); an id
    that names no line answers 404 ``not_found`` on ``line``, as a line out of scope does."""
    line_id = getattr(line, "pk", line)
    # of=self: not the joined merchant, consumer, SKU, product and category rows (shared by
    # every order and line); they come along for the request's answer and notifications.
    try:
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("merchant", "consumer__user")
            .get(lines__pk=line_id)
        )
    except Order.DoesNotExist:
        raise NotFound(fields={"line": "not_found"}) from None
    # Its held units and outbound parcel come along (with_line_facts): both are written under
    # the order's lock, taken above, so this statement sees them all.
    line = with_line_facts(
        OrderLine.objects.select_for_update(of=("self",)).select_related("sku__product__category")
    ).get(pk=line_id)
    line.order = order
    return order, line


def _insert(request):
    """Write the new request; the database numbers it ``TH<date><id>`` (``number_day``: the
    Shanghai date it was asked on) and the insert returns the number."""
    request.category_id_cached = request.line.sku.product.category_id
    request.number_day = f"{clock.local(request.requested_at):%Y%m%d}"
    request.save(force_insert=True)
    return request


def _initial_deadlines(request, actor):
    deadline_status_enter(request, actor)


def return_request_create(
    *,
    line,
    kind,
    reason,
    quantity,
    actor,
    description="",
    evidence=(),
    exchange_sku=None,
    pickup=None,
):
    """The consumer asks to return, exchange or get a refund for ``quantity`` units of ``line``
    (an ``OrderLine`` or its id; ``quantity`` ``None``: every unit no other request holds)
    (standard 6.3.1; RULES.md R1–R4, R8–R11, R15, R17, R18).

    The entitlement check is ``rules.return_options`` for the line now; a closed option refuses
    with its code (``no_reason_window_closed``, ``no_reason_excluded_by_law``,
    ``quality_window_closed``, ``already_shipped``, ``not_shipped``, ``line_cancelled`` ...).
    Quantities are checked against open and completed requests under the line's row lock (R15,
    ``quantity_exceeds_refundable``). Quality reasons need photos or video
    (``evidence_required``). ``kind`` ``refund_only`` on a line not shipped yet (R11) is approved
    and refunded at once and the line cancelled; a shipment created at the same moment either
    wins (``already_shipped``) or is refused (``line_cancelled``). ``exchange_sku`` chooses the
    new spec of a ``spec_exchange`` (R18). ``pickup``: ``{"slot_start", "slot_end"}`` (aware
    datetimes) books a pickup at the order's address once the request is approved (R16; a slot
    already past by then is left for ``return_pickup_book``). Returns the request.
    """
    if kind not in KINDS:
        raise InvalidInput(_("售后类型无效。"), code="kind_invalid", fields={"kind": KINDS})
    if reason not in rules.REASONS:
        raise InvalidInput(
            _("售后原因无效。"), code="reason_invalid", fields={"reason": sorted(rules.REASONS)}
        )
    try:
        quantity = None if quantity is None else int(quantity)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("数量无效。"), code="quantity_invalid", fields={"quantity": "int"}
        ) from None
    reason_kind = rules.reason_kind(reason)
    items = evidence_clean(evidence, stage="request")
    if rules.reason_needs_evidence(reason) and not items:
        raise RuleViolation(
            _("质量问题、破损或与描述不符的申请需要上传照片或视频。"),
            code="evidence_required",
            fields={"evidence": "required"},
        )
    if actor.consumer_id is None and not actor.platform_write:
        if actor.merchant_id is not None or actor.platform_read:
            raise PermissionDenied(_("售后申请由消费者提交。"))
        raise NotFound()
    # One insert of the timeline and one of the domain events (whose only subscriber is the
    # outbox) for the whole create; policies and webhook endpoints come from the shared cache.
    with (
        transaction.atomic(),
        policies_cached(),
        timeline_batched(),
        events_batched(),
    ):
        order, line = _locked_line(line)
        if actor.consumer_id is not None and actor.consumer_id != order.consumer_id:
            raise NotFound(fields={"line": "not_found"})
        if order.status == Order.Status.PENDING_PAYMENT:
            raise RuleViolation(_("订单未付款，不能申请售后。"), code="order_not_paid")
        now = clock.now()
        open_units, completed, allocated = line_held_quantities(line)
        if quantity is None:  # every unit no other request holds (R15)
            quantity = rules.refundable_quantity(line.quantity, open_units, completed) or 1
        facts = line_facts(line)
        options = rules.return_options(facts, now=now, windows=line_window_settings(line))
        option = rules.option_for(
            options, _option_kind(kind, reason_kind, facts.shipped_at is not None)
        )
        if not option.available:
            if kind == KIND_REFUND_ONLY and facts.shipped_at and facts.signed_at is None:
                # A refund-only request on a parcel under way: it shipped, no instant refund.
                option = rules.option_for(options, rules.REFUND_ONLY_UNSHIPPED)
            _refuse(option)
        refundable = rules.refundable_quantity(line.quantity, open_units, completed)
        code = rules.quantity_refusal(quantity, refundable)
        if option.instant and not code and quantity != refundable:
            code = "instant_refund_whole_line"
        if code:
            raise RuleViolation(
                (
                    _("可申请数量为 %(n)s 件（%(basis)s）。")
                    if code != "instant_refund_whole_line"
                    else _("未发货秒退须退整行剩余的 %(n)s 件（%(basis)s）。")
                )
                % {
                    "n": refundable,
                    "basis": citation("R15" if code != "instant_refund_whole_line" else "R11"),
                },
                code=code,
                fields={"quantity": refundable},
            )
        amount = rules.amount_for_units(
            line.paid_amount, line.quantity, quantity, open_units + completed, allocated
        )
        sku, difference = None, ZERO
        if kind in (ReturnRequest.Kind.EXCHANGE, ReturnRequest.Kind.SPEC_EXCHANGE):
            sku, difference = _exchange_terms(line, exchange_sku, quantity, amount, kind)
        payer = line_shipping_payer(line, reason_kind)
        request = ReturnRequest(
            order=order,
            line=line,
            merchant_id=order.merchant_id,
            consumer_id=order.consumer_id,
            kind=kind,
            reason=reason,
            reason_kind=reason_kind,
            option=option.kind,
            rule=option.rule,
            explanation=option.message,
            quantity=quantity,
            description=description or "",
            amount=amount,
            shipping_payer="" if option.instant or kind == KIND_REFUND_ONLY else payer.payer,
            shipping_rule="" if option.instant or kind == KIND_REFUND_ONLY else payer.rule,
            shipping_explanation=""
            if option.instant or kind == KIND_REFUND_ONLY
            else payer.message,
            insured=rules.is_insured(
                line.unit_paid_price, order_services.high_value_threshold(line)
            ),
            exchange_sku=sku,
            price_difference=difference,
            requested_at=now,
        )
        if option.instant:
            request.status = ReturnRequest.Status.REFUNDING
            request.approved_at = request.refunding_at = now
            request.status_reason = "R11"
        _insert(request)
        request.order, request.line = order, line
        request.merchant, request.consumer = order.merchant, order.consumer
        record(
            request,
            "return.requested",
            actor,
            data={
                "kind": kind,
                "reason": reason,
                "quantity": quantity,
                "amount": str(amount),
                "rule": option.rule,
                "option": option.kind,
            },
        )
        if items:
            evidence_save(request, items, actor=actor, stage="request", party="consumer")
        publish("return.requested", request, reason=reason, rule=option.rule)
        if option.instant:
            _instant_refund(request, actor)
        else:
            _initial_deadlines(request, actor)
            notify_parties(
                request,
                "return.requested",
                to=("merchant",),
                actor=actor,
                order_number=order.number,
                product_name=line.product_name,
                quantity=quantity,
                reason=ReturnRequest.Reason(request.reason).label,
                due_at=_auto_approve_at(request),
            )
        if pickup and not option.instant and request.needs_return_parcel:
            request.pickup_slot_start = pickup.get("slot_start")
            request.pickup_slot_end = pickup.get("slot_end")
            if not request.pickup_slot_start or not request.pickup_slot_end:
                raise InvalidInput(
                    _("上门取件需要预约时段。"),
                    code="pickup_slot_invalid",
                    fields={"pickup": ["slot_start", "slot_end"]},
                )
            request.save(update_fields=["pickup_slot_start", "pickup_slot_end"])
        check_scope(request, actor)
    return request


def _auto_approve_at(request):
    hours = request_policy(request, "returns.auto_approve_hours").value
    return rules.auto_approve_due(request.requested_at, hours)


def _instant_refund(request, actor):
    """R11: approved without review, the line cancelled (it can no longer ship) and refunded."""
    record(
        request,
        "return.approved",
        actor,
        reason="R11",
        data={"to": "refunding", "instant": True},
    )
    publish("return.approved", request, instant=True, rule="R11")
    # The order and the line are locked by the create, which found no outbound parcel.
    order_services.line_cancel(
        line=request.line,
        actor=SYSTEM,
        reason=_("未发货仅退款 %(number)s（R11）") % {"number": request.number},
        locked=True,
    )
    refund_start(
        request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT, fresh=True
    )
    notify_parties(
        request, "return.approved", to=("consumer", "merchant"), actor=actor, variant="instant"
    )


def return_request_create_from_warranty(
    *,
    line,
    kind,
    amount,
    rule,
    explanation,
    actor,
    quantity=1,
    exchange_sku=None,
    paid_for_units=None,
):
    """A return or exchange granted by the 三包 engine (repairs app; RULES.md G1, G4–G8):
    ``kind`` ``return_refund`` (refund of ``amount``, e.g. after G8 depreciation) or
    ``exchange``; ``rule``/``explanation`` say which guarantee granted it. The no-reason and
    quality windows do not apply; quantities still do (R15). Starts ``approved`` (the goods come
    back, R14 applies). Platform writers only (the repairs services act as the platform).

    ``exchange_sku``: an exchange to another model or spec of the same product when the same one
    is unavailable (G7), checked as in R18 (same product, in stock), its price difference
    against ``paid_for_units`` (what the units cost; default their R15 part of the line)."""
    if not actor.platform_write:
        raise PermissionDenied(_("三包退换由平台发起。"))
    if kind not in (ReturnRequest.Kind.RETURN_REFUND, ReturnRequest.Kind.EXCHANGE):
        raise InvalidInput(
            _("三包只能退货或换货。"),
            code="kind_invalid",
            fields={"kind": ["return_refund", "exchange"]},
        )
    rule = required_text(rule, "rule", _("需要三包规则编号。"))
    amount = money(amount, "amount")
    with transaction.atomic():
        order, line = _locked_line(line)
        open_units, completed, allocated = line_held_quantities(line)
        refundable = rules.refundable_quantity(line.quantity, open_units, completed)
        code = rules.quantity_refusal(int(quantity), refundable)
        if code:
            raise RuleViolation(
                _("可申请数量为 %(n)s 件（%(basis)s）。")
                % {"n": refundable, "basis": citation("R15")},
                code=code,
                fields={"quantity": refundable},
            )
        left = line.paid_amount - allocated
        if amount < 0 or amount > left:
            raise RuleViolation(
                _("退款金额超出该商品可退余额 %(left)s。") % {"left": left},
                code="amount_exceeds_paid",
                fields={"amount": str(left)},
            )
        sku, difference = (line.sku if kind == ReturnRequest.Kind.EXCHANGE else None), ZERO
        if kind == ReturnRequest.Kind.EXCHANGE and exchange_sku is not None:
            paid = paid_for_units
            if paid is None:
                paid = rules.amount_for_units(
                    line.paid_amount,
                    line.quantity,
                    int(quantity),
                    open_units + completed,
                    allocated,
                )
            sku, difference = _exchange_terms(line, exchange_sku, int(quantity), paid, kind)
        now = clock.now()
        payer = rules.return_shipping_payer(rules.QUALITY)
        request = ReturnRequest(
            order=order,
            line=line,
            merchant_id=order.merchant_id,
            consumer_id=order.consumer_id,
            origin=ReturnRequest.Origin.WARRANTY,
            kind=kind,
            reason=ReturnRequest.Reason.WARRANTY,
            reason_kind=rules.QUALITY,
            option="warranty",
            rule=rule,
            explanation=explanation or "",
            quantity=int(quantity),
            amount=amount,
            shipping_payer=payer.payer,
            shipping_rule=payer.rule,
            shipping_explanation=payer.message,
            insured=rules.is_insured(
                line.unit_paid_price, order_services.high_value_threshold(line)
            ),
            exchange_sku=sku,
            price_difference=difference,
            status=ReturnRequest.Status.APPROVED,
            requested_at=now,
            approved_at=now,
            status_reason=rule,
        )
        _insert(request)
        record(
            request,
            "return.requested",
            actor,
            reason=explanation,
            data={"kind": kind, "origin": "warranty", "rule": rule, "amount": str(amount)},
        )
        publish("return.requested", request, origin="warranty", rule=rule)
        publish("return.approved", request, origin="warranty", rule=rule)
        _initial_deadlines(request, actor)
        notify_parties(
            request,
            "return.approved",
            actor=actor,
            variant="warranty",
            rule=rule,
            explanation=explanation,
        )
    return request
