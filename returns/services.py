"""Writes of returns, exchanges, refunds and arbitration (standard 6.3; RULES.md R1–R19).

Every function is keyword-only, takes ``actor``, owns its transaction, locks rows in a fixed
order (order → line → request → refund → tender), moves statuses through
``aftersales.casefile.statuses.status_move`` with ``rules.RETURN_MOVES``, records a timeline event,
publishes a domain event (``return.<verb>``, fed to the webhook outbox) and notifies the people
concerned. After a write the request must still be inside the actor's scope.

Domain events (payload: ``return_request_id``, ``number``, ``order_id``, ``line_id``,
``status``, ``kind``, ``amount`` and per-event extras): ``return.requested``,
``return.approved``, ``return.rejected``, ``return.cancelled``, ``return.closed``,
``return.shipped_back``, ``return.pickup_booked``, ``return.parcel_scanned``,
``return.received``, ``return.disputed``, ``return.escalated``, ``return.arbitration_answered``,
``return.inspection_requested``, ``return.inspection_reported``, ``return.arbitration_decided``,
``return.refund_started``, ``return.refunded``, ``return.refund_failed``,
``return.exchange_shipped``, ``return.completed``, ``return.overridden``,
``return.express_advanced``, ``return.express_recovered``, ``return.express_clawback``,
``return.express_clawback_cancelled``, ``return.evidence_added``, and those of
``returns.payments`` (``return.difference_*``, ``return.shipping_reimburs*``,
``return.shipping_fee_declared`` in the timeline). (``refund.succeeded`` / ``refund.failed``
stay the gateway-level events of ``orders``, one per tender.)

Money besides the refund (``returns.payments``): a positive price difference of a spec
exchange (R18) is charged to the consumer (``exchange_difference_pay``) before the merchant may
ship the replacement (``price_difference_unpaid``) and given back if the request then ends
without the exchange; the return shipping the merchant pays (R9, R8 with "退货免运费") is
reimbursed with the refund — the fee declared at ship-back or pickup, capped by the policy
``returns.shipping_reimbursement_max`` — as a separate ``ShippingReimbursement`` payout to the
channel of the original card (else balance) tender, *not* as a refund part, so R7's invariant
(refund parts per tender never exceed what the tender paid) is untouched.

Who may do what: the consumer of the request creates, cancels, ships back, books a pickup and
escalates; the merchant (staff or a merchant key) approves, rejects, receives, ships the
replacement, refunds and answers in arbitration; platform writers may do all of that and
alone request inspections, decide arbitration and override. Mediators granted a request
(``returns.view_returnrequest`` via django-guardian) may also decide its arbitration.
"""

import uuid

from django.core.files.base import File
from django.db import transaction
from django.db.models import Q, Sum

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.models import TimelineEvent
from aftersales.casefile.statuses import status_move
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines.engine import deadline_cancel, deadline_schedule, deadline_status_enter
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.messaging.notifications import merchant_staff
from aftersales.money import ZERO, split_pro_rata, yuan
from aftersales.policies import policies_cached, policy_get, policy_value
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.scope import ensure_in_scope
from orders import services as order_services
from orders.models import GatewayRefund, Order, OrderLine, PickupBooking, Shipment, Sku, Tender

from . import payments, rules
from .models import (
    ARBITRATION_MOVES,
    EVIDENCE_DEFAULT_MAX_BYTES,
    EVIDENCE_EXTENSIONS,
    EVIDENCE_MAX_BYTES,
    Arbitration,
    ExpressRefundLedgerEntry,
    InspectionRequest,
    Refund,
    RefundPart,
    ReturnEvidence,
    ReturnRequest,
)

RETURN_GRANT = "returns.view_returnrequest"
"""The django-guardian permission that grants one request to a mediator."""

KIND_REFUND_ONLY = ReturnRequest.Kind.REFUND_ONLY
KINDS = ReturnRequest.Kind.values
QUANTITY_HELD = ~Q(status__in=sorted(rules.QUANTITY_FREE_STATUSES))
COMPLETED_STATUSES = ("refunded", "completed")


def _held_rows(line_id):
    """``(status, quantity, amount)`` of the line's requests that hold units (R15)."""
    return ReturnRequest.objects.filter(QUANTITY_HELD, line_id=line_id).values_list(
        "status", "quantity", "amount"
    )


MAX_REFUND_RETRIES = 3
OVERRIDE_MOVES = {s: set(rules.RETURN_MOVES) - {s} for s in rules.RETURN_MOVES}
"""Platform override (``return_override``): any status to any other, with a recorded reason."""


# -- small helpers ------------------------------------------------------------------------------


def _iso(dt):
    return dt.isoformat() if dt else None


def _money(value, field):
    try:
        amount = yuan(str(value) if isinstance(value, float) else value)
    except Exception:  # noqa: BLE001 - InvalidOperation, TypeError, ValueError
        raise InvalidInput(
            f"{field} 不是合法金额。", code="amount_invalid", fields={field: "amount_invalid"}
        ) from None
    return amount


def _required_text(value, field, message):
    value = (value or "").strip()
    if not value:
        raise InvalidInput(message, code=f"{field}_required", fields={field: "required"})
    return value


def _party(actor, request):
    if actor.consumer_id is not None and actor.consumer_id == request.consumer_id:
        return ReturnEvidence.Party.CONSUMER
    if actor.merchant_id is not None and actor.merchant_id == request.merchant_id:
        return ReturnEvidence.Party.MERCHANT
    return ReturnEvidence.Party.PLATFORM


def _user(actor):
    return actor.user if getattr(actor.user, "pk", None) else None


def _has_grant(actor, request):
    user = _user(actor)
    if user is None or not actor.is_mediator:
        return False
    from guardian.shortcuts import get_perms

    return "view_returnrequest" in get_perms(user, request)


def _require_consumer(actor, request):
    """The request's consumer, or a platform writer acting for them."""
    if actor.platform_write or (
        actor.consumer_id is not None and actor.consumer_id == request.consumer_id
    ):
        return
    if actor.merchant_id is not None and actor.merchant_id == request.merchant_id:
        raise PermissionDenied(
            "此操作只能由消费者本人进行。Only the consumer can do this.", code="consumer_only"
        )
    if actor.platform_read or _has_grant(actor, request):
        raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
    raise NotFound()


def _require_merchant(actor, request):
    """The request's merchant (staff or merchant key), or a platform writer."""
    if _has_grant(actor, request):
        raise PermissionDenied("调解员不能代商家操作。Mediators cannot act for the merchant.")
    order_services.require_merchant_write(
        actor, request.merchant_id, consumer_id=request.consumer_id
    )


def _require_platform(actor, request, *, mediator=False):
    """Platform writers (and, with ``mediator``, a mediator granted this request)."""
    if actor.platform_write or (mediator and _has_grant(actor, request)):
        return
    if (
        actor.platform_read
        or _has_grant(actor, request)
        or actor.merchant_id == request.merchant_id
        or actor.consumer_id == request.consumer_id
    ):
        raise PermissionDenied(
            "此操作只能由平台处理。Only the platform can do this.", code="platform_only"
        )
    raise NotFound()


def _check_scope(request, actor):
    ensure_in_scope(request, actor, grant_perm=RETURN_GRANT)


def _lock(request):
    # of=self: FOR UPDATE over a join would also lock the merchant, product, consumer... rows
    # and serialize every request of a merchant.
    return (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("order", "line__sku__product", "consumer__user", "merchant")
        .get(pk=request.pk)
    )


def _payload(request, **extra):
    return {
        "return_request_id": request.pk,
        "number": request.number,
        "order_id": request.order_id,
        "line_id": request.line_id,
        "merchant_id": request.merchant_id,
        "consumer_id": request.consumer_id,
        "kind": request.kind,
        "status": request.status,
        "quantity": request.quantity,
        "amount": str(request.amount),
        **extra,
    }


def _publish(name, request, **extra):
    return event_publish(name, subject=request, payload=_payload(request, **extra))


def _recipients(request, to):
    users = []
    if "consumer" in to:
        users.append(request.consumer.user)
    if "merchant" in to:
        users += merchant_staff(request.merchant_id)
    return users


def _notify(request, event, title, body, *, to=("consumer", "merchant"), actor=SYSTEM):
    """Tell the consumer and/or the merchant's staff; a failed notification never fails the
    write (the timeline already records what happened)."""
    from aftersales.messaging.notifications import notify_quietly

    context = {
        "title": title,
        "body": body,
        "number": request.number,
        "return_request_id": request.pk,
        "status": request.status,
    }
    for user in _recipients(request, to):
        notify_quietly(
            recipient_user=user, event=event, context=context, subject=request, actor=actor
        )


def _move(request, *, to, actor, reason="", data=None, moves=None, verb=None):
    status_move(
        request,
        to=to,
        actor=actor,
        moves=moves or rules.RETURN_MOVES,
        reason=reason,
        data={"number": request.number, **(data or {})},
        timestamp_field=rules.RETURN_STATUS_TIMESTAMP.get(to),
        verb=verb or f"return.{to}",
    )
    if reason:
        ReturnRequest.objects.filter(pk=request.pk).update(status_reason=reason)
        request.status_reason = reason
    if to in payments.DIFFERENCE_GIVEN_BACK_STATUSES:
        payments.difference_give_back_if_paid(request, actor)
    # ``status_move`` updated the status and its timestamp on ``request`` too; keep the caller's
    # instance (and its loaded relations).
    return request


def _record(request, verb, actor, *, reason="", data=None):
    return timeline_record(
        subject=request,
        verb=verb,
        actor=actor,
        reason=reason,
        data={"number": request.number, **(data or {})},
    )


def request_policy(request, key):
    """The ``PolicyRef`` of ``key`` in force for a request: its merchant, then its product's
    category, then the platform (RULES.md: policies per platform, category and merchant)."""
    return policy_get(
        key, merchant_id=request.merchant_id, category_id=request_category_id(request)
    )


def request_category_id(request):
    """The category of the request's product (cached on the instance)."""
    cached = getattr(request, "_category_id", None)
    if cached is None:
        cached = (
            ReturnRequest.objects.filter(pk=request.pk)
            .values_list("line__sku__product__category_id", flat=True)
            .first()
        )
        request._category_id = cached
    return cached


# -- evidence -----------------------------------------------------------------------------------


def _evidence_kind(name):
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    for kind in ("photo", "video", "report"):
        if ext in EVIDENCE_EXTENSIONS[kind]:
            return kind
    return "other"


def _evidence_items(evidence):
    items = []
    for raw in evidence or ():
        if isinstance(raw, dict):
            items.append(
                {"file": raw.get("file"), "kind": raw.get("kind"), "note": raw.get("note", "")}
            )
        else:
            items.append({"file": raw, "kind": None, "note": ""})
    return items


def _evidence_check(items):
    """Type and size of each file (photo, video, inspection report)."""
    for i, item in enumerate(items):
        upload = item["file"]
        if upload is None or not getattr(upload, "name", ""):
            raise InvalidInput(
                "凭证需要文件。Evidence needs a file.",
                code="evidence_file_required",
                fields={"evidence": {str(i): "required"}},
            )
        kind = item["kind"] or _evidence_kind(upload.name)
        if kind not in ReturnEvidence.Kind.values:
            raise InvalidInput(
                "凭证类型无效。",
                code="evidence_kind_invalid",
                fields={"evidence": {str(i): ReturnEvidence.Kind.values}},
            )
        ext = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if ext not in EVIDENCE_EXTENSIONS[kind]:
            raise InvalidInput(
                f"不支持的{kind}文件格式 .{ext}，请上传 {', '.join(EVIDENCE_EXTENSIONS[kind])}。",
                code="evidence_type_invalid",
                fields={"evidence": {str(i): list(EVIDENCE_EXTENSIONS[kind])}},
            )
        limit = EVIDENCE_MAX_BYTES.get(kind, EVIDENCE_DEFAULT_MAX_BYTES)
        if (getattr(upload, "size", 0) or 0) > limit:
            raise InvalidInput(
                f"文件过大，{kind} 最大 {limit // 1024**2} MB。",
                code="evidence_too_large",
                fields={"evidence": {str(i): limit}},
            )
        item["kind"] = kind
    return items


def _evidence_save(request, items, *, actor, stage, party=None):
    party = party or _party(actor, request)
    rows = []
    for item in items:
        upload = item["file"]
        row = ReturnEvidence(
            request=request,
            merchant_id=request.merchant_id,
            party=party,
            kind=item["kind"],
            note=(item.get("note") or "")[:500],
            stage=stage,
            uploaded_by=_user(actor),
            uploaded_by_label=actor.label,
            created_at=clock.now(),
        )
        content = upload if isinstance(upload, File) else File(upload)
        row.file.save(upload.name.rsplit("/", 1)[-1], content, save=False)
        row.save()
        rows.append(row)
    if rows:
        _record(
            request,
            "return.evidence_added",
            actor,
            data={"stage": stage, "party": party, "evidence_ids": [r.pk for r in rows]},
        )
    return rows


def evidence_add(*, request, actor, evidence, stage="", note=""):
    """Attach photos, videos or reports to a request, as the actor's side (R5, R19).

    ``evidence``: files (``UploadedFile``) or dicts ``{"file", "kind", "note"}``; the kind is
    inferred from the extension when missing; type and size are checked. Open to the consumer,
    the merchant and platform staff while the request is not finished. Returns the rows.
    """
    items = _evidence_check(_evidence_items(evidence))
    if not items:
        raise InvalidInput(
            "请上传凭证。", code="evidence_required", fields={"evidence": "required"}
        )
    with transaction.atomic():
        request = _lock(request)
        party = _party(actor, request)
        if party == ReturnEvidence.Party.CONSUMER:
            _require_consumer(actor, request)
        elif party == ReturnEvidence.Party.MERCHANT:
            _require_merchant(actor, request)
        else:
            _require_platform(actor, request, mediator=True)
        if request.status in ("closed", "cancelled", "completed", "refunded"):
            raise Conflict("该售后申请已结束，不能再补充凭证。", code="return_finished")
        if note:
            for item in items:
                item["note"] = item["note"] or note
        rows = _evidence_save(request, items, actor=actor, stage=stage or request.status)
        _publish("return.evidence_added", request, evidence_ids=[r.pk for r in rows], party=party)
        _check_scope(request, actor)
    return rows


# -- entitlement (what a line allows now) ------------------------------------------------------


def _window_settings(line):
    merchant_id, category_id = line.order.merchant_id, line.sku.product.category_id
    extension = bool(
        policy_value("calendar.holiday_extension", merchant_id=merchant_id, category_id=category_id)
    )
    exceptions = None
    if extension:
        from aftersales.deadlines.calendar import calendar_exceptions

        exceptions = calendar_exceptions()
    return rules.WindowSettings(holiday_extension=extension, exceptions=exceptions)


def line_held_quantities(line, *, exclude=None):
    """``(open_units, completed_units, allocated_amount)`` of the line's requests that hold
    units (RULES.md R15)."""
    rows = _held_rows(line.pk)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    open_units = completed = 0
    amount = ZERO
    for status, quantity, value in rows:
        if status in COMPLETED_STATUSES:
            completed += quantity
        else:
            open_units += quantity
        amount += value
    return open_units, completed, amount


def line_facts(line, *, held=None):
    """The ``rules.LineFacts`` of an order line, read from its parcel, category and requests
    (``held``: the line's ``line_held_quantities`` when the caller already has them)."""
    category = line.sku.product.category
    outbound = (
        Shipment.objects.filter(line_id=line.pk, purpose=Shipment.Purpose.OUTBOUND)
        .only("shipped_at", "signed_at")
        .order_by("pk")
        .first()
    )
    open_units, completed, _amount = held or line_held_quantities(line)
    return rules.LineFacts(
        no_reason_class=category.no_reason_class,
        exclusion_reason=category.exclusion_reason,
        exclusion_confirmed_at=line.exclusion_confirmed_at,
        shipped_at=outbound.shipped_at if outbound else None,
        signed_at=outbound.signed_at if outbound else None,
        received_at=outbound.signed_at if outbound else None,
        quantity=line.quantity,
        quantity_open=open_units,
        quantity_completed=completed,
        cancelled_at=line.cancelled_at,
    )


def line_options(line, *, now=None):
    """``rules.return_options`` for ``line`` at ``now`` (default: the clock)."""
    return rules.return_options(
        line_facts(line), now=now or clock.now(), windows=_window_settings(line)
    )


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
        fields={"rule": option.rule, "decided_by": _iso(option.decided_by)},
    )


def line_shipping_payer(line, reason_kind):
    """Who pays the return shipping of ``line`` for a reason of ``reason_kind`` (R8, R9), with
    the merchant's "退货免运费" commitment (policy ``returns.free_return_shipping``)."""
    return rules.return_shipping_payer(
        reason_kind,
        merchant_commits_free_return=bool(
            policy_value(
                "returns.free_return_shipping",
                merchant_id=line.order.merchant_id,
                category_id=line.sku.product.category_id,
            )
        ),
    )


_shipping = line_shipping_payer


def _exchange_terms(line, exchange_sku, units, amount, kind):
    """R18: the new spec must be of the same product and in stock; the difference is charged
    (positive) or refunded (negative)."""
    if exchange_sku is None:
        if kind == ReturnRequest.Kind.SPEC_EXCHANGE:
            raise InvalidInput(
                "换规格需要选择新的规格。",
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
            "只能换成同一商品的其他规格或型号（R18）。", code=code, fields={"exchange_sku": sku.pk}
        )
    if code:
        raise RuleViolation(
            f"所选规格库存不足（剩余 {sku.stock} 件），请选择其他规格或申请退货（R18）。",
            code=code,
            fields={"exchange_sku": sku.pk, "stock": sku.stock},
        )
    difference = ZERO
    if sku.pk != line.sku_id:
        difference = rules.exchange_price_difference(amount, sku.price, units)
    return sku, difference


def _locked_line(line):
    """Lock order then line (the order ``orders.services.shipment_create`` uses), so a refund
    before shipping and the merchant's shipment are settled by the line lock (R11)."""
    # of=self: not the joined merchant, consumer, SKU, product and category rows (shared by
    # every order and line); they come along for the request's answer and notifications.
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("merchant", "consumer__user")
        .get(pk=line.order_id)
    )
    line = (
        OrderLine.objects.select_for_update(of=("self",))
        .select_related("sku__product__category")
        .get(pk=line.pk)
    )
    line.order = order
    return order, line


def _insert(request):
    """Write the new request with its number ``TH<date><id>`` (the Shanghai date it was asked
    on, the id zero-padded to 5 digits; never cut beyond): the row is written with a
    placeholder number, then numbered once its id is known."""
    request._category_id = request.line.sku.product.category_id
    day = f"TH{clock.local(request.requested_at):%Y%m%d}"
    request.number = f"{day}-{uuid.uuid4().hex[:24]}"
    request.save(force_insert=True)
    request.number = f"{day}{request.pk:05d}"
    ReturnRequest.objects.filter(pk=request.pk).update(number=request.number)
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
        raise InvalidInput("售后类型无效。", code="kind_invalid", fields={"kind": KINDS})
    if reason not in rules.REASONS:
        raise InvalidInput(
            "售后原因无效。", code="reason_invalid", fields={"reason": sorted(rules.REASONS)}
        )
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise InvalidInput(
            "数量无效。", code="quantity_invalid", fields={"quantity": "int"}
        ) from None
    reason_kind = rules.reason_kind(reason)
    items = _evidence_check(_evidence_items(evidence))
    if rules.reason_needs_evidence(reason) and not items:
        raise RuleViolation(
            "质量问题、破损或与描述不符的申请需要上传照片或视频。",
            code="evidence_required",
            fields={"evidence": "required"},
        )
    if actor.consumer_id is None and not actor.platform_write:
        if actor.merchant_id is not None or actor.platform_read:
            raise PermissionDenied("售后申请由消费者提交。Only consumers ask for returns.")
        raise NotFound()
    with transaction.atomic(), policies_cached():
        order, line = _locked_line(line)
        if actor.consumer_id is not None and actor.consumer_id != order.consumer_id:
            raise NotFound()
        if order.status == Order.Status.PENDING_PAYMENT:
            raise RuleViolation("订单未付款，不能申请售后。", code="order_not_paid")
        now = clock.now()
        open_units, completed, allocated = held = line_held_quantities(line)
        facts = line_facts(line, held=held)
        options = rules.return_options(facts, now=now, windows=_window_settings(line))
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
                f"可申请数量为 {refundable} 件（R15）。"
                if code != "instant_refund_whole_line"
                else f"未发货秒退须退整行剩余的 {refundable} 件（R11）。",
                code=code,
                fields={"quantity": refundable},
            )
        amount = rules.amount_for_units(
            line.paid_amount, line.quantity, quantity, open_units + completed, allocated
        )
        sku, difference = None, ZERO
        if kind in (ReturnRequest.Kind.EXCHANGE, ReturnRequest.Kind.SPEC_EXCHANGE):
            sku, difference = _exchange_terms(line, exchange_sku, quantity, amount, kind)
        payer = _shipping(line, reason_kind)
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
        _record(
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
            _evidence_save(request, items, actor=actor, stage="request", party="consumer")
        _publish("return.requested", request, reason=reason, rule=option.rule)
        if option.instant:
            _instant_refund(request, actor)
        else:
            _initial_deadlines(request, actor)
            _notify(
                request,
                "return.requested",
                f"新的售后申请 {request.number}",
                f"订单 {order.number} 的 {line.product_name} ×{quantity} 申请"
                f"{request.get_kind_display()}（{request.get_reason_display()}）。"
                f"请在 {rules.display_instant(_auto_approve_at(request))} 前处理，"
                "逾期将自动同意（R13）。",
                to=("merchant",),
                actor=actor,
            )
        if pickup and not option.instant and request.needs_return_parcel:
            request.pickup_slot_start = pickup.get("slot_start")
            request.pickup_slot_end = pickup.get("slot_end")
            if not request.pickup_slot_start or not request.pickup_slot_end:
                raise InvalidInput(
                    "上门取件需要预约时段。",
                    code="pickup_slot_invalid",
                    fields={"pickup": ["slot_start", "slot_end"]},
                )
            request.save(update_fields=["pickup_slot_start", "pickup_slot_end"])
        _check_scope(request, actor)
    return request


def _auto_approve_at(request):
    hours = request_policy(request, "returns.auto_approve_hours").value
    return rules.auto_approve_due(request.requested_at, hours)


def _instant_refund(request, actor):
    """R11: approved without review, the line cancelled (it can no longer ship) and refunded."""
    _record(
        request,
        "return.approved",
        actor,
        reason="R11",
        data={"to": "refunding", "instant": True},
    )
    _publish("return.approved", request, instant=True, rule="R11")
    order_services.line_cancel(
        line=request.line, actor=SYSTEM, reason=f"未发货仅退款 {request.number}（R11）"
    )
    _refund_start(request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT)
    _notify(
        request,
        "return.approved",
        f"已为您极速退款 {request.number}",
        f"商品尚未发货，您的仅退款申请已自动同意，¥{request.amount} 将原路退回（R11）。",
        to=("consumer", "merchant"),
        actor=actor,
    )


def return_request_create_from_warranty(
    *, line, kind, amount, rule, explanation, actor, quantity=1
):
    """A return or exchange granted by the 三包 engine (repairs app; RULES.md G1, G4–G8):
    ``kind`` ``return_refund`` (refund of ``amount``, e.g. after G8 depreciation) or
    ``exchange``; ``rule``/``explanation`` say which guarantee granted it. The no-reason and
    quality windows do not apply; quantities still do (R15). Starts ``approved`` (the goods come
    back, R14 applies). Platform writers only (the repairs services act as the platform)."""
    if not actor.platform_write:
        raise PermissionDenied("三包退换由平台发起。Only the platform records 三包 remedies.")
    if kind not in (ReturnRequest.Kind.RETURN_REFUND, ReturnRequest.Kind.EXCHANGE):
        raise InvalidInput(
            "三包只能退货或换货。",
            code="kind_invalid",
            fields={"kind": ["return_refund", "exchange"]},
        )
    rule = _required_text(rule, "rule", "需要三包规则编号。")
    amount = _money(amount, "amount")
    with transaction.atomic():
        order, line = _locked_line(line)
        open_units, completed, allocated = line_held_quantities(line)
        refundable = rules.refundable_quantity(line.quantity, open_units, completed)
        code = rules.quantity_refusal(int(quantity), refundable)
        if code:
            raise RuleViolation(
                f"可申请数量为 {refundable} 件（R15）。", code=code, fields={"quantity": refundable}
            )
        left = line.paid_amount - allocated
        if amount < 0 or amount > left:
            raise RuleViolation(
                f"退款金额超出该商品可退余额 {left}。",
                code="amount_exceeds_paid",
                fields={"amount": str(left)},
            )
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
            exchange_sku=line.sku if kind == ReturnRequest.Kind.EXCHANGE else None,
            status=ReturnRequest.Status.APPROVED,
            requested_at=now,
            approved_at=now,
            status_reason=rule,
        )
        _insert(request)
        _record(
            request,
            "return.requested",
            actor,
            reason=explanation,
            data={"kind": kind, "origin": "warranty", "rule": rule, "amount": str(amount)},
        )
        _publish("return.requested", request, origin="warranty", rule=rule)
        _publish("return.approved", request, origin="warranty", rule=rule)
        _initial_deadlines(request, actor)
        _notify(
            request,
            "return.approved",
            f"三包{request.get_kind_display()}已受理 {request.number}",
            f"依据 {rule}：{explanation}。请在规定时间内寄回商品。",
            actor=actor,
        )
    return request


# -- merchant answers ---------------------------------------------------------------------------


def _approve(request, *, actor, reason=""):
    """Approve a locked ``requested`` request: refund-only goes straight to the refund."""
    request = _move(request, to="approved", actor=actor, reason=reason)
    _publish("return.approved", request, reason=reason)
    if request.kind == KIND_REFUND_ONLY:
        request = _move(request, to="refunding", actor=actor, reason=reason)
        _refund_start(request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT)
        body = f"商家已同意仅退款，¥{request.amount} 将原路退回。"
    else:
        if request.pickup_slot_start and request.pickup_id is None:
            _pickup_from_request(request, actor)
        days = request_policy(request, "returns.close_unshipped_days").value
        body = (
            f"商家已同意{request.get_kind_display()}。请在 {days} 天内寄回商品或预约上门取件，"
            f"逾期申请将关闭（R14）。{request.shipping_explanation}"
        )
    _notify(request, "return.approved", f"售后申请 {request.number} 已同意", body, actor=actor)
    return request


def _pickup_from_request(request, actor):
    """Book the pickup slot the consumer chose when asking (R16), now that the request is
    approved; a slot already past or refused is left for the consumer to book again."""
    if request.pickup_slot_start <= clock.now():
        _record(request, "return.pickup_slot_expired", actor)
        return None
    booking = order_services.pickup_book(
        request_id=f"rr-{request.pk}-pickup-1",
        slot_start=request.pickup_slot_start,
        slot_end=request.pickup_slot_end,
        contact=_default_contact(request.order),
        actor=SYSTEM,
        merchant=request.merchant,
        subject=request,
    )
    request.pickup = booking
    request.save(update_fields=["pickup"])
    _record(request, "return.pickup_booked", actor, data={"pickup_id": booking.pk})
    _publish("return.pickup_booked", request, pickup_id=booking.pk)
    return booking


def return_request_approve(*, request, actor, note=""):
    """The merchant approves a request (standard 6.3.1.1). A refund-only request is refunded at
    once; the others wait for the goods (R14 closes them after 7 days unshipped). Answering a
    request that is not ``requested`` any more is ``invalid_status_transition`` (409)."""
    with transaction.atomic():
        request = _lock(request)
        _require_merchant(actor, request)
        request = _approve(request, actor=actor, reason=note)
        _check_scope(request, actor)
    return request


def return_request_reject(*, request, actor, reason, evidence=()):
    """The merchant rejects a request, with a reason (required) and optional evidence. The
    consumer may escalate to platform arbitration (R19)."""
    reason = _required_text(reason, "reason", "拒绝需要说明理由。A reason is required.")
    items = _evidence_check(_evidence_items(evidence))
    with transaction.atomic():
        request = _lock(request)
        _require_merchant(actor, request)
        request = _move(request, to="rejected", actor=actor, reason=reason)
        _evidence_save(request, items, actor=actor, stage="reject")
        _publish("return.rejected", request, reason=reason)
        _notify(
            request,
            "return.rejected",
            f"售后申请 {request.number} 被商家拒绝",
            f"拒绝理由：{reason}。如有异议，您可以申请平台介入仲裁（R19）。",
            to=("consumer",),
            actor=actor,
        )
        _check_scope(request, actor)
    return request


def return_request_cancel(*, request, actor, reason=""):
    """The consumer withdraws a request before the goods ship back (or drops a rejected or
    disputed one instead of escalating). Its units are free again (R15)."""
    with transaction.atomic():
        request = _lock(request)
        _require_consumer(actor, request)
        if not request.can_cancel():
            raise Conflict(
                "当前状态不能撤销申请。",
                code="return_not_cancellable",
                fields={"status": request.status},
            )
        request = _move(request, to="cancelled", actor=actor, reason=reason or "consumer_cancelled")
        _cancel_pickup(request, actor)
        _publish("return.cancelled", request, reason=reason)
        _notify(
            request,
            "return.cancelled",
            f"售后申请 {request.number} 已撤销",
            "消费者已撤销该售后申请。",
            to=("merchant",),
            actor=actor,
        )
        _check_scope(request, actor)
    return request


def _cancel_pickup(request, actor):
    if request.pickup_id is None:
        return
    booking = PickupBooking.objects.select_for_update().get(pk=request.pickup_id)
    if booking.status in (PickupBooking.Status.REQUESTED, PickupBooking.Status.CONFIRMED):
        booking.status = PickupBooking.Status.CANCELLED
        booking.save(update_fields=["status"])
        timeline_record(
            subject=booking, verb="pickup.cancelled", actor=actor, to_status="cancelled"
        )


# -- the parcel back ----------------------------------------------------------------------------


def _validate_tracking(carrier, tracking_number):
    carrier = (carrier or "").strip()
    tracking_number = (tracking_number or "").strip()
    if not carrier or not tracking_number:
        raise InvalidInput(
            "需要承运商和运单号。",
            code="tracking_required",
            fields={"carrier": "required", "tracking_number": "required"},
        )
    return carrier[:40], tracking_number[:64]


def _shipped_back(request, *, actor, carrier, tracking_number, via):
    request.return_carrier, request.return_tracking_number = carrier, tracking_number
    ReturnRequest.objects.filter(pk=request.pk).update(
        return_carrier=carrier, return_tracking_number=tracking_number
    )
    request = _move(
        request,
        to="return_shipped",
        actor=actor,
        data={"carrier": carrier, "tracking_number": tracking_number, "via": via},
    )
    _publish(
        "return.shipped_back", request, carrier=carrier, tracking_number=tracking_number, via=via
    )
    _notify(
        request,
        "return.shipped_back",
        f"买家已寄回商品 {request.number}",
        f"退货包裹 {carrier} {tracking_number}，请注意查收并验货。"
        + ("（保价包裹，R17）" if request.insured else ""),
        to=("merchant",),
        actor=actor,
    )
    from .adapters import return_parcel_registered

    request_id = request.pk
    transaction.on_commit(lambda: return_parcel_registered(request_id), robust=True)
    return request


def return_ship_back(*, request, actor, carrier, tracking_number, shipping_fee=None):
    """The consumer ships the goods back themselves and gives the carrier and tracking number
    (standard 6.3.2.3), and the fee they paid (``shipping_fee``, reimbursed with the refund when
    the merchant pays the return shipping, R9; capped by ``returns.shipping_reimbursement_max``).
    Stops the R14 close. The carrier's scans arrive through ``return_parcel_scan_record``; the
    first one may trigger the express refund (R12)."""
    carrier, tracking_number = _validate_tracking(carrier, tracking_number)
    fee = payments.shipping_fee_clean(shipping_fee)
    with transaction.atomic():
        request = _lock(request)
        _require_consumer(actor, request)
        if not request.needs_return_parcel:
            raise Conflict("仅退款申请无需寄回商品。", code="no_return_parcel")
        taken = ReturnRequest.objects.filter(
            return_carrier=carrier, return_tracking_number=tracking_number
        ).exclude(pk=request.pk)
        if taken.exists():
            raise Conflict(
                "运单号已被其他售后单使用。",
                code="tracking_number_taken",
                fields={"tracking_number": tracking_number},
            )
        payments.shipping_fee_declare(request, fee, actor)
        request = _shipped_back(
            request, actor=actor, carrier=carrier, tracking_number=tracking_number, via="self"
        )
        _check_scope(request, actor)
    return request


def _default_contact(order):
    return {
        "name": order.ship_name,
        "phone": order.ship_phone,
        "province": order.ship_province,
        "city": order.ship_city,
        "district": order.ship_district,
        "street": f"{order.ship_street}{order.ship_unit}",
    }


def return_pickup_book(*, request, actor, slot_start, slot_end, contact=None, shipping_fee=None):
    """Book a carrier pickup (上门取件) for the goods of an approved request (RULES.md R16,
    standard 6.3.2.3), through ``orders.services.pickup_book``. ``contact`` defaults to the
    order's shipping address. The carrier confirms later with a tracking number (the request
    then counts as shipped back) or refuses the slot (the consumer books another). The fee
    follows R8/R9 (``shipping_payer``); ``shipping_fee`` is the pickup's fee, reimbursed with the
    refund when the merchant pays (R9)."""
    fee = payments.shipping_fee_clean(shipping_fee)
    with transaction.atomic():
        request = _lock(request)
        _require_consumer(actor, request)
        if not request.needs_return_parcel:
            raise Conflict("仅退款申请无需寄回商品。", code="no_return_parcel")
        if request.status != ReturnRequest.Status.APPROVED:
            raise Conflict(
                "商家同意后才能预约取件。",
                code="invalid_status_transition",
                fields={"status": request.status, "to": "return_shipped"},
            )
        bookings = PickupBooking.objects.filter(
            subject_type="returns.returnrequest", subject_id=request.pk
        )
        if bookings.filter(status__in=["requested", "confirmed"]).exists():
            raise Conflict("已有进行中的上门取件预约。", code="pickup_already_booked")
        booking = order_services.pickup_book(
            request_id=f"rr-{request.pk}-pickup-{bookings.count() + 1}",
            slot_start=slot_start,
            slot_end=slot_end,
            contact=contact or _default_contact(request.order),
            actor=SYSTEM,
            merchant=request.merchant,
            subject=request,
        )
        request.pickup = booking
        request.save(update_fields=["pickup"])
        payments.shipping_fee_declare(request, fee, actor)
        _record(
            request,
            "return.pickup_booked",
            actor,
            data={
                "pickup_id": booking.pk,
                "slot_start": _iso(slot_start),
                "slot_end": _iso(slot_end),
                "shipping_payer": request.shipping_payer,
            },
        )
        _publish(
            "return.pickup_booked",
            request,
            pickup_id=booking.pk,
            slot_start=_iso(slot_start),
            slot_end=_iso(slot_end),
        )
        _check_scope(request, actor)
    return booking


def return_pickup_settled(*, booking, actor=SYSTEM):
    """The carrier confirmed or refused a pickup of a return (``pickup.confirmed`` /
    ``pickup.failed``): a confirmation ships the goods back with the carrier's tracking
    number; a refusal asks the consumer to book another slot."""
    with transaction.atomic():
        request = ReturnRequest.objects.filter(pk=booking.subject_id).first()
        if request is None:
            return None
        request = _lock(request)
        if request.pickup_id != booking.pk:
            return request
        if booking.status == PickupBooking.Status.CONFIRMED:
            if request.status == ReturnRequest.Status.APPROVED:
                request = _shipped_back(
                    request,
                    actor=actor,
                    carrier=booking.carrier,
                    tracking_number=booking.tracking_number,
                    via="pickup",
                )
        elif booking.status == PickupBooking.Status.FAILED:
            _record(request, "return.pickup_failed", actor, reason=booking.failure_reason)
            _notify(
                request,
                "return.pickup_failed",
                f"上门取件预约失败 {request.number}",
                f"承运商无法在所选时段上门（{booking.failure_reason}），请重新预约或自行寄回。",
                to=("consumer",),
                actor=actor,
            )
    return request


SCAN_KINDS = ("picked_up", "in_transit", "out_for_delivery", "signed", "exception")


def return_parcel_scan_record(
    *, request, kind, occurred_at, actor, location="", description="", external_id=""
):
    """A carrier scan of the return parcel (pushed by the carrier or an integrator).

    The first scan is recorded (``return_first_scan_at``) and, when the consumer's credit score
    reaches the policy threshold, triggers the express refund: the platform pays at once (R12,
    ``Refund.source = platform_express`` and a ledger ``advance``). A ``signed`` scan means the
    merchant has the goods: the request is received (awaiting inspection) and the R6 refund
    deadline starts. Scans of a parcel in another state are only recorded."""
    if kind not in SCAN_KINDS:
        raise InvalidInput(
            "轨迹节点无效。", code="tracking_kind_invalid", fields={"kind": SCAN_KINDS}
        )
    if occurred_at is None or occurred_at.tzinfo is None:
        raise InvalidInput(
            "发生时间必须带时区。", code="occurred_at_invalid", fields={"occurred_at": "aware"}
        )
    if occurred_at > clock.now() + order_services.FUTURE_TOLERANCE:
        raise InvalidInput(
            "发生时间不能在未来。", code="occurred_at_in_future", fields={"occurred_at": "future"}
        )
    with transaction.atomic():
        request = _lock(request)
        _require_merchant(actor, request)
        if not request.return_tracking_number:
            raise Conflict("该售后单还没有退货运单。", code="no_return_parcel")
        if (
            external_id
            and TimelineEvent.objects.filter(
                subject_type="returns.returnrequest",
                subject_id=request.pk,
                verb="return.parcel_scanned",
                data__external_id=external_id,
            ).exists()
        ):
            return request  # a repeated callback changes nothing
        _record(
            request,
            "return.parcel_scanned",
            actor,
            data={
                "kind": kind,
                "occurred_at": _iso(occurred_at),
                "location": location,
                "description": description,
                "external_id": external_id,
            },
        )
        first = request.return_first_scan_at is None and kind != "exception"
        if first:
            request.return_first_scan_at = occurred_at
            request.save(update_fields=["return_first_scan_at"])
        _publish(
            "return.parcel_scanned",
            request,
            scan_kind=kind,
            occurred_at=_iso(occurred_at),
            first_scan=first,
        )
        if first and request.status == ReturnRequest.Status.RETURN_SHIPPED:
            _express_refund_maybe(request, actor=actor)
        if kind == "signed" and request.return_signed_at is None:
            request.return_signed_at = occurred_at
            request.save(update_fields=["return_signed_at"])
            if request.status == ReturnRequest.Status.RETURN_SHIPPED:
                request = _received(
                    request, actor=actor, note="承运商签收", occurred_at=occurred_at
                )
    return request


# -- express refund (R12) -----------------------------------------------------------------------


def _ledger(request, kind, amount, *, actor, note=""):
    entry, created = ExpressRefundLedgerEntry.objects.get_or_create(
        request=request,
        kind=kind,
        defaults={
            "merchant_id": request.merchant_id,
            "consumer_id": request.consumer_id,
            "amount": amount,
            "occurred_at": clock.now(),
            "note": note[:200],
            "actor_kind": actor.timeline_fields()["actor_kind"],
            "actor_user": _user(actor),
            "actor_label": actor.label,
        },
    )
    if created:
        _record(request, f"return.express_{kind}", actor, reason=note, data={"amount": str(amount)})
        name = {
            "advance": "return.express_advanced",
            "recovery": "return.express_recovered",
            "clawback": "return.express_clawback",
            "clawback_cancelled": "return.express_clawback_cancelled",
        }[kind]
        _publish(name, request, ledger_entry_id=entry.pk, ledger_amount=str(amount))
    return entry, created


def express_clawback_due(request):
    """When the platform claws an express refund back from the consumer if the parcel has not
    arrived: ``returns.express_clawback_days`` after the first scan (window rule)."""
    ref = request_policy(request, "returns.express_clawback_days")
    start = request.return_first_scan_at or clock.now()
    return rules.calendar_window_closes_at(start, int(ref.value)), ref


def _express_refund_maybe(request, *, actor):
    if (
        request.kind != ReturnRequest.Kind.RETURN_REFUND
        or Refund.objects.filter(request_id=request.pk).exists()
    ):
        return None
    threshold = request_policy(request, "returns.express_refund_credit_threshold").value
    if not rules.express_refund_eligible(
        request.consumer.credit_score, threshold, request.return_first_scan_at
    ):
        return None
    refund = _refund_start(
        request, amount=request.amount, actor=actor, source=Refund.Source.PLATFORM_EXPRESS
    )
    request.express = True
    request.save(update_fields=["express"])
    _ledger(request, "advance", request.amount, actor=actor, note="极速退款：平台垫付（R12）")
    due, ref = express_clawback_due(request)
    deadline_schedule(
        subject=request, kind="returns.express_clawback", due_at=due, actor=actor, policy=ref
    )
    _notify(
        request,
        "return.express_advanced",
        f"极速退款 ¥{request.amount} 已发起",
        "您的退货包裹已揽收，平台先行垫付退款并原路退回（R12）。若包裹未送达商家，平台将追回该款项。",
        actor=actor,
    )
    return refund


def _express_on_receipt(request, *, actor):
    """The goods arrived: the platform recovers its advance from the merchant, and a clawback
    from the consumer (the parcel was late) is cancelled."""
    if not request.express:
        return
    deadline_cancel(
        subject=request, kind="returns.express_clawback", actor=actor, reason="received"
    )
    if ExpressRefundLedgerEntry.objects.filter(request=request, kind="clawback").exists():
        _ledger(
            request, "clawback_cancelled", request.amount, actor=actor, note="包裹已送达，撤销追回"
        )
    _ledger(
        request, "recovery", request.amount, actor=actor, note="商家已收货，向商家追偿垫付款（R12）"
    )


def express_clawback(*, request, actor=SYSTEM):
    """The parcel of an express-refunded request never arrived: the platform claws its advance
    back from the consumer (R12). Nothing happens once the goods were received."""
    with transaction.atomic():
        request = _lock(request)
        if not request.express or request.received_at is not None:
            return None
        if request.status not in (ReturnRequest.Status.RETURN_SHIPPED,):
            return None
        entry, created = _ledger(
            request,
            "clawback",
            request.amount,
            actor=actor,
            note="退货包裹未送达，向消费者追回垫付款（R12）",
        )
        if created:
            _notify(
                request,
                "return.express_clawback",
                f"极速退款将被追回 {request.number}",
                f"您的退货包裹逾期未送达商家，平台将追回已垫付的 ¥{request.amount}。"
                "如包裹已寄出，请联系承运商或客服。",
                to=("consumer",),
                actor=actor,
            )
    return entry


# -- receipt and inspection (R5, R6) -----------------------------------------------------------


def refund_after_receipt_due(request):
    """R6: the refund is due 24:00 Shanghai of day N after receipt (policy, at most 7)."""
    ref = request_policy(request, "returns.refund_after_receipt_days")
    return rules.refund_due_after_receipt(request.received_at, int(ref.value)), ref


def _received(request, *, actor, note="", occurred_at=None):
    request = _move(request, to="received", actor=actor, reason=note)
    if occurred_at is not None and occurred_at != request.received_at:
        request.received_at = occurred_at
        ReturnRequest.objects.filter(pk=request.pk).update(received_at=occurred_at)
    _publish("return.received", request, intact=request.inspection_intact)
    if not request.is_exchange:
        due, ref = refund_after_receipt_due(request)
        deadline_schedule(
            subject=request,
            kind="returns.refund_after_receipt",
            due_at=due,
            actor=actor,
            policy=ref,
        )
    return request


def return_receive(*, request, actor, intact, note="", evidence=()):
    """The merchant confirms receipt of the returned goods with the inspection result (R5, R6).

    Intact: the request is ``received``; the merchant refunds (``return_refund``) or ships the
    replacement; at the R6 deadline the platform refunds by itself. An express refund's advance
    is recovered from the merchant (R12). Not intact: photos, video or a report are required
    (``evidence_required``); the request is ``disputed`` and the consumer may escalate (R19).
    """
    items = _evidence_check(_evidence_items(evidence))
    outcome = rules.inspection_outcome(intact=bool(intact), evidence_count=len(items))
    if outcome == "evidence_required":
        raise RuleViolation(
            "验货不完好须上传照片、视频或检测报告作为凭证（R5）。",
            code="evidence_required",
            fields={"evidence": "required"},
        )
    with transaction.atomic():
        request = _lock(request)
        _require_merchant(actor, request)
        if not request.needs_return_parcel:
            raise Conflict("仅退款申请没有退货包裹。", code="no_return_parcel")
        inspected = request.inspection_intact is not None
        if (
            request.status == "received"
            and inspected
            or request.status
            not in (
                "return_shipped",
                "received",
            )
        ):
            raise Conflict(
                "当前状态不能确认收货验货。",
                code="invalid_status_transition",
                fields={"status": request.status, "to": "received"},
            )
        request.inspection_intact = bool(intact)
        request.inspection_note = note or ""
        request.save(update_fields=["inspection_intact", "inspection_note"])
        _evidence_save(request, items, actor=actor, stage="receive")
        if outcome == "refund":
            if request.status == "return_shipped":
                request = _received(request, actor=actor, note=note)
            else:
                _record(request, "return.inspected", actor, reason=note, data={"intact": True})
            _express_on_receipt(request, actor=actor)
            request = _follow_express_refund(request, actor=actor)
            _notify(
                request,
                "return.received",
                f"商家已收货 {request.number}",
                "商家已确认收到退货且商品完好。"
                + ("" if request.is_exchange else "退款将在 7 天内完成（R6）。"),
                to=("consumer",),
                actor=actor,
            )
        else:
            if request.express:
                deadline_cancel(
                    subject=request, kind="returns.express_clawback", actor=actor, reason="received"
                )
            request = _move(request, to="disputed", actor=actor, reason=note)
            deadline_cancel(
                subject=request, kind="returns.refund_after_receipt", actor=actor, reason="disputed"
            )
            _publish("return.disputed", request, note=note)
            _notify(
                request,
                "return.disputed",
                f"商家验货有异议 {request.number}",
                f"商家反馈退回商品不完好：{note}。您可以查看凭证并申请平台仲裁（R19）。",
                to=("consumer",),
                actor=actor,
            )
        _check_scope(request, actor)
    return request


def _follow_express_refund(request, *, actor):
    """After receipt of an express-refunded request, the status follows the refund already made."""
    refund = Refund.objects.filter(request_id=request.pk).first()
    if refund is None or request.status != "received":
        return request
    to = "refunded" if refund.status == Refund.Status.SUCCEEDED else "refunding"
    request = _move(request, to=to, actor=actor, reason="express_refund")
    if to == "refunded":
        _publish_refunded(request, refund)
    return request


# -- refunds (R7) -------------------------------------------------------------------------------


def _order_tenders(order):
    return list(
        Tender.objects.select_for_update()
        .filter(payment__order_id=order.pk, payment__status="succeeded")
        .order_by("pk")
    )


def refund_plan(request, amount, tenders):
    """How ``amount`` splits over the order's ``tenders`` for this request's line (R7):
    pro rata to what each tender paid for the line, never above what is left of the line's share
    on a tender nor of the tender itself. Returns ``[(tender, share), ...]``."""
    line = request.line
    line_shares = split_pro_rata(line.paid_amount, [t.amount for t in tenders])
    held = dict(
        RefundPart.objects.filter(line_id=line.pk, status__in=["pending", "succeeded"])
        .values_list("tender_id")
        .annotate(s=Sum("amount"))
    )
    pending = dict(
        GatewayRefund.objects.filter(tender__in=tenders, status="pending")
        .values_list("tender_id")
        .annotate(s=Sum("amount"))
    )
    refunded_for_rule = []
    for tender, share in zip(tenders, line_shares, strict=True):
        tender_left = tender.amount - tender.refunded_amount - pending.get(tender.pk, ZERO)
        left = max(min(share - held.get(tender.pk, ZERO), tender_left), ZERO)
        refunded_for_rule.append(share - left)
    try:
        shares = rules.split_refund_over_tenders(amount, line_shares, refunded_for_rule)
    except ValueError:
        left = sum(s - r for s, r in zip(line_shares, refunded_for_rule, strict=True))
        raise RuleViolation(
            f"退款金额超出该商品原支付方式可退余额 {left}（R7）。",
            code="refund_exceeds_tenders",
            fields={"amount": str(left)},
        ) from None
    return [(t, s) for t, s in zip(tenders, shares, strict=True) if s > 0]


def _refund_start(request, *, amount, actor, source):
    """Create the request's one refund (or return the existing one) and ask the gateway for
    each tender's share; the request row is locked by the caller."""
    existing = Refund.objects.filter(request_id=request.pk).first()
    if existing is not None:
        return existing
    amount = yuan(amount)
    if amount <= 0:
        raise RuleViolation("退款金额必须大于零。", code="refund_amount_not_positive")
    tenders = _order_tenders(request.order)
    if not tenders:
        raise RuleViolation("订单没有可退的支付记录。", code="order_not_paid")
    plan = refund_plan(request, amount, tenders)
    now = clock.now()
    refund = Refund.objects.create(
        request=request,
        order_id=request.order_id,
        merchant_id=request.merchant_id,
        consumer_id=request.consumer_id,
        amount=amount,
        source=source,
        requested_at=now,
    )
    parts = RefundPart.objects.bulk_create(
        [
            RefundPart(refund=refund, tender=t, line_id=request.line_id, amount=share)
            for t, share in plan
        ]
    )
    for part in parts:
        _part_submit(part, request)
    payments.shipping_reimburse(request, actor)
    _record(
        request,
        "return.refund_started",
        actor,
        data={
            "refund_id": refund.pk,
            "amount": str(amount),
            "source": source,
            "parts": [[p.tender.kind, str(p.amount)] for p in parts],
        },
    )
    _publish(
        "return.refund_started",
        request,
        refund_id=refund.pk,
        refund_amount=str(amount),
        source=source,
        parts=[{"tender_id": p.tender_id, "amount": str(p.amount)} for p in parts],
    )
    return refund


def _part_submit(part, request):
    gateway_refund = order_services.gateway_refund_request(
        tender=part.tender,
        amount=part.amount,
        request_id=part.request_id(),
        actor=SYSTEM,
        reason=f"售后退款 {request.number}",
    )
    part.gateway_refund = gateway_refund
    part.status = RefundPart.Status.PENDING
    part.failure_reason = ""
    part.save(update_fields=["gateway_refund", "status", "failure_reason", "attempt"])


def return_refund(*, request, actor, amount=None):
    """Refund a request back to the original tenders, pro rata (R7), through the gateway.

    Idempotent: a request is refunded only once — a repeat (or 50 at once) returns the same
    ``Refund``. Allowed once the goods are received intact, for an approved refund-only request,
    or after a dispute the merchant gives up. ``amount`` defaults to the request's amount and
    never exceeds it. The refund settles asynchronously (``Refund.status``); the request is
    ``refunded`` when every part succeeded. Returns the ``Refund``.
    """
    with transaction.atomic(), policies_cached():
        request = _lock(request)
        _require_merchant(actor, request)
        existing = Refund.objects.filter(request_id=request.pk).first()
        if existing is not None:
            return existing
        amount = request.amount if amount is None else _money(amount, "amount")
        if amount > request.amount or amount <= 0:
            raise RuleViolation(
                f"退款金额应在 0 与申请金额 {request.amount} 之间。",
                code="refund_amount_invalid",
                fields={"amount": str(request.amount)},
            )
        if request.status == "received" and request.inspection_intact is False:
            raise Conflict("验货有异议的申请须经仲裁。", code="return_disputed")
        allowed = request.status in ("received", "disputed") or (
            request.status == "approved" and request.kind == KIND_REFUND_ONLY
        )
        if not allowed or request.is_exchange:
            raise Conflict(
                "当前状态不能退款。",
                code="invalid_status_transition",
                fields={"status": request.status, "to": "refunding"},
            )
        request = _move(request, to="refunding", actor=actor)
        refund = _refund_start(request, amount=amount, actor=actor, source=Refund.Source.MERCHANT)
        _notify(
            request,
            "return.refund_started",
            f"退款 ¥{amount} 已发起 {request.number}",
            "退款将原路退回您的支付方式，请留意到账。",
            to=("consumer",),
            actor=actor,
        )
        _check_scope(request, actor)
    return refund


def _publish_refunded(request, refund):
    """``return.refunded``: the request's refund has reached every original tender (invoices
    listen for it to issue the red-letter invoice, RULES.md I4)."""
    parts = refund.parts.select_related("tender").order_by("pk")
    return _publish(
        "return.refunded",
        request,
        refund_id=refund.pk,
        refund_amount=str(refund.amount),
        source=refund.source,
        parts=[
            {"tender_id": p.tender_id, "tender_kind": p.tender.kind, "amount": str(p.amount)}
            for p in parts
        ],
        settled_at=_iso(refund.settled_at),
    )


def _refund_status(parts):
    statuses = {p.status for p in parts}
    if statuses == {"succeeded"}:
        return Refund.Status.SUCCEEDED
    if "pending" in statuses:
        return Refund.Status.PENDING
    if "succeeded" in statuses:
        return Refund.Status.PARTLY_FAILED
    return Refund.Status.FAILED


def refund_part_settled(*, gateway_refund, actor=SYSTEM):
    """The gateway settled one tender's share (``refund.succeeded`` / ``refund.failed`` of
    ``orders``): record it on the part and settle the refund; a refund whose parts all
    succeeded finishes the request (``refunded``). Repeats change nothing."""
    part = (
        RefundPart.objects.select_related("refund")
        .filter(gateway_refund_id=gateway_refund.pk)
        .first()
    )
    if part is None:
        return None
    refund = Refund.objects.select_for_update().get(pk=part.refund_id)
    part = RefundPart.objects.select_for_update().get(pk=part.pk)
    if part.gateway_refund_id != gateway_refund.pk or part.status != RefundPart.Status.PENDING:
        return refund
    part.status = gateway_refund.status
    part.failure_reason = gateway_refund.failure_reason
    part.save(update_fields=["status", "failure_reason"])
    before = refund.status
    refund.status = _refund_status(list(refund.parts.all()))
    if refund.status != Refund.Status.PENDING:
        refund.settled_at = clock.now()
    refund.save(update_fields=["status", "settled_at"])
    if refund.status == before:
        return refund
    request = ReturnRequest.objects.select_related("consumer__user", "merchant").get(
        pk=refund.request_id
    )
    _record(
        request,
        f"return.refund_{refund.status}",
        actor,
        data={"refund_id": refund.pk, "amount": str(refund.amount), "source": refund.source},
    )
    if refund.status == Refund.Status.SUCCEEDED:
        if request.status == "refunding":
            request = _move(request, to="refunded", actor=actor)
        _publish_refunded(request, refund)
        _notify(
            request,
            "return.refunded",
            f"退款成功 ¥{refund.amount}",
            f"售后单 {request.number} 的退款已原路退回。",
            actor=actor,
        )
    elif refund.status in (Refund.Status.FAILED, Refund.Status.PARTLY_FAILED):
        _publish(
            "return.refund_failed",
            request,
            refund_id=refund.pk,
            refund_status=refund.status,
            retries=refund.retries,
        )
    return refund


def refund_retry(*, refund, actor):
    """Ask the gateway again for the failed parts of a refund, each with a new request id
    (``attempt`` + 1): a part that failed paid nothing, so a new attempt cannot pay twice;
    parts that succeeded or are pending are left alone. Returns the refund."""
    with transaction.atomic():
        request = _lock(ReturnRequest(pk=refund.request_id))
        _require_platform(actor, request)
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        failed = list(refund.parts.filter(status="failed").select_related("tender").order_by("pk"))
        if not failed:
            return refund
        for part in failed:
            part.attempt += 1
            _part_submit(part, request)
        refund.retries += 1
        refund.status = Refund.Status.PENDING
        refund.settled_at = None
        refund.save(update_fields=["retries", "status", "settled_at"])
        _record(
            request,
            "return.refund_retried",
            actor,
            data={"refund_id": refund.pk, "parts": [p.pk for p in failed], "retry": refund.retries},
        )
    return refund


def refunds_retry_failed(*, actor=SYSTEM, max_retries=MAX_REFUND_RETRIES):
    """Beat: retry refunds that failed (in part), up to ``max_retries`` times each; returns how
    many were retried. After that they wait for platform staff (admin)."""
    refunds = list(
        Refund.objects.filter(
            status__in=[Refund.Status.FAILED, Refund.Status.PARTLY_FAILED], retries__lt=max_retries
        ).only("pk", "request_id")
    )
    for refund in refunds:
        refund_retry(refund=refund, actor=actor)
    return len(refunds)


# -- exchanges (R17, R18) -----------------------------------------------------------------------


def exchange_ship(*, request, actor, carrier, tracking_number):
    """The merchant ships the replacement of an exchange (standard 6.3.4): an ``orders.Shipment``
    of purpose ``replacement``, insured for high-value lines (R17). A new spec's stock is taken;
    a negative price difference is refunded; a positive one must have been paid by the consumer
    first (R18, ``price_difference_unpaid``). Return shipping the merchant pays is reimbursed
    now (R9). The request completes when the replacement is signed for."""
    carrier, tracking_number = _validate_tracking(carrier, tracking_number)
    with transaction.atomic():
        request = _lock(request)
        _require_merchant(actor, request)
        if not request.is_exchange:
            raise Conflict("只有换货申请需要发出换货。", code="not_an_exchange")
        if request.status == "received" and request.inspection_intact is False:
            raise Conflict("验货有异议的申请须经仲裁。", code="return_disputed")
        if request.status != "received":
            raise Conflict(
                "收到退回的商品后才能发出换货。",
                code="invalid_status_transition",
                fields={"status": request.status, "to": "exchange_shipped"},
            )
        payments.require_difference_paid(request)
        sku = request.exchange_sku or request.line.sku
        sku = Sku.objects.select_for_update().get(pk=sku.pk)
        if sku.pk != request.line.sku_id:
            if sku.stock < request.quantity:
                raise RuleViolation(
                    f"所选规格库存不足（剩余 {sku.stock} 件）（R18）。",
                    code="exchange_out_of_stock",
                    fields={"stock": sku.stock},
                )
            sku.stock -= request.quantity
            sku.save(update_fields=["stock"])
        shipment = order_services.shipment_create(
            line=request.line,
            carrier=carrier,
            tracking_number=tracking_number,
            actor=SYSTEM if actor.platform_write else actor,
            purpose=Shipment.Purpose.REPLACEMENT,
        )
        request.replacement_shipment = shipment
        request.save(update_fields=["replacement_shipment"])
        request = _move(
            request,
            to="exchange_shipped",
            actor=actor,
            data={"shipment_id": shipment.pk, "insured": shipment.insured},
        )
        if request.price_difference < 0:
            _refund_start(
                request,
                amount=-request.price_difference,
                actor=actor,
                source=Refund.Source.MERCHANT,
            )
        else:
            payments.shipping_reimburse(request, actor)
        _publish(
            "return.exchange_shipped",
            request,
            shipment_id=shipment.pk,
            carrier=carrier,
            tracking_number=tracking_number,
            insured=shipment.insured,
            price_difference=str(request.price_difference),
        )
        _notify(
            request,
            "return.exchange_shipped",
            f"换货已发出 {request.number}",
            f"换货包裹 {carrier} {tracking_number}"
            + ("（保价，R17）" if shipment.insured else "")
            + "，请注意查收。",
            to=("consumer",),
            actor=actor,
        )
        _check_scope(request, actor)
    return request


def exchange_delivered(*, shipment, actor=SYSTEM):
    """The replacement parcel was signed for (``shipment.signed``): the exchange is completed."""
    request = ReturnRequest.objects.filter(replacement_shipment_id=shipment.pk).first()
    if request is None:
        return None
    with transaction.atomic():
        request = _lock(request)
        if request.status != "exchange_shipped":
            return request
        request = _move(request, to="completed", actor=actor)
        _publish("return.completed", request, shipment_id=shipment.pk)
        _notify(
            request,
            "return.completed",
            f"换货已完成 {request.number}",
            "换货商品已签收，售后完成。",
            actor=actor,
        )
    return request


# -- arbitration (R19) --------------------------------------------------------------------------


def _lock_arbitration(request):
    try:
        return Arbitration.objects.select_for_update().get(request_id=request.pk)
    except Arbitration.DoesNotExist:
        raise Conflict("该售后申请没有仲裁。", code="no_arbitration") from None


def return_escalate(*, request, actor, statement, evidence=()):
    """The consumer escalates a rejected or disputed request to platform arbitration (R19;
    standard 6.3.3), with a statement and evidence. The merchant is asked to answer."""
    statement = _required_text(statement, "statement", "请说明申请仲裁的理由。")
    items = _evidence_check(_evidence_items(evidence))
    with transaction.atomic():
        request = _lock(request)
        _require_consumer(actor, request)
        if not request.can_escalate():
            raise Conflict(
                "商家拒绝或对商品状态有异议后才能申请仲裁。",
                code="invalid_status_transition",
                fields={"status": request.status, "to": "arbitration"},
            )
        request = _move(request, to="arbitration", actor=actor, reason=statement)
        arbitration = Arbitration.objects.create(
            request=request,
            merchant_id=request.merchant_id,
            consumer_id=request.consumer_id,
            opened_at=clock.now(),
            opened_by=_user(actor),
            opened_by_label=actor.label,
            consumer_statement=statement,
        )
        _evidence_save(request, items, actor=actor, stage="arbitration", party="consumer")
        _publish("return.escalated", request, arbitration_id=arbitration.pk)
        _notify(
            request,
            "return.escalated",
            f"消费者申请平台仲裁 {request.number}",
            f"消费者陈述：{statement}。请提交您的说明和凭证。",
            to=("merchant",),
            actor=actor,
        )
        _check_scope(request, actor)
    return arbitration


def arbitration_answer(*, request, actor, statement, evidence=()):
    """The merchant's statement and evidence in arbitration (R19)."""
    statement = _required_text(statement, "statement", "请填写答辩说明。")
    items = _evidence_check(_evidence_items(evidence))
    with transaction.atomic():
        request = _lock(request)
        _require_merchant(actor, request)
        arbitration = _lock_arbitration(request)
        if arbitration.status == Arbitration.Status.DECIDED:
            raise Conflict("仲裁已裁决。", code="arbitration_decided")
        arbitration.merchant_statement = statement
        arbitration.merchant_answered_at = clock.now()
        arbitration.save(update_fields=["merchant_statement", "merchant_answered_at"])
        _evidence_save(request, items, actor=actor, stage="arbitration", party="merchant")
        _record(request, "return.arbitration_answered", actor, reason=statement)
        _publish("return.arbitration_answered", request, arbitration_id=arbitration.pk)
        _check_scope(request, actor)
    return arbitration


def arbitration_inspection_request(*, request, actor, provider=None):
    """Platform staff ask a third party to inspect the goods (R19; inspection adapter). The
    provider answers asynchronously (``inspection_report_record``)."""
    from .adapters import get_inspection_provider

    inspector = get_inspection_provider() if provider is None else provider
    with transaction.atomic():
        request = _lock(request)
        _require_platform(actor, request, mediator=True)
        arbitration = _lock_arbitration(request)
        if arbitration.status != Arbitration.Status.OPEN:
            raise Conflict(
                "仲裁不在待裁决状态。",
                code="invalid_status_transition",
                fields={"status": arbitration.status, "to": "inspecting"},
            )
        if arbitration.inspections.filter(status="requested").exists():
            raise Conflict("已有进行中的检测。", code="inspection_pending")
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
        _record(
            request,
            "return.inspection_requested",
            actor,
            data={"inspection_id": inspection.pk, "provider": inspector.name},
        )
        _publish("return.inspection_requested", request, inspection_id=inspection.pk)
        inspection_id = inspection.pk
        transaction.on_commit(lambda: inspector.submit(inspection_id), robust=True)
    return inspection


def inspection_report_record(*, inspection, result, report, actor=SYSTEM, external_ref=""):
    """The inspector's report (``intact`` / ``not_intact``), kept as evidence; the arbitration
    is open for a decision again. Only a pending inspection changes (repeats do nothing)."""
    if result not in InspectionRequest.Result.values:
        raise InvalidInput(
            "检测结论无效。",
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
        _record(
            request,
            "return.inspection_reported",
            actor,
            reason=report,
            data={"inspection_id": inspection.pk, "result": result},
        )
        _publish("return.inspection_reported", request, inspection_id=inspection.pk, result=result)
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
        _record(
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
    the consumer (R12)."""
    reason = _required_text(reason, "reason", "裁决需要说明理由。")
    if decision not in Arbitration.Decision.values:
        raise InvalidInput(
            "裁决无效。", code="decision_invalid", fields={"decision": Arbitration.Decision.values}
        )
    with transaction.atomic():
        request = _lock(request)
        _require_platform(actor, request, mediator=True)
        arbitration = _lock_arbitration(request)
        if arbitration.status == Arbitration.Status.DECIDED:
            raise Conflict("仲裁已裁决。", code="arbitration_decided")
        refund = Refund.objects.filter(request_id=request.pk).first()
        decided = None
        if decision == "refund_full":
            decided = request.amount
        elif decision == "refund_partial":
            if amount is None:
                raise InvalidInput(
                    "部分退款需要金额。", code="amount_required", fields={"amount": "required"}
                )
            decided = _money(amount, "amount")
            if decided <= 0 or decided > request.amount:
                raise RuleViolation(
                    f"部分退款金额应在 0 与 {request.amount} 之间。",
                    code="refund_amount_invalid",
                    fields={"amount": str(request.amount)},
                )
            if refund is not None and refund.amount != decided:
                raise Conflict(
                    "该申请已退款，不能再部分退款。",
                    code="refund_already_made",
                    fields={"refunded": str(refund.amount)},
                )
        now = clock.now()
        arbitration.decision = decision
        arbitration.decided_amount = decided
        arbitration.decided_by = _user(actor)
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
            request = _move(request, to="closed", actor=actor, reason=reason)
            if request.express:
                _ledger(
                    request,
                    "clawback",
                    request.amount,
                    actor=actor,
                    note="仲裁驳回，向消费者追回垫付款",
                )
        elif refund is not None:
            to = "refunded" if refund.status == Refund.Status.SUCCEEDED else "refunding"
            request = _move(request, to=to, actor=actor, reason=reason)
            if request.express:
                _ledger(
                    request, "recovery", refund.amount, actor=actor, note="仲裁支持退款，向商家追偿"
                )
        else:
            request = _move(request, to="refunding", actor=actor, reason=reason)
            _refund_start(request, amount=decided, actor=actor, source=Refund.Source.MERCHANT)
        _publish(
            "return.arbitration_decided",
            request,
            arbitration_id=arbitration.pk,
            decision=decision,
            decided_amount=str(decided) if decided is not None else None,
        )
        _notify(
            request,
            "return.arbitration_decided",
            f"平台仲裁结果 {request.number}",
            f"裁决：{arbitration.get_decision_display()}"
            + (f" ¥{decided}" if decided is not None else "")
            + f"。理由：{reason}",
            actor=actor,
        )
    return arbitration


# -- platform override --------------------------------------------------------------------------


def return_override(*, request, to_status, reason, actor):
    """Platform staff move a request to any status, with a recorded reason (issue 4 "override
    any step"). Moving to ``refunding`` starts the refund if none exists."""
    reason = _required_text(reason, "reason", "人工干预需要说明理由。")
    if to_status not in rules.RETURN_MOVES:
        raise InvalidInput(
            "目标状态无效。",
            code="status_invalid",
            fields={"to_status": sorted(rules.RETURN_MOVES)},
        )
    with transaction.atomic():
        request = _lock(request)
        _require_platform(actor, request)
        before = request.status
        request = _move(
            request,
            to=to_status,
            actor=actor,
            reason=reason,
            moves=OVERRIDE_MOVES,
            verb="return.overridden",
            data={"override": True},
        )
        if to_status == "refunding":
            _refund_start(
                request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT
            )
        _publish("return.overridden", request, from_status=before, reason=reason)
        _notify(
            request,
            "return.overridden",
            f"平台已处理售后单 {request.number}",
            f"平台将状态调整为“{request.get_status_display()}”。原因：{reason}",
            actor=actor,
        )
    return request


# -- deadline actions (called by returns.deadlines) --------------------------------------------


def return_auto_approve(*, request, actor=SYSTEM):
    """R13: the merchant did not answer in time; the request is approved. Nothing happens if it
    was answered meanwhile."""
    request = _lock(request)
    if request.status != "requested":
        return None
    return _approve(request, actor=actor, reason="R13 商家超时未处理，系统自动同意")


def return_close_unshipped(*, request, actor=SYSTEM):
    """R14: the consumer did not ship the goods back in time; the request closes."""
    request = _lock(request)
    if request.status != "approved" or not request.needs_return_parcel:
        return None
    request = _move(request, to="closed", actor=actor, reason="R14 买家超时未寄回，系统自动关闭")
    _cancel_pickup(request, actor)
    _publish("return.closed", request, rule="R14")
    _notify(
        request,
        "return.closed",
        f"售后申请 {request.number} 已关闭",
        "您未在规定时间内寄回商品，申请已自动关闭（R14）。如仍需售后，可在期限内重新申请。",
        actor=actor,
    )
    return request


def return_close_reminder(*, request, actor=SYSTEM):
    """R14: remind the consumer 24 h before an unshipped request closes."""
    request = ReturnRequest.objects.select_related("consumer__user").get(pk=request.pk)
    if request.status != "approved":
        return None
    _notify(
        request,
        "return.close_reminder",
        f"请尽快寄回商品 {request.number}",
        "您的退货申请即将因未寄回而关闭（R14），请尽快寄回或预约上门取件。",
        to=("consumer",),
        actor=actor,
    )
    return request


def return_refund_after_receipt(*, request, actor=SYSTEM):
    """R6: the merchant has not refunded within the days after receipt; the platform refunds,
    unless a dispute or arbitration is open."""
    request = _lock(request)
    if request.status != "received" or request.inspection_intact is False or request.is_exchange:
        return None
    if Arbitration.objects.filter(request_id=request.pk).exclude(status="decided").exists():
        return None
    existing = Refund.objects.filter(request_id=request.pk).first()
    if existing is not None:
        return _follow_express_refund(request, actor=actor)
    request = _move(
        request, to="refunding", actor=actor, reason="R6 收货后逾期未退款，平台自动退款"
    )
    _refund_start(request, amount=request.amount, actor=actor, source=Refund.Source.MERCHANT)
    _notify(
        request,
        "return.refund_started",
        f"平台已自动退款 {request.number}",
        f"商家收货后未在规定时间内退款，平台已自动发起退款 ¥{request.amount}（R6）。",
        actor=actor,
    )
    return request
