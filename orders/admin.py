"""Staff console for catalog, orders, payments and logistics. Saves and actions call services;
consumer data is shown masked (RULES.md D2)."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from aftersales.errors import DomainError
from aftersales.tenancy.actors import actor_for_user

from . import rules, services
from .adapters import get_payment_gateway
from .adapters.carrier import SandboxCarrier
from .logistics import logistics_alert_resolve
from .models import (
    Category,
    ExclusionReason,
    GatewayRefund,
    LogisticsAlert,
    Order,
    OrderLine,
    Payment,
    PickupBooking,
    PriceChange,
    Product,
    Shipment,
    SignOff,
    Sku,
    Tender,
    TrackingEvent,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ServiceWrittenAdmin(admin.ModelAdmin):
    """Rows written only through services (API, carriers, gateway): staff read them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _run(modeladmin, request, fn, ok_message):
    try:
        fn()
    except DomainError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return False
    modeladmin.message_user(request, ok_message, messages.SUCCESS)
    return True


# -- catalog ------------------------------------------------------------------------------------


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "parent",
            "no_reason_class",
            "exclusion_reason",
            "needs_installation",
            "sanbao_code",
        ]

    def clean(self):
        data = super().clean()
        klass = data.get("no_reason_class")
        reason = data.get("exclusion_reason") or ""
        if klass == "allowed":
            data["exclusion_reason"] = ""
        elif klass and not rules.exclusion_reason_valid(klass, reason):
            labels = dict(ExclusionReason.choices)
            allowed = "、".join(str(labels[r]) for r in sorted(rules.EXCLUSION_REASONS[klass]))
            self.add_error(
                "exclusion_reason", _("该分类的不适用原因应为：%(allowed)s") % {"allowed": allowed}
            )
        return data


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = [
        "code",
        "name",
        "parent",
        "no_reason_class",
        "exclusion_reason",
        "needs_installation",
        "sanbao_code",
    ]
    list_filter = ["no_reason_class", "needs_installation"]
    search_fields = ["code", "name", "sanbao_code"]
    list_select_related = ["parent"]

    def save_model(self, request, obj, form, change):
        data = {
            f: form.cleaned_data.get(f)
            for f in (
                "name",
                "parent",
                "no_reason_class",
                "exclusion_reason",
                "needs_installation",
                "sanbao_code",
            )
        }
        category, _ = services.category_upsert(
            code=obj.code, actor=actor_for_user(request.user), **data
        )
        obj.pk = category.pk


class SkuInline(admin.TabularInline):
    model = Sku
    extra = 0
    fields = ["code", "spec", "price", "stock"]
    readonly_fields = ["price"]
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "merchant",
        "category",
        "external_id",
        "price_protection_days",
        "is_active",
        "created_at",
    ]
    list_filter = ["is_active", "category__no_reason_class", "price_protection_days", "merchant"]
    search_fields = ["name", "external_id", "skus__code"]
    list_select_related = ["merchant", "category"]
    autocomplete_fields = ["category"]
    raw_id_fields = ["merchant"]
    date_hierarchy = "created_at"
    inlines = [SkuInline]

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        product, _ = services.product_upsert(
            merchant=d["merchant"],
            product=obj if change else None,
            category=d.get("category"),
            name=d.get("name"),
            external_id=d.get("external_id") or "",
            price_protection_days=d.get("price_protection_days"),
            is_active=d.get("is_active"),
            actor=actor_for_user(request.user),
        )
        obj.pk = product.pk

    def save_formset(self, request, form, formset, change):
        actor = actor_for_user(request.user)
        for f in formset.forms:
            if not f.has_changed() or not f.cleaned_data or f.cleaned_data.get("DELETE"):
                continue
            d = f.cleaned_data
            services.sku_upsert(
                product=form.instance,
                code=d["code"],
                spec=d.get("spec", ""),
                stock=d.get("stock"),
                sku=f.instance if f.instance.pk else None,
                price=f.instance.price if not f.instance.pk else None,
                actor=actor,
            )


class PriceChangeInline(ReadOnlyInline):
    model = PriceChange
    fields = ["price", "effective_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Sku)
class SkuAdmin(admin.ModelAdmin):
    list_display = ["code", "product", "spec", "price", "stock"]
    search_fields = ["code", "spec", "product__name"]
    list_filter = ["product__merchant", "product__category"]
    list_select_related = ["product"]
    raw_id_fields = ["product"]
    inlines = [PriceChangeInline]

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        actor = actor_for_user(request.user)
        if change:
            sku, _ = services.sku_upsert(
                product=d["product"],
                code=obj.code,
                sku=obj,
                spec=d.get("spec"),
                stock=d.get("stock"),
                price=d.get("price"),
                actor=actor,
            )
        else:
            sku, _ = services.sku_upsert(
                product=d["product"],
                code=d["code"],
                spec=d.get("spec"),
                stock=d.get("stock"),
                price=d.get("price"),
                actor=actor,
            )
        obj.pk = sku.pk


@admin.register(PriceChange)
class PriceChangeAdmin(ServiceWrittenAdmin):
    list_display = ["sku", "price", "effective_at"]
    search_fields = ["sku__code", "sku__product__name"]
    list_select_related = ["sku__product"]
    date_hierarchy = "effective_at"


# -- orders -------------------------------------------------------------------------------------


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "product_name",
        "spec",
        "sku",
        "quantity",
        "unit_price",
        "discount_amount",
        "paid_amount",
        "exclusion_confirmed_at",
        "cancelled_at",
    ]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["external_id", "status", "amount", "paid_at"]
    readonly_fields = fields


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fk_name = "order"
    fields = [
        "line",
        "carrier",
        "tracking_number",
        "status",
        "insured",
        "shipped_at",
        "last_event_at",
        "signed_at",
    ]
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ServiceWrittenAdmin):
    list_display = [
        "number",
        "merchant",
        "consumer_masked",
        "status",
        "total_amount",
        "placed_at",
        "paid_at",
        "delivered_at",
        "recipient_masked",
        "phone_masked",
    ]
    list_filter = ["status", "merchant", ("delivered_at", admin.EmptyFieldListFilter)]
    search_fields = [
        "number",
        "lines__product_name",
        "consumer__user__username",
        "consumer__external_id",
    ]
    list_select_related = ["merchant", "consumer__user"]
    date_hierarchy = "placed_at"
    show_full_result_count = False
    fields = [
        "number",
        "merchant",
        "consumer_masked",
        "status",
        "total_amount",
        "placed_at",
        "paid_at",
        "delivered_at",
        "completed_at",
        "cancelled_at",
        "recipient_masked",
        "phone_masked",
        "address_masked",
    ]
    readonly_fields = fields
    inlines = [OrderLineInline, PaymentInline, ShipmentInline]
    actions = ["mark_completed", "mark_cancelled"]

    @admin.display(description=_("消费者"))
    def consumer_masked(self, obj):
        return obj.consumer.masked_name or obj.consumer.user.username

    @admin.display(description=_("收件人"))
    def recipient_masked(self, obj):
        return obj.masked_ship_name

    @admin.display(description=_("收件电话"))
    def phone_masked(self, obj):
        return obj.masked_ship_phone

    @admin.display(description=_("收货地址"))
    def address_masked(self, obj):
        return obj.masked_ship_address

    def _move(self, request, queryset, to):
        actor = actor_for_user(request.user)
        done = 0
        for order in queryset:
            done += _run(
                self,
                request,
                lambda o=order: services.order_update(
                    order=o, status=to, actor=actor, reason="admin"
                ),
                _("订单 %(number)s 已变更为“%(status)s”。")
                % {"number": order.number, "status": Order.Status(to).label},
            )
        return done

    @admin.action(description=_("标记为已完成"))
    def mark_completed(self, request, queryset):
        self._move(request, queryset, "completed")

    @admin.action(description=_("取消订单（仅未发货）"))
    def mark_cancelled(self, request, queryset):
        self._move(request, queryset, "cancelled")


@admin.register(OrderLine)
class OrderLineAdmin(ServiceWrittenAdmin):
    list_display = [
        "id",
        "order",
        "product_name",
        "spec",
        "quantity",
        "unit_price",
        "discount_amount",
        "paid_amount",
        "exclusion_confirmed_at",
        "cancelled_at",
    ]
    list_filter = [
        ("exclusion_confirmed_at", admin.EmptyFieldListFilter),
        ("cancelled_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["order__number", "product_name", "sku__code"]
    list_select_related = ["order"]


class TenderInline(ReadOnlyInline):
    model = Tender
    fields = ["kind", "amount", "refunded_amount", "reference"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Payment)
class PaymentAdmin(ServiceWrittenAdmin):
    list_display = ["external_id", "order", "status", "amount", "paid_at"]
    list_filter = ["status", "tenders__kind"]
    search_fields = ["external_id", "order__number"]
    list_select_related = ["order"]
    date_hierarchy = "paid_at"
    inlines = [TenderInline]


@admin.register(Tender)
class TenderAdmin(ServiceWrittenAdmin):
    list_display = ["id", "payment", "kind", "amount", "refunded_amount", "reference"]
    list_filter = ["kind"]
    search_fields = ["payment__external_id", "payment__order__number", "reference"]
    list_select_related = ["payment"]


# -- logistics ----------------------------------------------------------------------------------


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    fields = ["occurred_at", "kind", "location", "description", "external_id", "recorded_at"]
    readonly_fields = fields
    show_change_link = False
    ordering = ["occurred_at", "id"]


class SignOffInline(admin.StackedInline):
    model = SignOff
    extra = 0
    can_delete = False
    fields = [
        "signer_masked",
        "signer_relation",
        "signed_at",
        "has_e_signature",
        "recorded_by",
        "recorded_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("签收人"))
    def signer_masked(self, obj):
        return obj.masked_signer_name

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(ServiceWrittenAdmin):
    list_display = [
        "tracking_number",
        "carrier",
        "order",
        "status",
        "purpose",
        "insured",
        "shipped_at",
        "last_event_at",
        "signed_at",
    ]
    list_filter = ["status", "carrier", "purpose", "insured", "merchant"]
    search_fields = ["tracking_number", "order__number"]
    list_select_related = ["order"]
    date_hierarchy = "shipped_at"
    inlines = [TrackingEventInline, SignOffInline]
    actions = ["simulate_journey"]

    @admin.action(description=_("沙箱：模拟物流轨迹"))
    def simulate_journey(self, request, queryset):
        carrier = SandboxCarrier()
        for shipment in queryset.exclude(status="signed"):
            carrier.schedule_step(shipment.pk, shipment.events.count())
        self.message_user(request, _("已安排模拟轨迹。"), messages.SUCCESS)


@admin.register(TrackingEvent)
class TrackingEventAdmin(ServiceWrittenAdmin):
    list_display = ["shipment", "kind", "occurred_at", "location", "external_id", "recorded_at"]
    list_filter = ["kind"]
    search_fields = ["shipment__tracking_number", "external_id", "location"]
    list_select_related = ["shipment"]
    date_hierarchy = "occurred_at"


@admin.register(SignOff)
class SignOffAdmin(ServiceWrittenAdmin):
    list_display = ["shipment", "signer_masked", "signer_relation", "signed_at", "has_e_signature"]
    list_filter = ["signer_relation"]
    search_fields = ["shipment__tracking_number"]
    list_select_related = ["shipment"]
    exclude = ["signer_name", "e_signature"]
    date_hierarchy = "signed_at"

    @admin.display(description=_("签收人"))
    def signer_masked(self, obj):
        return obj.masked_signer_name

    @admin.display(description=_("电子签名"), boolean=True)
    def has_e_signature(self, obj):
        return obj.has_e_signature


@admin.register(GatewayRefund)
class GatewayRefundAdmin(ServiceWrittenAdmin):
    list_display = [
        "request_id",
        "order",
        "tender",
        "amount",
        "status",
        "attempts",
        "gateway",
        "gateway_ref",
        "requested_at",
        "settled_at",
        "failure_reason",
    ]
    list_filter = ["status", "gateway", "tender__kind"]
    search_fields = ["request_id", "gateway_ref", "order__number"]
    list_select_related = ["order", "tender"]
    date_hierarchy = "requested_at"
    actions = ["resubmit"]

    @admin.action(description=_("重新提交处理中的退款"))
    def resubmit(self, request, queryset):
        gateway = get_payment_gateway()
        for refund in queryset.filter(status="pending"):
            gateway.submit_refund(refund.pk)
        self.message_user(request, _("已重新提交。"), messages.SUCCESS)


@admin.register(PickupBooking)
class PickupBookingAdmin(ServiceWrittenAdmin):
    list_display = [
        "request_id",
        "carrier",
        "slot_start",
        "slot_end",
        "status",
        "tracking_number",
        "contact_masked",
        "address_masked",
        "requested_at",
    ]
    list_filter = ["status", "carrier"]
    search_fields = ["request_id", "tracking_number"]
    exclude = ["contact_name", "contact_phone", "street"]
    date_hierarchy = "slot_start"

    @admin.display(description=_("联系人"))
    def contact_masked(self, obj):
        return f"{obj.masked_contact_name} {obj.masked_contact_phone}"

    @admin.display(description=_("地址"))
    def address_masked(self, obj):
        return obj.masked_address


@admin.register(LogisticsAlert)
class LogisticsAlertAdmin(admin.ModelAdmin):
    """The platform's logistics queue (standard 6.2.1.2)."""

    list_display = [
        "raised_at",
        "reason",
        "status",
        "merchant",
        "carrier",
        "tracking_number",
        "order_id",
        "last_event_at",
    ]
    list_filter = ["status", "reason", "merchant"]
    search_fields = ["tracking_number", "=order_id", "=shipment_id"]
    list_select_related = ["merchant"]
    readonly_fields = [f.name for f in LogisticsAlert._meta.fields]
    actions = ["resolve_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("标记为已解决"))
    def resolve_selected(self, request, queryset):
        actor = actor_for_user(request.user)
        for alert in queryset.filter(status=LogisticsAlert.Status.OPEN):
            logistics_alert_resolve(alert=alert, actor=actor, note=str(_("平台物流专员已处理")))
        self.message_user(request, _("已处理。"), messages.SUCCESS)
