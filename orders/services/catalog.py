"""The merchants' catalog: categories (三包 code, no-reason class), products, SKUs and their
price history.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied

from .. import rules
from ..models import Category, NoReasonClass, PriceChange, Product, Sku
from .common import clean_money, iso, require_merchant_write


def category_upsert(
    *,
    code,
    actor,
    name=None,
    parent=None,
    no_reason_class=None,
    exclusion_reason=None,
    needs_installation=None,
    sanbao_code=None,
):
    """Create the category ``code`` or change it; returns ``(category, created)``.

    Categories are platform reference data: only platform writers change them. The exclusion
    reason must match the no-reason class (RULES.md R2, R3).
    """
    if not actor.platform_write:
        if actor.platform_read:
            raise PermissionDenied(_("只读角色不能修改数据。"), code="read_only_role")
        raise PermissionDenied(_("只有平台可以维护类目。"))
    with transaction.atomic():
        category = Category.objects.select_for_update().filter(code=code).first()
        created = category is None
        if created:
            if not name:
                raise InvalidInput(
                    _("新类目需要名称。"), code="name_required", fields={"name": "required"}
                )
            category = Category(code=code)
        changes = {
            "name": name,
            "parent": parent,
            "no_reason_class": no_reason_class,
            "exclusion_reason": exclusion_reason,
            "needs_installation": needs_installation,
            "sanbao_code": sanbao_code,
        }
        for field, value in changes.items():
            if value is not None:
                setattr(category, field, value)
        if category.no_reason_class not in NoReasonClass.values:
            raise InvalidInput(
                _("无理由退货分类无效。"),
                code="no_reason_class_invalid",
                fields={"no_reason_class": NoReasonClass.values},
            )
        if category.no_reason_class == NoReasonClass.ALLOWED:
            category.exclusion_reason = ""
        if not rules.exclusion_reason_valid(category.no_reason_class, category.exclusion_reason):
            raise InvalidInput(
                _("不适用原因与无理由退货分类不符。"),
                code="exclusion_reason_invalid",
                fields={
                    "exclusion_reason": sorted(rules.EXCLUSION_REASONS[category.no_reason_class])
                },
            )
        if parent is not None and category.pk and parent.pk == category.pk:
            raise InvalidInput(
                _("类目不能以自己为上级。"), code="parent_invalid", fields={"parent": "self"}
            )
        category.save()
        timeline_record(
            subject=category,
            verb="category.created" if created else "category.updated",
            actor=actor,
            data={k: str(v) for k, v in changes.items() if v is not None},
        )
    return category, created


def product_upsert(
    *,
    merchant,
    actor,
    product=None,
    category=None,
    name=None,
    external_id="",
    price_protection_days=...,
    is_active=None,
):
    """Create or change a merchant's product; returns ``(product, created)``.

    With ``external_id`` (the shop's own id) a repeat updates the same product, so a shop can
    sync its catalog. ``price_protection_days`` is 7, 15 or 30, or ``None`` (RULES.md P2).
    """
    require_merchant_write(actor, merchant.pk)
    if price_protection_days is not ... and price_protection_days not in (None, 7, 15, 30):
        raise InvalidInput(
            _("价保天数只能是 7、15 或 30。"),
            code="price_protection_days_invalid",
            fields={"price_protection_days": [7, 15, 30]},
        )
    with transaction.atomic():
        if product is None and external_id:
            product = (
                Product.objects.select_for_update()
                .filter(merchant=merchant, external_id=external_id)
                .first()
            )
        elif product is not None:
            product = Product.objects.select_for_update().get(pk=product.pk)
            if product.merchant_id != merchant.pk:
                raise NotFound()
        created = product is None
        if created:
            if category is None or not name:
                raise InvalidInput(
                    _("新商品需要类目和名称。"),
                    code="product_incomplete",
                    fields={"category": "required", "name": "required"},
                )
            product = Product(merchant=merchant, external_id=external_id or "")
        if category is not None:
            product.category = category
        if name:
            product.name = name
        if price_protection_days is not ...:
            product.price_protection_days = price_protection_days
        if is_active is not None:
            product.is_active = is_active
        product.save()
        timeline_record(
            subject=product,
            verb="product.created" if created else "product.updated",
            actor=actor,
            data={"name": product.name, "category": product.category_id},
        )
    return product, created


def sku_upsert(*, product, code, actor, spec=None, price=None, stock=None, sku=None):
    """Create the SKU ``code`` of ``product`` or change it; returns ``(sku, created)``.

    A price change goes through ``sku_set_price`` so the price history is complete. Stock is a
    count of units on hand: never negative.
    """
    require_merchant_write(actor, product.merchant_id)
    if stock is not None and stock < 0:
        raise InvalidInput(
            _("库存不能为负。"),
            code="stock_negative",
            fields={"stock": "≥ 0"},
        )
    with transaction.atomic():
        if sku is None:
            sku = (
                Sku.objects.select_for_update().select_related("product").filter(code=code).first()
            )
        else:
            sku = Sku.objects.select_for_update().select_related("product").get(pk=sku.pk)
        created = sku is None
        if not created and sku.product.merchant_id != product.merchant_id:
            raise Conflict(
                _("SKU 编码已被使用。"),
                code="sku_code_taken",
                fields={"code": code},
            )
        if created:
            if price is None:
                raise InvalidInput(
                    _("新 SKU 需要价格。"), code="price_required", fields={"price": "required"}
                )
            price = clean_money(price, "price")
            if price < 0:
                raise InvalidInput(
                    _("价格不能为负。"), code="price_negative", fields={"price": "≥ 0"}
                )
            sku = Sku.objects.create(
                product=product, code=code, spec=spec or "", price=price, stock=stock or 0
            )
            PriceChange.objects.create(sku=sku, price=price, effective_at=clock.now())
            timeline_record(
                subject=sku,
                verb="sku.created",
                actor=actor,
                data={"code": code, "price": str(price)},
            )
            return sku, True
        sku.product = product
        if spec is not None:
            sku.spec = spec
        if stock is not None:
            sku.stock = stock
        sku.save()
        timeline_record(subject=sku, verb="sku.updated", actor=actor, data={"code": sku.code})
    if price is not None:
        sku_set_price(sku=sku, price=price, actor=actor)
        sku.refresh_from_db()
    return sku, False


def sku_set_price(*, sku, price, actor, effective_at=None):
    """Set a SKU's current price and record it in the price history (RULES.md P1–P6).

    Returns the ``PriceChange`` or ``None`` when the price did not change. Publishes
    ``sku.price_changed`` (price protection listens for drops).
    """
    price = clean_money(price, "price")
    if price < 0:
        raise InvalidInput(_("价格不能为负。"), code="price_negative", fields={"price": "≥ 0"})
    with transaction.atomic():
        sku = Sku.objects.select_for_update().select_related("product").get(pk=sku.pk)
        require_merchant_write(actor, sku.product.merchant_id)
        old = sku.price
        if old == price:
            return None
        when = effective_at or clock.now()
        sku.price = price
        sku.save(update_fields=["price"])
        change = PriceChange.objects.create(sku=sku, price=price, effective_at=when)
        timeline_record(
            subject=sku,
            verb="sku.price_changed",
            actor=actor,
            data={"from": str(old), "to": str(price)},
            occurred_at=when,
        )
        event_publish(
            "sku.price_changed",
            subject=sku,
            merchant_id=sku.product.merchant_id,
            payload={
                "sku_id": sku.pk,
                "product_id": sku.product_id,
                "old_price": str(old),
                "new_price": str(price),
                "effective_at": iso(when),
            },
        )
    return change
