"""Writes of the repairs app (standard 6.5; RULES.md G1–G12): the 三包 catalog, warranty cards,
repair providers, repair orders, escalations and remedies.

Every function is keyword-only, takes ``actor``, owns its transaction, locks rows in a fixed
order (card → repair → escalation, each by pk), records a timeline event, publishes a domain
event (``repair.requested``, ``repair.assigned``, ``repair.received`` …; the webhook outbox
follows) and notifies the people concerned. Status moves go through
``aftersales.casefile.statuses.status_move`` with the tables of ``repairs.rules`` (``REPAIR_MOVES``,
``PROVIDER_MOVES``, ``CARD_MOVES``);
the deadlines those moves imply (G5, G6) are declared in ``repairs.deadlines``.

Who may do what:

- consumers: request a repair of their own card, cancel it before 送修, report a fault again,
  choose a remedy the engine grants;
- merchant staff (their own cards and repairs) and platform writers: everything a consumer may
  on the consumer's behalf, create cards, record installation, assign repairs to admitted
  providers, record exchanges and returns;
- provider staff: act on the repair orders granted to them (django-guardian
  ``repairs.change_repairorder``): receive, diagnose, wait for parts, repair, finish, return;
- platform writers: admit, review, suspend and reinstate providers; resolve escalations.

Outside one's scope a repair or card is "not found" (404); inside it, a forbidden action is 403.
"""

import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.statuses import status_move
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines.engine import deadline_pause
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.messaging.notifications import merchant_staff, notify_quietly
from aftersales.money import yuan
from aftersales.tenancy.actors import SYSTEM

from . import rules
from .models import (
    PartsWait,
    RepairEvidence,
    RepairOrder,
    RepairProvider,
    RepairProviderMember,
    SanbaoCatalogChange,
    SanbaoCatalogEntry,
    WarrantyCard,
    WarrantyEscalation,
)
from .seed import snapshot_of

FIELDS = (
    "name",
    "whole_unit_months",
    "main_parts",
    "special_cases",
    "service_standard",
    "daily_depreciation_rate",
    "parts_shortage_limit_days",
)
UNSET = object()


def _clean_parts(parts):
    if not isinstance(parts, list):
        raise InvalidInput(
            "主要部件应为列表。", code="main_parts_invalid", fields={"main_parts": "list"}
        )
    cleaned, names = [], set()
    for part in parts:
        name = str((part or {}).get("name", "")).strip() if isinstance(part, dict) else ""
        months = part.get("months") if isinstance(part, dict) else None
        if not name or not isinstance(months, int) or isinstance(months, bool) or months <= 0:
            raise InvalidInput(
                "每个主要部件需要名称和正整数月数。",
                code="main_parts_invalid",
                fields={"main_parts": "each part needs a name and months > 0"},
            )
        if name in names:
            raise InvalidInput(
                f"主要部件重复：{name}", code="main_parts_invalid", fields={"main_parts": name}
            )
        names.add(name)
        cleaned.append({"name": name, "months": months})
    return cleaned


def _clean_rate(rate):
    if rate is None or rate == "":
        return None
    try:
        value = Decimal(str(rate)) if not isinstance(rate, Decimal) else rate
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0 or value > 100:
        raise InvalidInput(
            "日折旧率应为 0–100 之间的百分数。",
            code="daily_depreciation_rate_invalid",
            fields={"daily_depreciation_rate": "percent 0..100"},
        )
    return value.quantize(Decimal("0.001"))


def _positive(field, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidInput(f"{field} 应为正整数。", code=f"{field}_invalid", fields={field: "> 0"})
    return value


def catalog_entry_save(
    *,
    code,
    actor,
    name=UNSET,
    whole_unit_months=UNSET,
    main_parts=UNSET,
    special_cases=UNSET,
    service_standard=UNSET,
    daily_depreciation_rate=UNSET,
    parts_shortage_limit_days=UNSET,
    note="",
):
    """Create the 三包 catalog entry ``code`` or change it; returns ``(entry, change)``.

    Platform writers only (standard 6.5.2: the platform keeps the catalog). Every save that
    changes something writes a new ``SanbaoCatalogChange`` (full snapshot, changed fields, who,
    when) and a timeline event; a save that changes nothing returns ``change=None``. A rate of
    ``None`` means "unknown" and makes G8 refuse (``depreciation_rate_unknown``).
    """
    if not actor.platform_write:
        if actor.platform_read:
            raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
        raise PermissionDenied("只有平台可以维护三包目录。Only the platform maintains the catalog.")
    code = (code or "").strip()
    if not code:
        raise InvalidInput("需要编码。", code="code_required", fields={"code": "required"})
    given = {
        "name": name,
        "whole_unit_months": whole_unit_months,
        "main_parts": main_parts,
        "special_cases": special_cases,
        "service_standard": service_standard,
        "daily_depreciation_rate": daily_depreciation_rate,
        "parts_shortage_limit_days": parts_shortage_limit_days,
    }
    given = {k: v for k, v in given.items() if v is not UNSET}
    if "name" in given:
        given["name"] = (given["name"] or "").strip()
    if "main_parts" in given:
        given["main_parts"] = _clean_parts(given["main_parts"])
    if "daily_depreciation_rate" in given:
        given["daily_depreciation_rate"] = _clean_rate(given["daily_depreciation_rate"])
    for field in ("whole_unit_months", "parts_shortage_limit_days"):
        if field in given:
            _positive(field, given[field])
    for field in ("special_cases", "service_standard"):
        if field in given:
            given[field] = given[field] or ""

    now = clock.now()
    with transaction.atomic():
        entry = SanbaoCatalogEntry.objects.select_for_update().filter(code=code).first()
        created = entry is None
        if created:
            missing = [f for f in ("name", "whole_unit_months") if not given.get(f)]
            if missing:
                raise InvalidInput(
                    "新条目需要名称和整机三包期。",
                    code="catalog_entry_incomplete",
                    fields={f: "required" for f in missing},
                )
            entry = SanbaoCatalogEntry(code=code, version=0)
            before = {}
        else:
            before = snapshot_of(entry)
        for field, value in given.items():
            setattr(entry, field, value)
        after = snapshot_of(entry)
        changed = {
            f: {"from": before.get(f), "to": after[f]}
            for f in FIELDS
            if created or before.get(f) != after[f]
        }
        if not changed:
            return entry, None
        entry.version += 1
        entry.updated_at = now
        entry.save()
        fields = actor.timeline_fields()
        change = SanbaoCatalogChange.objects.create(
            entry=entry,
            version=entry.version,
            snapshot=after,
            changed_fields={} if created else changed,
            note=note or "",
            changed_by=fields["actor_user"],
            actor_label=fields["actor_label"],
            changed_at=now,
        )
        timeline_record(
            subject=entry,
            verb="sanbao_catalog.created" if created else "sanbao_catalog.updated",
            actor=actor,
            reason=note or "",
            data={"version": entry.version, "changed": sorted(changed)},
            occurred_at=now,
        )
    return entry, change


# -- shared helpers ------------------------------------------------------------------------------

FUTURE_TOLERANCE = timedelta(minutes=10)
VIEW_PERM = "repairs.view_repairorder"
CHANGE_PERM = "repairs.change_repairorder"
G11_REASONS = ("misuse", "disassembly", "voucher", "force_majeure")
# G11 conditions of the unit itself (kept on the card); misuse and force majeure concern a fault.
CARD_G11_REASONS = ("disassembly", "voucher")


def _number(prefix):
    return f"{prefix}{clock.local(clock.now()):%Y%m%d}{secrets.randbelow(10**8):08d}"


def _iso(dt):
    return dt.isoformat() if dt else None


def _instant(value, field, *, default=None, not_before=None):
    """An aware instant not in the future (and not before ``not_before``), else InvalidInput."""
    value = value or default or clock.now()
    if value.tzinfo is None:
        raise InvalidInput(
            "时间必须带时区。", code=f"{field}_invalid", fields={field: "timezone required"}
        )
    if value > clock.now() + FUTURE_TOLERANCE:
        raise InvalidInput("时间不能在未来。", code=f"{field}_in_future", fields={field: "future"})
    if not_before is not None and value < not_before - FUTURE_TOLERANCE:
        raise InvalidInput(
            "时间早于上一步骤。",
            code=f"{field}_too_early",
            fields={field: _iso(not_before)},
        )
    return value


def _fee(value, field):
    try:
        amount = yuan(str(value) if isinstance(value, float) else (value or 0))
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInput(
            f"{field} 不是合法金额。", code="amount_invalid", fields={field: "amount_invalid"}
        ) from None
    if amount < 0:
        raise InvalidInput(f"{field} 不能为负。", code="amount_invalid", fields={field: ">= 0"})
    return amount


def _require_writer(actor, *, merchant_id, consumer_id=None, consumer_may=False):
    """Platform writers; the case's merchant staff; the case's consumer when ``consumer_may``.
    Others who can see the case get 403, everyone else 404."""
    if actor.platform_write:
        return
    if actor.merchant_id is not None and actor.merchant_id == merchant_id:
        return
    if consumer_id is not None and actor.consumer_id == consumer_id:
        if consumer_may:
            return
        raise PermissionDenied("消费者不能执行此操作。Consumers may not do this.")
    if actor.platform_read:
        raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
    raise NotFound()


def _require_platform_write(actor):
    if actor.platform_write:
        return
    if actor.platform_read:
        raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
    raise PermissionDenied(
        "只有平台可以执行此操作。Only the platform may do this.", code="platform_only"
    )


def _require_repairer(actor, repair):
    """Provider staff granted ``change`` on the repair, a platform writer (recording for the
    provider), or the merchant's API key (its own repair system). The repair's consumer and the
    merchant's staff see it but may not act as its repairer."""
    if actor.platform_write:
        return
    if actor.api_key is not None and actor.merchant_id == repair.merchant_id:
        return  # the merchant's own repair system, through its API key (issue 5)
    user = actor.user if actor.is_provider else None
    if user is not None and user.has_perm(CHANGE_PERM, repair):
        return
    if user is not None and not user.has_perm(VIEW_PERM, repair):
        raise NotFound()
    if actor.consumer_id == repair.consumer_id or actor.merchant_id == repair.merchant_id:
        raise PermissionDenied(
            "只有承修的维修服务商可以记录维修进度。Only the assigned repairer may do this.",
            code="repairer_only",
        )
    if actor.platform_read or user is not None:
        raise PermissionDenied("无权操作该维修单。", code="permission_denied")
    raise NotFound()


def _users_of_provider(provider_id):
    if provider_id is None:
        return []
    return [
        m.user
        for m in RepairProviderMember.objects.filter(provider_id=provider_id).select_related("user")
    ]


def _notify(users, *, event, subject, title, body, actor, **context):
    for user in users:
        notify_quietly(
            recipient_user=user,
            event=event,
            context={"title": title, "body": body, **context},
            subject=subject,
            actor=actor,
        )


def _consumer_user(obj):
    return obj.consumer.user


def card_payload(card):
    return {
        "card_id": card.pk,
        "number": card.number,
        "order_line_id": card.order_line_id,
        "unit_index": card.unit_index,
        "status": card.status,
        "catalog_code": card.catalog_entry.code if card.catalog_entry_id else None,
        "starts_at": _iso(card.starts_at),
        "root_id": card.chain_root_id,
    }


def repair_payload(repair):
    return {
        "repair_id": repair.pk,
        "number": repair.number,
        "card_id": repair.card_id,
        "order_line_id": repair.order_line_id,
        "provider_id": repair.provider_id,
        "status": repair.status,
        "service_mode": repair.service_mode,
        "is_paid": repair.is_paid,
        "paid_reason": repair.paid_reason,
        "entitlement_rule": repair.entitlement_rule,
        "received_at": _iso(repair.received_at),
        "finished_at": _iso(repair.finished_at),
        "result": repair.result,
    }


def _publish(name, obj, payload):
    event_publish(name, subject=obj, payload=payload)


# -- warranty cards ------------------------------------------------------------------------------


def _catalog_for_line(line):
    code = line.sku.product.category.sanbao_code
    if not code:
        return None, None
    entry = SanbaoCatalogEntry.objects.filter(code=code).first()
    if entry is None:
        return None, None
    change = SanbaoCatalogChange.objects.filter(entry=entry, version=entry.version).first()
    return entry, change


def warranty_card_create(*, line, actor, signed_at=None, serial_numbers=None):
    """Create the warranty cards of ``line``: one per unit sold (G9), for categories with a 三包
    catalog entry; returns the cards created (units that already have a card are skipped, so
    it is idempotent).

    ``signed_at``: the sign-off (default: the line's signed outbound parcel). The card starts
    then, or — for goods that need installation — when installation completes
    (``warranty_installation_complete``). The catalog version in force now is recorded.
    ``serial_numbers``: optional list, one per unit. Platform writers, the line's merchant and
    the system (the ``shipment.signed`` subscriber) may create cards.
    """
    from orders.models import OrderLine, Shipment

    line = OrderLine.objects.select_related("order", "sku__product__category").get(pk=line.pk)
    order = line.order
    _require_writer(actor, merchant_id=order.merchant_id, consumer_id=order.consumer_id)
    entry, change = _catalog_for_line(line)
    if entry is None:
        raise RuleViolation(
            "该商品类目不在三包目录中，不发放三包凭证。The category has no 三包 catalog entry.",
            code="not_sanbao_category",
        )
    if signed_at is None:
        shipment = (
            Shipment.objects.filter(line=line, purpose="outbound", signed_at__isnull=False)
            .only("signed_at")
            .first()
        )
        if shipment is None:
            raise RuleViolation(
                "该订单行尚未签收，不能发放三包凭证。The line has not been signed for.",
                code="line_not_signed",
            )
        signed_at = shipment.signed_at
    signed_at = _instant(signed_at, "signed_at")
    serials = list(serial_numbers or [])
    if len(serials) > line.quantity:
        raise InvalidInput(
            "序列号多于购买数量。",
            code="serial_numbers_invalid",
            fields={"serial_numbers": line.quantity},
        )
    needs_installation = bool(line.sku.product.category.needs_installation)
    created = []
    with transaction.atomic():
        OrderLine.objects.select_for_update().filter(pk=line.pk).first()
        existing = set(
            WarrantyCard.objects.filter(order_line=line, replaces__isnull=True).values_list(
                "unit_index", flat=True
            )
        )
        unit_price = line.unit_paid_price
        for index in range(1, line.quantity + 1):
            if index in existing:
                continue
            card = WarrantyCard.objects.create(
                number=_number("WC"),
                order_line=line,
                unit_index=index,
                serial_number=(serials[index - 1] if index <= len(serials) else "") or "",
                catalog_entry=entry,
                catalog_change=change,
                catalog_version=entry.version,
                merchant_id=order.merchant_id,
                consumer_id=order.consumer_id,
                product_id=line.sku.product_id,
                sku_id=line.sku_id,
                product_name=line.product_name,
                unit_price=unit_price,
                needs_installation=needs_installation,
                signed_at=signed_at,
                starts_at=None if needs_installation else signed_at,
            )
            card.catalog_entry = entry
            timeline_record(
                subject=card,
                verb="warranty_card.created",
                actor=actor,
                to_status=card.status,
                occurred_at=signed_at,
                data={"order_line_id": line.pk, "unit_index": index, "version": entry.version},
            )
            _publish("warranty_card.created", card, card_payload(card))
            created.append(card)
    return created


def _locked_card(card):
    return (
        WarrantyCard.objects.select_for_update(of=("self",))
        .select_related("catalog_entry", "consumer__user")
        .get(pk=card.pk)
    )


def warranty_installation_complete(*, card, actor, installed_at=None):
    """Installation completed: the 三包 period of goods that need installation starts now (G9).

    Refused for goods without installation (their period started at sign-off) and when the
    installation was already recorded. The line's merchant, platform writers, or the provider
    staff who installed it (a repair granted to them on the card) may record it.
    """
    card = WarrantyCard.objects.get(pk=card.pk)
    if not (actor.is_provider and _provider_has_card(actor, card)):
        _require_writer(actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id)
    with transaction.atomic():
        card = _locked_card(card)
        if not card.needs_installation:
            raise RuleViolation(
                "该商品无需安装，三包期自签收起算（G9）。", code="installation_not_needed"
            )
        if card.installed_at is not None:
            raise Conflict("已记录安装完成。", code="already_installed")
        installed_at = _instant(installed_at, "installed_at", not_before=card.signed_at)
        card.installed_at = installed_at
        card.starts_at = installed_at
        card.save(update_fields=["installed_at", "starts_at"])
        timeline_record(
            subject=card,
            verb="warranty_card.installed",
            actor=actor,
            occurred_at=installed_at,
            data={"starts_at": _iso(installed_at)},
        )
        _publish("warranty_card.installed", card, card_payload(card))
    return card


def _provider_has_card(actor, card):
    from .selectors import repair_order_list

    return repair_order_list(actor=actor).filter(card_id=card.pk).exists()


def _card_move(card, *, to, actor, at=None, note="", data=None):
    """Move ``card`` to ``to`` through ``status_move`` with ``rules.CARD_MOVES``: sets the
    status and its timestamp (``rules.CARD_STATUS_TIMESTAMP``) at ``at`` (default now) and
    records the timeline event ``warranty_card.<to>``. A move the table forbids is a 409
    ``invalid_status_transition``. ``card`` is updated in place."""
    return status_move(
        card,
        to=to,
        actor=actor,
        moves=rules.CARD_MOVES,
        reason=note,
        data=data,
        timestamp_field=rules.CARD_STATUS_TIMESTAMP.get(to),
        verb=f"warranty_card.{to}",
        occurred_at=at,
    )


def warranty_card_exchange(*, card, actor, exchanged_at=None, serial_number="", note=""):
    """The unit was exchanged (G2, G4, G5, G6): this card ends (``exchanged``) and a new card
    for the replacement starts at the exchange date — the 三包 period starts again (G10, art.
    14). Returns the new card. Open repairs of the old unit are closed and open escalations of
    the card resolved as ``exchange``. Platform writers and the card's merchant.
    """
    card = WarrantyCard.objects.get(pk=card.pk)
    _require_writer(actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id)
    with transaction.atomic():
        card = _locked_card(card)
        if card.status != WarrantyCard.Status.ACTIVE:
            raise Conflict(
                f"三包凭证状态为“{card.get_status_display()}”，不能换货。",
                code="card_not_active",
                fields={"status": card.status},
            )
        at = _instant(exchanged_at, "exchanged_at", not_before=card.signed_at)
        new = WarrantyCard.objects.create(
            number=_number("WC"),
            order_line_id=card.order_line_id,
            unit_index=card.unit_index,
            serial_number=serial_number or "",
            catalog_entry_id=card.catalog_entry_id,
            catalog_change_id=card.catalog_change_id,
            catalog_version=card.catalog_version,
            merchant_id=card.merchant_id,
            consumer_id=card.consumer_id,
            product_id=card.product_id,
            sku_id=card.sku_id,
            product_name=card.product_name,
            unit_price=card.unit_price,
            needs_installation=False,
            signed_at=at,
            starts_at=at,
            root_id=card.chain_root_id,
            replaces=card,
        )
        _card_move(
            card,
            to=WarrantyCard.Status.EXCHANGED,
            at=at,
            actor=actor,
            note=note,
            data={"replaced_by": new.pk},
        )
        timeline_record(
            subject=new,
            verb="warranty_card.created",
            actor=actor,
            to_status=new.status,
            occurred_at=at,
            data={"replaces": card.pk, "reason": "exchange"},
        )
        _close_open_repairs(card, actor=actor, reason="unit_exchanged")
        _resolve_open_escalations(card, actor=actor, resolution="exchange", note=note)
        new.catalog_entry = card.catalog_entry
        _publish(
            "warranty_card.exchanged",
            card,
            {**card_payload(card), "replaced_by": new.pk, "exchanged_at": _iso(at)},
        )
        _notify(
            [_consumer_user(card)],
            event="warranty_card.exchanged",
            subject=new,
            title="换货完成，三包期重新计算",
            body=f"{card.product_name} 已换货，新三包凭证 {new.number} "
            "自换货之日起重新计算三包期（G10）。",
            actor=actor,
            card_id=new.pk,
        )
    return new


def warranty_card_return(*, card, actor, returned_at=None, note=""):
    """The unit went back to the seller with a refund (G1, G7, G8): the card ends
    (``returned``); its open repairs are closed and open escalations resolved as ``refund``."""
    card = WarrantyCard.objects.get(pk=card.pk)
    _require_writer(actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id)
    with transaction.atomic():
        card = _locked_card(card)
        if card.status != WarrantyCard.Status.ACTIVE:
            raise Conflict(
                "三包凭证已失效。", code="card_not_active", fields={"status": card.status}
            )
        at = _instant(returned_at, "returned_at", not_before=card.signed_at)
        _card_move(card, to=WarrantyCard.Status.RETURNED, at=at, actor=actor, note=note)
        _close_open_repairs(card, actor=actor, reason="unit_returned")
        _resolve_open_escalations(card, actor=actor, resolution="refund", note=note)
        _publish("warranty_card.returned", card, card_payload(card))
    return card


def warranty_card_refuse_alternative(*, card, actor, refused=True):
    """Record that the consumer refuses another model when the same model and spec is not
    available (G7: then the refund is in full, without depreciation). The card's consumer, its
    merchant or the platform."""
    card = WarrantyCard.objects.get(pk=card.pk)
    _require_writer(
        actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        card = _locked_card(card)
        if card.alternative_refused != bool(refused):
            card.alternative_refused = bool(refused)
            card.save(update_fields=["alternative_refused"])
            timeline_record(
                subject=card,
                verb="warranty_card.alternative_refused",
                actor=actor,
                data={"refused": card.alternative_refused},
            )
    return card


def _close_open_repairs(card, *, actor, reason):
    repairs = list(
        RepairOrder.objects.select_for_update()
        .filter(
            card=card, status__in=RepairOrder.OPEN_STATUSES + ("fixed", "not_fixed", "returned")
        )
        .order_by("pk")
    )
    for repair in repairs:
        to = "cancelled" if repair.status in ("requested", "assigned") else "closed"
        _repair_move(repair, to=to, actor=actor, reason=reason)
    return repairs


def _resolve_open_escalations(card, *, actor, resolution, note=""):
    rows = list(
        WarrantyEscalation.objects.select_for_update()
        .filter(card=card, status=WarrantyEscalation.Status.OPEN)
        .order_by("pk")
    )
    for escalation in rows:
        _escalation_close(escalation, actor=actor, resolution=resolution, note=note)
    return rows


# -- repair providers ----------------------------------------------------------------------------


def _clean_categories(categories):
    codes = [c.code if isinstance(c, SanbaoCatalogEntry) else str(c) for c in categories or []]
    entries = list(SanbaoCatalogEntry.objects.filter(code__in=codes))
    missing = sorted(set(codes) - {e.code for e in entries})
    if not codes or missing:
        raise InvalidInput(
            "请选择三包目录中的维修类目。",
            code="provider_categories_invalid",
            fields={"categories": missing or "required"},
        )
    return entries


def _clean_regions(regions):
    if not isinstance(regions, list | tuple) or not all(
        isinstance(r, str) and r.strip() and len(r) <= 20 for r in regions
    ):
        raise InvalidInput(
            "服务地区应为省份名称列表。",
            code="provider_regions_invalid",
            fields={"regions": "list"},
        )
    return sorted({r.strip() for r in regions})


def provider_apply(
    *,
    actor,
    name,
    licence_number,
    categories,
    regions=(),
    licence_file=None,
    licence_expires_on=None,
    contact_name="",
    contact_phone="",
    contact_email="",
    address="",
    owner=None,
):
    """A repairer applies for admission (standard 6.5.1): licence, categories, regions; status
    ``applied`` until platform staff review it (``provider_review``).

    ``owner`` (a user without another role) becomes the provider's owner member; it can be the
    applicant themselves (``actor`` then has no role yet) or given by a platform writer who
    records an application received on paper. Licence numbers are unique.
    """
    if not actor.platform_write:
        if owner is None or not getattr(owner, "is_authenticated", False):
            raise PermissionDenied("请先登录再申请。Sign in to apply.", code="sign_in_required")
        if actor.is_consumer or actor.is_merchant or actor.is_provider or actor.platform_read:
            raise PermissionDenied(
                "该账号已有其他身份，请用新账号申请。Use an account without another role.",
                code="account_has_role",
            )
    name, licence_number = (name or "").strip(), (licence_number or "").strip()
    if not name or not licence_number:
        raise InvalidInput(
            "需要名称和资质编号。",
            code="provider_incomplete",
            fields={"name": "required", "licence_number": "required"},
        )
    entries = _clean_categories(categories)
    regions = _clean_regions(list(regions or []))
    if owner is not None and RepairProviderMember.objects.filter(user=owner).exists():
        raise Conflict("该用户已属于一家维修服务商。", code="already_provider_member")
    with transaction.atomic():
        if RepairProvider.objects.filter(licence_number=licence_number).exists():
            raise Conflict(
                "该资质编号已申请过。",
                code="licence_number_taken",
                fields={"licence_number": licence_number},
            )
        now = clock.now()
        provider = RepairProvider.objects.create(
            name=name,
            licence_number=licence_number,
            licence_expires_on=licence_expires_on,
            regions=regions,
            contact_name=contact_name or "",
            contact_phone=contact_phone or "",
            contact_email=contact_email or "",
            address=address or "",
            applied_at=now,
            updated_at=now,
        )
        if licence_file is not None:
            provider.licence_file = licence_file
            provider.save(update_fields=["licence_file"])
        provider.categories.set(entries)
        if owner is not None:
            RepairProviderMember.objects.create(
                provider=provider, user=owner, role=RepairProviderMember.Role.OWNER
            )
        timeline_record(
            subject=provider,
            verb="repair_provider.applied",
            actor=actor if actor.is_authenticated else _applicant_actor(owner),
            to_status=provider.status,
            data={"categories": [e.code for e in entries], "regions": regions},
        )
        _publish("repair_provider.applied", provider, _provider_payload(provider))
    if owner is not None:
        _forget_actor(owner)
    return provider


def _applicant_actor(user):
    from aftersales.tenancy.actors import Actor

    return Actor(kind="provider", user=user)


def _provider_payload(provider):
    return {
        "provider_id": provider.pk,
        "name": provider.name,
        "status": provider.status,
        "regions": provider.regions,
    }


def _provider_move(provider, *, to, actor, reason="", note_field=None):
    now = clock.now()
    moved = status_move(
        provider,
        to=to,
        actor=actor,
        moves=rules.PROVIDER_MOVES,
        reason=reason,
        verb=f"repair_provider.{to}",
        data={"name": provider.name},
    )
    fields = {"updated_at": now, "status_reason": reason[:300]}
    if to in ("approved", "rejected") and note_field:
        fields |= {
            "reviewed_by": actor.user if getattr(actor.user, "pk", None) else None,
            "reviewed_at": now,
            "review_note": reason[:300],
        }
    if to == "suspended":
        fields["suspended_at"] = now
    for key, value in fields.items():
        setattr(moved, key, value)
    moved.save(update_fields=list(fields))
    _publish(f"repair_provider.{to}", moved, _provider_payload(moved))
    _notify(
        _users_of_provider(moved.pk),
        event=f"repair_provider.{to}",
        subject=moved,
        title=f"维修服务商状态：{moved.get_status_display()}",
        body=f"{moved.name} 的准入状态已变更为“{moved.get_status_display()}”。{reason}",
        actor=actor,
        provider_id=moved.pk,
    )
    return moved


def provider_review(*, provider, actor, approve, note=""):
    """Platform staff review an application: ``approve=True`` admits the provider (it can then
    be assigned repairs of its categories and regions), ``False`` rejects it with ``note``."""
    _require_platform_write(actor)
    if not approve and not (note or "").strip():
        raise InvalidInput("驳回须说明原因。", code="note_required", fields={"note": "required"})
    with transaction.atomic():
        return _provider_move(
            provider,
            to="approved" if approve else "rejected",
            actor=actor,
            reason=note or "",
            note_field=True,
        )


def provider_suspend(*, provider, actor, reason):
    """Suspend an admitted provider: no new repairs are assigned to it; its staff keep the
    repairs already assigned (they still hold the unit)."""
    _require_platform_write(actor)
    if not (reason or "").strip():
        raise InvalidInput(
            "暂停须说明原因。", code="reason_required", fields={"reason": "required"}
        )
    with transaction.atomic():
        return _provider_move(provider, to="suspended", actor=actor, reason=reason)


def provider_reinstate(*, provider, actor, note=""):
    """Lift a suspension: the provider can be assigned repairs again."""
    _require_platform_write(actor)
    with transaction.atomic():
        return _provider_move(provider, to="approved", actor=actor, reason=note or "")


def _require_provider_admin(actor, provider):
    if actor.platform_write:
        return
    if actor.is_provider and actor.provider_id == provider.pk:
        member = RepairProviderMember.objects.filter(user=actor.user, provider=provider).first()
        if member is not None and member.role == RepairProviderMember.Role.OWNER:
            return
        raise PermissionDenied("只有服务商负责人可以管理员工。", code="provider_owner_required")
    if actor.platform_read:
        raise PermissionDenied("只读角色不能修改数据。Read-only role.", code="read_only_role")
    raise NotFound()


def _grant(users, repairs):
    from guardian.shortcuts import assign_perm

    for user in users:
        for perm in (VIEW_PERM, CHANGE_PERM):
            assign_perm(perm, user, RepairOrder.objects.filter(pk__in=[r.pk for r in repairs]))


def _revoke(users, repairs):
    from guardian.shortcuts import remove_perm

    for user in users:
        for perm in (VIEW_PERM, CHANGE_PERM):
            remove_perm(perm, user, RepairOrder.objects.filter(pk__in=[r.pk for r in repairs]))


def provider_member_add(*, provider, user, actor, role=RepairProviderMember.Role.TECHNICIAN):
    """Add a staff member to a provider (platform writers, or the provider's owner). The member
    is granted the provider's repair orders already assigned."""
    _require_provider_admin(actor, provider)
    if role not in RepairProviderMember.Role.values:
        raise InvalidInput(
            "角色无效。", code="role_invalid", fields={"role": RepairProviderMember.Role.values}
        )
    from aftersales.tenancy.actors import actor_for_user

    other = actor_for_user(user)
    if other.is_consumer or other.is_merchant or other.is_platform_staff:
        raise Conflict("该用户已有其他身份。", code="account_has_role")
    with transaction.atomic():
        if RepairProviderMember.objects.filter(user=user).exists():
            raise Conflict("该用户已属于一家维修服务商。", code="already_provider_member")
        member = RepairProviderMember.objects.create(provider=provider, user=user, role=role)
        _grant([user], list(RepairOrder.objects.filter(provider=provider)))
        timeline_record(
            subject=provider,
            verb="repair_provider.member_added",
            actor=actor,
            data={"user_id": user.pk, "role": role},
        )
    _forget_actor(user)
    return member


def _forget_actor(user):
    """The user's cached actor (``actor_for_user``) predates the new provider role."""
    try:
        del user._actor
    except AttributeError:
        pass


def provider_member_remove(*, member, actor):
    """Remove a staff member: their grants on the provider's repair orders go with them."""
    provider = member.provider
    _require_provider_admin(actor, provider)
    with transaction.atomic():
        user = member.user
        _revoke([user], list(RepairOrder.objects.filter(provider=provider)))
        member.delete()
        _forget_actor(user)
        timeline_record(
            subject=provider,
            verb="repair_provider.member_removed",
            actor=actor,
            data={"user_id": user.pk},
        )


# -- repair orders -------------------------------------------------------------------------------


def _repair_move(repair, *, to, actor, reason="", occurred_at=None, data=None):
    before = repair.status
    moved = status_move(
        repair,
        to=to,
        actor=actor,
        moves=rules.REPAIR_MOVES,
        reason=reason,
        timestamp_field=rules.REPAIR_TIMESTAMPS.get(to),
        verb=f"repair.{to}",
        occurred_at=occurred_at,
        data={"number": repair.number, **(data or {})},
    )
    moved.updated_at = clock.now()
    moved.save(update_fields=["updated_at"])
    _publish(f"repair.{to}", moved, {**repair_payload(moved), "from": before, "reason": reason})
    return moved


def _locked_repair(repair):
    return (
        RepairOrder.objects.select_for_update(of=("self",))
        .select_related("card__catalog_entry", "card__catalog_change", "consumer__user")
        .get(pk=repair.pk)
    )


def _resolve_card(*, card, line, unit_index):
    if card is not None:
        return WarrantyCard.objects.select_related("catalog_entry").get(pk=card.pk)
    if line is None:
        raise InvalidInput(
            "请指定三包凭证或订单行。", code="card_required", fields={"card": "required"}
        )
    current = (
        WarrantyCard.objects.select_related("catalog_entry")
        .filter(order_line_id=line.pk, unit_index=unit_index or 1)
        .order_by("-id")
        .first()
    )
    if current is None:
        raise RuleViolation(
            "该商品没有三包凭证（未签收或不属于三包商品）。", code="no_warranty_card"
        )
    return current


PARTS_ONLY_RULE = "G3P"  # whole unit out of period, main parts still covered (G3, G9)


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

    ``evidence``: uploaded files (photos). One open repair per card.
    """
    from .selectors import card_facts

    fault_description = (fault_description or "").strip()
    if not fault_description:
        raise InvalidInput(
            "请描述故障。",
            code="fault_description_required",
            fields={"fault_description": "required"},
        )
    if service_mode not in RepairOrder.ServiceMode.values:
        raise InvalidInput(
            "服务方式无效。",
            code="service_mode_invalid",
            fields={"service_mode": RepairOrder.ServiceMode.values},
        )
    card = _resolve_card(card=card, line=line, unit_index=unit_index)
    _require_writer(
        actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        card = _locked_card(card)
        return _request(
            card=card,
            actor=actor,
            fault_description=fault_description,
            service_mode=service_mode,
            fault_reported_at=_instant(fault_reported_at, "fault_reported_at"),
            evidence=evidence,
            facts_of=card_facts,
        )


def _request(
    *, card, actor, fault_description, service_mode, fault_reported_at, evidence, facts_of
):
    if card.status != WarrantyCard.Status.ACTIVE:
        raise Conflict(
            f"三包凭证状态为“{card.get_status_display()}”，不能报修。",
            code="card_not_active",
            fields={"status": card.status},
        )
    if RepairOrder.objects.filter(card=card, status__in=RepairOrder.OPEN_STATUSES).exists():
        raise Conflict("该商品已有进行中的维修单。", code="repair_already_open")
    facts = facts_of(card)
    ent = rules.entitlements(facts, fault_reported_at)
    is_paid, paid_reason, rule = _decide_paid(ent, facts.misuse)
    reopened = None
    if rule == "G12" and ent.not_fixed_repairs:
        reopened = _reopen_last(card, ent, actor=actor, at=fault_reported_at)
    repair = RepairOrder.objects.create(
        number=_number("RP"),
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
        RepairEvidence.objects.create(
            repair=repair,
            file=upload,
            uploaded_by=actor.user if getattr(actor.user, "pk", None) else None,
            actor_label=actor.label,
        )
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
    _publish("repair.requested", repair, {**repair_payload(repair), "summary": ent.summary})
    g4 = next((r for r in ent.remedies if r.rule == "G4"), None)
    if g4 is not None:
        _escalation_open(card, repair=repair, rule="G4", remedy=g4, actor=actor, ent=ent)
    terms = "付费维修" if is_paid else "免费维修"
    _notify(
        [_consumer_user(card)],
        event="repair.requested",
        subject=repair,
        title=f"报修已受理：{repair.number}",
        body=f"{card.product_name} 的报修已受理，{terms}（{rule}）。{ent.summary}",
        actor=actor,
        repair_id=repair.pk,
    )
    _notify(
        merchant_staff(card.merchant_id),
        event="repair.requested",
        subject=repair,
        title=f"新的维修申请：{repair.number}",
        body=f"消费者报修 {card.product_name}：{fault_description[:100]}。"
        "请派单给准入的维修服务商。",
        actor=actor,
        repair_id=repair.pk,
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
            reason="修复后 30 日内再次故障，视为未修好（G12）",
            occurred_at=at,
            data={"finished_at": _iso(previous.finished_at)},
        )
        _publish("repair.reopened", previous, repair_payload(previous))
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
        raise Conflict("该维修单尚未完成。", code="repair_not_finished")
    return repair_request(
        actor=actor,
        card=repair.card,
        fault_description=fault_description,
        service_mode=service_mode or repair.service_mode,
        fault_reported_at=fault_reported_at,
    )


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
    _require_writer(actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id)
    with transaction.atomic():
        provider = RepairProvider.objects.select_for_update().get(pk=provider.pk)
        locked = _locked_repair(repair)
        if provider.status != RepairProvider.Status.APPROVED:
            raise RuleViolation(
                f"维修服务商“{provider.name}”状态为{provider.get_status_display()}，不能派单。"
                "Only admitted providers can be assigned.",
                code="provider_not_admitted",
                fields={"provider": provider.status},
            )
        if not provider.categories.filter(pk=locked.card.catalog_entry_id).exists():
            raise RuleViolation(
                "该服务商不具备此类商品的维修资质。", code="provider_category_mismatch"
            )
        province = repair.order_line.order.ship_province
        if not provider.serves_region(province):
            raise RuleViolation(
                f"该服务商不服务{province}。",
                code="provider_region_mismatch",
                fields={"province": province},
            )
        previous = locked.provider_id
        if locked.status == "requested":
            locked.provider = provider
            locked.save(update_fields=["provider"])
            at = _instant(occurred_at, "occurred_at", not_before=locked.fault_reported_at)
            locked = _repair_move(
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
            _publish(
                "repair.assigned", locked, {**repair_payload(locked), "from_provider": previous}
            )
        else:
            raise Conflict(
                "维修单已送修，不能改派。",
                code="repair_already_received",
                fields={"status": locked.status},
            )
        if previous and previous != provider.pk:
            _revoke(_users_of_provider(previous), [locked])
        staff = _users_of_provider(provider.pk)
        _grant(staff, [locked])
        _notify(
            staff,
            event="repair.assigned",
            subject=locked,
            title=f"新的维修派单：{locked.number}",
            body=f"{locked.card.product_name}：{locked.fault_description[:100]}",
            actor=actor,
            repair_id=locked.pk,
        )
        _notify(
            [_consumer_user(locked)],
            event="repair.assigned",
            subject=locked,
            title=f"维修单 {locked.number} 已派单",
            body=f"已安排维修服务商“{provider.name}”为您维修。",
            actor=actor,
            repair_id=locked.pk,
        )
    return locked


def repair_receive(*, repair, actor, occurred_at=None, note=""):
    """The provider received the unit (送修; on site: the technician took it in hand) at
    ``occurred_at``. G6's 30-day clock starts here (``repairs.g6_repairer_limit``)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    _require_repairer(actor, repair)
    with transaction.atomic():
        locked = _locked_repair(repair)
        at = _instant(
            occurred_at, "occurred_at", not_before=locked.assigned_at or locked.fault_reported_at
        )
        moved = _repair_move(locked, to="received", actor=actor, reason=note, occurred_at=at)
        _notify(
            [_consumer_user(locked)],
            event="repair.received",
            subject=moved,
            title=f"维修单 {moved.number} 已送修",
            body=f"维修服务商已于 {clock.local(at):%Y-%m-%d %H:%M} "
            f"收到您的 {locked.card.product_name}。",
            actor=actor,
            repair_id=moved.pk,
        )
    return moved


def repair_diagnose(*, repair, actor, diagnosis, paid_reason="", occurred_at=None):
    """The provider records the diagnosis. ``paid_reason`` (G11: misuse, disassembly, voucher,
    force_majeure) makes the repair paid; disassembly by others and altered/missing vouchers
    are also kept on the card (they concern the unit, not this fault)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    _require_repairer(actor, repair)
    diagnosis = (diagnosis or "").strip()
    if not diagnosis:
        raise InvalidInput(
            "请填写检测结论。", code="diagnosis_required", fields={"diagnosis": "required"}
        )
    if paid_reason and paid_reason not in G11_REASONS:
        raise InvalidInput(
            "付费原因无效（G11）。",
            code="paid_reason_invalid",
            fields={"paid_reason": list(G11_REASONS)},
        )
    with transaction.atomic():
        locked = _locked_repair(repair)
        at = _instant(occurred_at, "occurred_at", not_before=locked.received_at)
        moved = _repair_move(
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
        moved.save(update_fields=update)
        if paid_reason:
            _notify(
                [_consumer_user(locked)],
                event="repair.paid",
                subject=moved,
                title=f"维修单 {moved.number} 需付费维修",
                body=f"检测发现：{rules.MISUSE_LABELS[paid_reason]}，不实行三包，只能付费维修（G11）。{diagnosis}",
                actor=actor,
                repair_id=moved.pk,
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
        reason=rules.MISUSE_LABELS[reason],
        data={"reasons": card.misuse_reasons},
    )


def repair_parts_wait_start(*, repair, actor, parts="", note="", occurred_at=None):
    """The repair waits for manufacturer parts from ``occurred_at``: the G6 clock stops (those
    days are not the repairer's) and the G5 limit (90 days from 送修; mobile phones 60) is
    scheduled once."""
    from . import deadlines

    repair = RepairOrder.objects.get(pk=repair.pk)
    _require_repairer(actor, repair)
    with transaction.atomic():
        locked = _locked_repair(repair)
        at = _instant(occurred_at, "occurred_at", not_before=locked.received_at)
        moved = _repair_move(
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
        _notify(
            [_consumer_user(locked)],
            event="repair.waiting_parts",
            subject=moved,
            title=f"维修单 {moved.number} 等待配件",
            body=f"维修需等待厂家配件（{parts or '配件'}）。等待配件的时间顺延三包期。",
            actor=actor,
            repair_id=moved.pk,
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
    from . import deadlines

    repair = RepairOrder.objects.get(pk=repair.pk)
    _require_repairer(actor, repair)
    with transaction.atomic():
        locked = _locked_repair(repair)
        if locked.status != "waiting_parts":
            raise Conflict(
                "维修单不在等待配件状态。",
                code="not_waiting_parts",
                fields={"status": locked.status},
            )
        at = _instant(occurred_at, "occurred_at", not_before=locked.parts_wait_since)
        days = _end_wait(locked, at)
        moved = _repair_move(
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
    _require_repairer(actor, repair)
    with transaction.atomic():
        locked = _locked_repair(repair)
        at = _instant(occurred_at, "occurred_at", not_before=locked.received_at)
        return _repair_move(locked, to="repairing", actor=actor, reason=note, occurred_at=at)


def _clean_parts_replaced(parts):
    out = []
    for part in parts or []:
        if isinstance(part, str):
            part = {"name": part, "quantity": 1}
        name = str((part or {}).get("name", "")).strip() if isinstance(part, dict) else ""
        quantity = part.get("quantity", 1) if isinstance(part, dict) else None
        if not name or not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise InvalidInput(
                "更换部件需要名称和正整数数量。",
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
    _require_repairer(actor, repair)
    if result not in RepairOrder.Result.values:
        raise InvalidInput(
            "维修结果无效。", code="result_invalid", fields={"result": RepairOrder.Result.values}
        )
    parts = _clean_parts_replaced(list(parts_replaced or []))
    labour, parts_cost = _fee(labour_fee, "labour_fee"), _fee(parts_fee, "parts_fee")
    with transaction.atomic():
        locked = _locked_repair(repair)
        at = _instant(occurred_at, "occurred_at", not_before=locked.received_at)
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
                    "三包期内的维修只能因使用不当、擅自拆动、凭证问题或不可抗力收费（G11）。",
                    code="paid_reason_required",
                    fields={"paid_reason": list(G11_REASONS)},
                )
            if paid and not reason:
                reason = locked.paid_reason
        if locked.parts_wait_since is not None:
            _end_wait(locked, at)
        moved = _repair_move(
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
        fee = f"，应付费用 ¥{moved.total_fee}" if paid else "，免费"
        _notify(
            [_consumer_user(locked)],
            event=f"repair.{result}",
            subject=moved,
            title=f"维修单 {moved.number} {moved.get_status_display()}",
            body=f"{locked.card.product_name} {moved.get_result_display()}{fee}。{note}",
            actor=actor,
            repair_id=moved.pk,
        )
    return moved


def repair_return_to_consumer(*, repair, actor, occurred_at=None, note=""):
    """The unit went back to the consumer (``returned_at``). The days in repair end at the
    repair's finish; G12's 30 days run from there."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    _require_repairer(actor, repair)
    with transaction.atomic():
        locked = _locked_repair(repair)
        at = _instant(occurred_at, "occurred_at", not_before=locked.finished_at)
        moved = _repair_move(locked, to="returned", actor=actor, reason=note, occurred_at=at)
        _notify(
            [_consumer_user(locked)],
            event="repair.returned",
            subject=moved,
            title=f"维修单 {moved.number} 已返还",
            body=f"您的 {locked.card.product_name} 已返还。"
            "修复后 30 日内再次故障可免费重修（G12）。",
            actor=actor,
            repair_id=moved.pk,
        )
    return moved


def repair_close(*, repair, actor, reason=""):
    """Close a repair that is done (returned, or ended without return). The consumer confirms,
    or the merchant / platform closes it."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    _require_writer(
        actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        locked = _locked_repair(repair)
        if locked.status in RepairOrder.OPEN_STATUSES and not actor.platform_write:
            raise Conflict("维修尚未完成，不能关闭。", code="repair_not_finished")
        return _repair_move(locked, to="closed", actor=actor, reason=reason)


def repair_cancel(*, repair, actor, reason=""):
    """Cancel a repair before the repairer received the unit (consumer, merchant, platform)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    _require_writer(
        actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        locked = _locked_repair(repair)
        moved = _repair_move(locked, to="cancelled", actor=actor, reason=reason)
        if locked.provider_id:
            _revoke(_users_of_provider(locked.provider_id), [moved])
    return moved


def repair_evidence_add(*, repair, actor, file, kind=RepairEvidence.Kind.PHOTO, caption=""):
    """Attach a photo, video or inspection report (the consumer, the merchant, the repairer,
    or the platform)."""
    repair = RepairOrder.objects.get(pk=repair.pk)
    if not (actor.is_provider and actor.user.has_perm(CHANGE_PERM, repair)):
        _require_writer(
            actor, merchant_id=repair.merchant_id, consumer_id=repair.consumer_id, consumer_may=True
        )
    if kind not in RepairEvidence.Kind.values:
        raise InvalidInput(
            "类型无效。", code="evidence_kind_invalid", fields={"kind": RepairEvidence.Kind.values}
        )
    with transaction.atomic():
        evidence = RepairEvidence.objects.create(
            repair=repair,
            kind=kind,
            file=file,
            caption=caption or "",
            uploaded_by=actor.user if getattr(actor.user, "pk", None) else None,
            actor_label=actor.label,
        )
        timeline_record(
            subject=repair,
            verb="repair.evidence_added",
            actor=actor,
            data={"evidence_id": evidence.pk, "kind": kind},
        )
    return evidence


# -- escalations and remedies --------------------------------------------------------------------


def _escalation_open(card, *, repair, rule, remedy, actor, ent):
    """Open (or return the open) escalation of ``rule`` on ``card``."""
    existing = WarrantyEscalation.objects.filter(
        card=card, rule=rule, status=WarrantyEscalation.Status.OPEN
    ).first()
    if existing is not None:
        return existing
    kinds = [rules.EXCHANGE] + ([rules.RETURN] if rules.RETURN in ent.kinds else [])
    escalation = WarrantyEscalation.objects.create(
        card=card,
        repair=repair,
        merchant_id=card.merchant_id,
        consumer_id=card.consumer_id,
        rule=rule,
        granted_remedies=kinds,
        cost_borne_by=remedy.cost_borne_by,
        explanation=remedy.explanation,
        data={
            k: (_iso(v) if hasattr(v, "isoformat") else v)
            for k, v in (remedy.dates or {}).items()
            if not isinstance(v, list)
        },
        raised_at=clock.now(),
    )
    timeline_record(
        subject=escalation,
        verb="warranty_escalation.opened",
        actor=actor,
        to_status=escalation.status,
        reason=escalation.explanation,
        data={"rule": rule, "card_id": card.pk, "repair_id": getattr(repair, "pk", None)},
    )
    _publish(
        "warranty_escalation.opened",
        escalation,
        {
            "escalation_id": escalation.pk,
            "card_id": card.pk,
            "rule": rule,
            "granted_remedies": kinds,
        },
    )
    _notify(
        [_consumer_user(card)],
        event="warranty_escalation.opened",
        subject=escalation,
        title=f"您可以选择换货或退货（{rule}）",
        body=escalation.explanation,
        actor=actor,
        escalation_id=escalation.pk,
    )
    _notify(
        merchant_staff(card.merchant_id),
        event="warranty_escalation.opened",
        subject=escalation,
        title=f"三包升级：{card.product_name}（{rule}）",
        body=escalation.explanation,
        actor=actor,
        escalation_id=escalation.pk,
    )
    return escalation


def _escalation_close(escalation, *, actor, resolution, note=""):
    now = clock.now()
    escalation.status = WarrantyEscalation.Status.RESOLVED
    escalation.resolution = resolution
    escalation.resolution_note = note or ""
    escalation.resolved_by = actor.user if getattr(actor.user, "pk", None) else None
    escalation.resolved_label = actor.label
    escalation.resolved_at = now
    escalation.save(
        update_fields=[
            "status",
            "resolution",
            "resolution_note",
            "resolved_by",
            "resolved_label",
            "resolved_at",
        ]
    )
    timeline_record(
        subject=escalation,
        verb="warranty_escalation.resolved",
        actor=actor,
        from_status="open",
        to_status="resolved",
        reason=note or "",
        data={"resolution": resolution},
    )
    _publish(
        "warranty_escalation.resolved",
        escalation,
        {"escalation_id": escalation.pk, "card_id": escalation.card_id, "resolution": resolution},
    )
    return escalation


def escalation_resolve(*, escalation, actor, resolution, note=""):
    """Platform staff close an escalation: ``exchange``, ``refund``, ``repair`` (the consumer
    keeps the repair) or ``dismissed`` (with a note saying why)."""
    _require_platform_write(actor)
    if resolution not in WarrantyEscalation.Resolution.values:
        raise InvalidInput(
            "处理结果无效。",
            code="resolution_invalid",
            fields={"resolution": WarrantyEscalation.Resolution.values},
        )
    if resolution == "dismissed" and not (note or "").strip():
        raise InvalidInput(
            "请说明不成立的原因。", code="note_required", fields={"note": "required"}
        )
    with transaction.atomic():
        escalation = WarrantyEscalation.objects.select_for_update().get(pk=escalation.pk)
        if escalation.status != WarrantyEscalation.Status.OPEN:
            raise Conflict("该升级案件已处理。", code="escalation_resolved")
        return _escalation_close(escalation, actor=actor, resolution=resolution, note=note)


def _returns_entry():
    try:
        from returns import services as returns_services
    except ImportError:
        return None
    return getattr(returns_services, "return_request_create_from_warranty", None)


RETURNS_KIND = {rules.EXCHANGE: "exchange", rules.RETURN: "return_refund"}


def warranty_remedy_choose(*, card, remedy, actor, note=""):
    """The consumer takes a remedy the engine grants now: ``exchange`` or ``return`` (refund);
    returns the card (``pending_remedy``, ``return_request_id`` set).

    Checked against ``card_entitlements`` (G1, G2, G4–G8): anything else is refused with
    ``remedy_not_granted``; a refund whose depreciation cannot be computed (rate unknown, G8)
    with ``depreciation_rate_unknown``; a second choice while one is in the returns flow with
    ``remedy_already_chosen``. The request runs through the returns flow
    (``returns.services.return_request_create_from_warranty``, kind ``exchange`` or
    ``return_refund``, the granting rule and the refund — full for G1/G7, depreciated for G8).
    The open escalation of the card (G4–G6; opened now if the engine grants one and none is
    open) records the choice. When the returns flow completes, ``repairs.events`` ends the card:
    exchange → ``warranty_card_exchange`` (G10), refund → ``warranty_card_return``.
    """
    from .selectors import card_facts

    if remedy not in (rules.EXCHANGE, rules.RETURN):
        raise InvalidInput(
            "请选择换货或退货。",
            code="remedy_invalid",
            fields={"remedy": [rules.EXCHANGE, rules.RETURN]},
        )
    card = WarrantyCard.objects.get(pk=card.pk)
    _require_writer(
        actor, merchant_id=card.merchant_id, consumer_id=card.consumer_id, consumer_may=True
    )
    with transaction.atomic():
        card = _locked_card(card)
        if card.status != WarrantyCard.Status.ACTIVE:
            raise Conflict(
                "三包凭证已失效。", code="card_not_active", fields={"status": card.status}
            )
        if card.pending_remedy:
            raise Conflict(
                f"已选择{rules.KIND_LABELS[card.pending_remedy]}，正在处理中。",
                code="remedy_already_chosen",
                fields={"return_request_id": card.return_request_id},
            )
        ent = rules.entitlements(card_facts(card), clock.now())
        granted = ent.remedy(remedy)
        if granted is None:
            raise RuleViolation(
                f"当前不能{rules.KIND_LABELS[remedy]}：{ent.summary}",
                code="remedy_not_granted",
                fields={"remedies": ent.kinds},
            )
        if remedy == rules.RETURN and granted.refund is None:
            raise RuleViolation(
                "该类目日折旧率未设置，暂不能计算退款金额（G8）。",
                code=granted.refund_error or "depreciation_rate_unknown",
            )
        escalation = _escalation_for_choice(card, ent, actor=actor)
        create = _returns_entry()
        request_id = None
        if create is not None:
            request = create(
                line=card.order_line,
                kind=RETURNS_KIND[remedy],
                amount=granted.refund if remedy == rules.RETURN else Decimal("0.00"),
                rule=granted.rule,
                explanation=granted.explanation,
                # The engine granted it: the returns flow records it as the platform does.
                actor=actor if actor.platform_write else SYSTEM,
                quantity=1,
            )
            request_id = request.pk
        card.pending_remedy, card.return_request_id = remedy, request_id
        card.save(update_fields=["pending_remedy", "return_request_id"])
        refund = str(granted.refund) if granted.refund is not None else None
        data = {"remedy": remedy, "rule": granted.rule, "refund": refund}
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
        _publish("warranty_card.remedy_chosen", card, payload)
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
    return _escalation_open(
        card, repair=repair, rule=grant.rule, remedy=grant, actor=actor, ent=ent
    )


def warranty_remedy_release(*, card, actor, reason=""):
    """The returns request of a chosen remedy ended without completing (cancelled, rejected,
    closed): the consumer may choose again. Run by the returns subscriber (``SYSTEM``)."""
    _require_platform_write(actor)
    with transaction.atomic():
        card = _locked_card(card)
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


def warranty_cards_expire(*, actor, now=None, limit=1000):
    """Mark ``expired`` the active cards whose whole unit and every main part are out of
    period (G9, extended by repair days) and that have no open repair; returns how many.

    Cheap candidates first (started longer ago than their longest period), then the engine's
    exact end dates per candidate. Run daily by ``repairs.tasks.expire_warranty_cards``."""
    from .selectors import card_facts

    _require_platform_write(actor)
    now = now or clock.now()
    longest = max(
        [e.whole_unit_months for e in SanbaoCatalogEntry.objects.all()]
        + [p["months"] for e in SanbaoCatalogEntry.objects.all() for p in e.main_parts or []]
        + [1]
    )
    candidates = list(
        WarrantyCard.objects.filter(
            status=WarrantyCard.Status.ACTIVE, starts_at__lt=now - timedelta(days=28 * longest)
        )
        .exclude(repairs__status__in=RepairOrder.OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    expired = 0
    for pk in candidates:
        card = WarrantyCard(pk=pk)
        if all(c.ends_at <= now for c in rules.warranty_ends(card_facts(card), now)):
            with transaction.atomic():
                card = _locked_card(card)
                if card.status != WarrantyCard.Status.ACTIVE:
                    continue
                _card_move(card, to=WarrantyCard.Status.EXPIRED, actor=actor)
                _publish("warranty_card.expired", card, card_payload(card))
            expired += 1
    return expired


# -- the consumer's contact for an on-site visit (RULES.md D2, D3) --------------------------------

REPAIR_REVEAL_FIELDS = ("phone", "address")


def _visit_phone(repair):
    """The phone the provider calls: the order's delivery phone, else the consumer's own."""
    order = repair.order_line.order
    return order.ship_phone or repair.consumer.phone


def _visit_address(repair):
    """The full address of the unit (the order's delivery address, unit/room included)."""
    o = repair.order_line.order
    parts = (o.ship_province, o.ship_city, o.ship_district, o.ship_street, o.ship_unit)
    return "".join(p for p in parts if p)


def repair_consumer_contact_masked(repair):
    """The consumer's phone and address as merchants and providers see them (D2; the name is
    ``repair.consumer.masked_name``)."""
    from aftersales.pii import mask_phone

    return {
        "phone": mask_phone(_visit_phone(repair)),
        "address": repair.order_line.order.masked_ship_address,
    }


def repair_consumer_reveal_allowed(actor, repair):
    """May ``actor`` see the consumer's full phone and address of ``repair`` (RULES.md D2)?
    Only staff of the provider the repair is assigned to (holding its grant), only for an
    on-site repair (上门维修: they must call and visit) and only while it is open. Registered
    with ``aftersales.tenancy.reveal.pii_reveal_register``, so the kernel applies the same rule."""
    if not actor.is_provider or repair.provider_id is None:
        return False
    if actor.provider_id != repair.provider_id:
        return False
    if repair.service_mode != RepairOrder.ServiceMode.ON_SITE or not repair.is_open:
        return False
    return actor.user is not None and actor.user.has_perm(VIEW_PERM, repair)


def repair_consumer_reveal(*, repair, actor, fields=REPAIR_REVEAL_FIELDS, reason=""):
    """The consumer's full phone and/or address of an on-site repair, for the assigned
    provider's staff (``repair_consumer_reveal_allowed``); anyone else gets ``NotFound``, like
    ``pii_reveal``. A reason is required (``reveal_reason_required``). The showing is logged in
    ``PiiAccessLog`` by ``pii_reveal`` (who, what, when, why; RULES.md D3) and recorded on the
    repair's timeline (``repair.consumer_revealed``: the fields and the reason, never the
    values). Returns ``{field: value}``; callers must not store it."""
    from aftersales.tenancy.reveal import pii_reveal

    with transaction.atomic():
        locked = (
            RepairOrder.objects.select_for_update(of=("self",))
            .select_related("order_line__order", "consumer")
            .get(pk=repair.pk)
        )
        if not repair_consumer_reveal_allowed(actor, locked):
            raise NotFound()
        values = pii_reveal(actor=actor, subject=locked, fields=list(fields), reason=reason)
        timeline_record(
            subject=locked,
            verb="repair.consumer_revealed",
            actor=actor,
            reason=reason.strip()[:200],
            data={"number": locked.number, "fields": list(values)},
        )
    return values


def reveal_register():
    """Tell the kernel's ``pii_reveal`` which consumer fields of a repair order may be revealed
    and to whom (``RepairsConfig.ready``)."""
    from aftersales.tenancy.reveal import pii_reveal_register

    pii_reveal_register(
        RepairOrder._meta.label_lower,
        fields={"phone": _visit_phone, "address": _visit_address},
        allows=repair_consumer_reveal_allowed,
    )
