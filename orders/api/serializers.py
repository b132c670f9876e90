"""Serializers of the orders API: parse input for one service, shape output.

Personal data is always masked here (RULES.md D2); unmasked values go through ``pii_reveal``.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.api.deadlines import DeadlineSerializer
from aftersales.api.serializers import AddressInputSerializer, stored_choice
from aftersales.deadlines.engine import deadlines_for_many
from aftersales.errors import NotFound
from aftersales.tenancy.actors import actor_from_request
from aftersales.tenancy.models import ConsumerProfile, Merchant
from aftersales.tenancy.scope import scoped

from .. import selectors
from ..models import (
    Category,
    NoReasonClass,
    Order,
    OrderLine,
    Payment,
    PriceChange,
    Product,
    Shipment,
    SignOff,
    Sku,
    Tender,
    TrackingEvent,
)

# -- references to other objects ---------------------------------------------------------------

REFERENCE_NOT_FOUND = "not_found"
"""The ``fields`` value of a body id that names no row the caller may see."""


class ReferenceIdField(serializers.IntegerField):
    """An id in a request body that the service looks up itself, in the statement that locks
    the row (no read before it): a well-formed id answers nothing here; one that can name no
    row answers 404 ``not_found`` as ``ScopedPrimaryKeyRelatedField`` does, and the service
    answers the same for an id out of the caller's scope."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not 0 < value < 2**63:
            raise NotFound(fields={self.field_name: REFERENCE_NOT_FOUND})
        return value


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id in a request body, looked up only among the rows the caller may see.

    A foreign id answers exactly like a nonexistent one: 404 ``not_found`` with the same
    message and ``fields`` (no id echoed), as ``aftersales.tenancy.scope.access`` does for URLs,
    so the API does not tell which ids exist (ARCHITECTURE.md "Tenancy"). ``visible(actor)`` returns
    the caller's queryset; ``queryset`` only names the model (for the schema).

    """

    def __init__(self, *, visible, **kwargs):
        self.visible = visible
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:  # no caller, no rows: fail closed
            return self.queryset.none()
        return self.visible(actor_from_request(request))

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            return self.get_queryset().get(pk=data)
        except ObjectDoesNotExist:
            raise NotFound(fields={self.field_name: REFERENCE_NOT_FOUND}) from None
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)


def _merchants(actor):
    return scoped(Merchant.objects.all(), actor, merchant_field="pk", consumer_field=None)


def _consumers(actor):
    return scoped(ConsumerProfile.objects.all(), actor, merchant_field=None, consumer_field="pk")


def _orders(actor):
    return scoped(Order.objects.all(), actor, grant_perm=selectors.ORDER_GRANT)


def _lines(actor):
    return scoped(
        OrderLine.objects.all(),
        actor,
        merchant_field="order__merchant_id",
        consumer_field="order__consumer_id",
    )


def _skus(actor):
    return selectors.sku_list(actor=actor).select_related("product__category")


def _products(actor):
    return selectors.product_list(actor=actor)


# -- catalog ------------------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    code = serializers.SlugField(max_length=40)
    no_reason_class = serializers.ChoiceField(choices=NoReasonClass.choices, required=False)

    class Meta:
        model = Category
        fields = [
            "id",
            "code",
            "name",
            "parent",
            "no_reason_class",
            "exclusion_reason",
            "needs_installation",
            "sanbao_code",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {"name": {"required": False}}


class ProductSerializer(serializers.ModelSerializer):
    merchant = ScopedPrimaryKeyRelatedField(
        queryset=Merchant.objects.all(),
        visible=_merchants,
        required=False,
        help_text=gettext_lazy("商家（商家密钥可省略，默认为本商家）。"),
    )

    class Meta:
        model = Product
        fields = [
            "id",
            "merchant",
            "category",
            "external_id",
            "name",
            "price_protection_days",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"category": {"required": False}, "name": {"required": False}}
        validators = []  # (merchant, external_id) is an upsert key, settled by the service


class PriceChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceChange
        fields = ["price", "effective_at"]
        read_only_fields = fields


class SkuSerializer(serializers.ModelSerializer):
    code = serializers.CharField(max_length=64, help_text=gettext_lazy("SKU 编码：已存在则更新"))
    product = ScopedPrimaryKeyRelatedField(
        queryset=Product.objects.all(), visible=_products, required=False
    )

    class Meta:
        model = Sku
        fields = ["id", "product", "code", "spec", "price", "stock"]
        read_only_fields = ["id"]
        extra_kwargs = {"price": {"required": False}, "stock": {"min_value": 0}}


class SkuDetailSerializer(SkuSerializer):
    price_history = PriceChangeSerializer(many=True, read_only=True)

    class Meta(SkuSerializer.Meta):
        fields = SkuSerializer.Meta.fields + ["price_history"]


class SkuPriceSerializer(serializers.Serializer):
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    effective_at = serializers.DateTimeField(required=False)


# -- orders -------------------------------------------------------------------------------------


class OrderListSerializer(serializers.ModelSerializer):
    """The lean row of the orders list (benchmarked): no lines, masked consumer name.

    ``to_representation`` builds the dict directly: the list runs on 100,000-order merchants.
    """

    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    consumer_name = serializers.CharField(read_only=True, help_text=gettext_lazy("脱敏姓名"))

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "merchant",
            "merchant_name",
            "consumer",
            "consumer_name",
            "total_amount",
            "placed_at",
            "paid_at",
            "delivered_at",
        ]
        read_only_fields = fields

    def to_representation(self, o):
        dt = serializers.DateTimeField().to_representation
        return {
            "id": o.id,
            "number": o.number,
            "status": o.status,
            "merchant": o.merchant_id,
            "merchant_name": o.merchant.name,
            "consumer": o.consumer_id,
            "consumer_name": o.consumer.masked_name,
            "total_amount": str(o.total_amount),
            "placed_at": dt(o.placed_at),
            "paid_at": dt(o.paid_at) if o.paid_at else None,
            "delivered_at": dt(o.delivered_at) if o.delivered_at else None,
        }


class OrderLineSerializer(serializers.ModelSerializer):
    sku_code = serializers.CharField(source="sku.code", read_only=True)
    no_reason_class = serializers.CharField(
        source="sku.product.category.no_reason_class", read_only=True
    )
    unsealed_via = stored_choice(
        OrderLine.UnsealedVia.choices,
        help_text=gettext_lazy("下载或拆封的记录来源（RULES.md R2；未拆封为空）"),
    )

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "sku",
            "sku_code",
            "product_name",
            "spec",
            "quantity",
            "unit_price",
            "discount_amount",
            "paid_amount",
            "no_reason_class",
            "exclusion_confirmed_at",
            "return_shipping_insured",
            "unsealed_at",
            "unsealed_via",
            "cancelled_at",
            "cancel_reason",
        ]
        read_only_fields = fields


class LineUnsealedSerializer(serializers.Serializer):
    """RULES.md R2: digital goods of a line were downloaded or unsealed."""

    line = serializers.IntegerField(help_text=gettext_lazy("订单行 id（须为数字化商品类目）"))
    occurred_at = serializers.DateTimeField(
        required=False, help_text=gettext_lazy("下载或拆封的时间（默认为现在）")
    )


class TenderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tender
        fields = ["id", "kind", "amount", "reference", "refunded_amount"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    tenders = TenderSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "order", "external_id", "status", "amount", "paid_at", "tenders"]
        read_only_fields = fields


class TrackingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = [
            "id",
            "kind",
            "occurred_at",
            "location",
            "description",
            "external_id",
            "recorded_at",
        ]
        read_only_fields = fields


class SignOffSerializer(serializers.ModelSerializer):
    signer_name = serializers.CharField(source="masked_signer_name", read_only=True)
    has_e_signature = serializers.BooleanField(read_only=True)

    class Meta:
        model = SignOff
        fields = ["signer_name", "signer_relation", "signed_at", "has_e_signature", "recorded_at"]
        read_only_fields = fields


class ShipmentSerializer(serializers.ModelSerializer):
    """A parcel with its whole trajectory, oldest first, and its sign-off (6.2.3)."""

    events = TrackingEventSerializer(many=True, read_only=True)
    sign_off = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "id",
            "order",
            "line",
            "merchant",
            "carrier",
            "tracking_number",
            "status",
            "purpose",
            "insured",
            "shipped_at",
            "last_event_at",
            "signed_at",
            "events",
            "sign_off",
        ]
        read_only_fields = fields

    @extend_schema_field(SignOffSerializer(allow_null=True))
    def get_sign_off(self, obj):
        try:
            return SignOffSerializer(obj.sign_off).data
        except SignOff.DoesNotExist:
            return None


class OrderDetailSerializer(serializers.ModelSerializer):
    """An order with lines, payments and tenders, parcels and their tracking timeline."""

    merchant_name = serializers.CharField(source="merchant.name", read_only=True)
    consumer_name = serializers.CharField(source="consumer.masked_name", read_only=True)
    ship_name = serializers.CharField(source="masked_ship_name", read_only=True)
    ship_phone = serializers.CharField(source="masked_ship_phone", read_only=True)
    ship_address = serializers.CharField(source="masked_ship_address", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    payments = PaymentSerializer(many=True, read_only=True)
    shipments = ShipmentSerializer(many=True, read_only=True)
    deadlines = serializers.SerializerMethodField(
        help_text=gettext_lazy("订单及其包裹待执行的期限：到期时间与届时将发生什么。")
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "merchant",
            "merchant_name",
            "consumer",
            "consumer_name",
            "total_amount",
            "placed_at",
            "paid_at",
            "delivered_at",
            "completed_at",
            "cancelled_at",
            "ship_name",
            "ship_phone",
            "ship_address",
            "lines",
            "payments",
            "shipments",
            "deadlines",
        ]
        read_only_fields = fields

    @extend_schema_field(DeadlineSerializer(many=True))
    def get_deadlines(self, obj):
        rows = deadlines_for_many([obj, *obj.shipments.all()])
        return DeadlineSerializer(rows, many=True, context=self.context).data


class OrderLineInputSerializer(serializers.Serializer):
    sku = ScopedPrimaryKeyRelatedField(queryset=Sku.objects.all(), visible=_skus)
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=gettext_lazy("默认为 SKU 现价"),
    )
    discount_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False
    )
    paid_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=gettext_lazy("= 数量 × 单价 − 分摊优惠；省略时自动计算"),
    )
    exclusion_confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy("消费者下单时确认该商品不适用七天无理由退货（RULES.md R3）"),
    )
    exclusion_confirmed_at = serializers.DateTimeField(required=False)
    return_shipping_insured = serializers.BooleanField(
        required=False,
        default=False,
        help_text=gettext_lazy(
            "消费者下单时购买了退货运费险：无理由退货的运费由保险公司赔付（RULES.md R8）"
        ),
    )


class OrderCreateSerializer(serializers.Serializer):
    merchant = ScopedPrimaryKeyRelatedField(
        queryset=Merchant.objects.all(), visible=_merchants, required=False
    )
    consumer = ScopedPrimaryKeyRelatedField(
        queryset=ConsumerProfile.objects.all(), visible=_consumers
    )
    number = serializers.CharField(max_length=40)
    placed_at = serializers.DateTimeField(required=False)
    order_discount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=gettext_lazy("订单级优惠，按行金额比例分摊"),
    )
    total_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        help_text=gettext_lazy("可选，校验等于各行实付之和"),
    )
    shipping = AddressInputSerializer(required=False)
    lines = OrderLineInputSerializer(many=True, allow_empty=False)


class ShippingPatchSerializer(AddressInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class OrderUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    occurred_at = serializers.DateTimeField(required=False)
    shipping = ShippingPatchSerializer(required=False)


class TenderInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Tender.Kind.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    reference = serializers.CharField(max_length=64, required=False, allow_blank=True)


class PaymentCreateSerializer(serializers.Serializer):
    order = ScopedPrimaryKeyRelatedField(queryset=Order.objects.all(), visible=_orders)
    external_id = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.ChoiceField(choices=Payment.Status.choices, default="succeeded")
    paid_at = serializers.DateTimeField(required=False)
    tenders = TenderInputSerializer(many=True, allow_empty=False)


class ShipmentCreateSerializer(serializers.Serializer):
    line = ScopedPrimaryKeyRelatedField(queryset=OrderLine.objects.all(), visible=_lines)
    carrier = serializers.CharField(max_length=40)
    tracking_number = serializers.CharField(max_length=64)
    shipped_at = serializers.DateTimeField(required=False)
    purpose = serializers.ChoiceField(choices=Shipment.Purpose.choices, default="outbound")


class TrackingEventCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TrackingEvent.Kind.choices)
    occurred_at = serializers.DateTimeField()
    location = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    external_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("承运商事件号；重复推送不会重复记录"),
    )


class SignOffCreateSerializer(serializers.Serializer):
    signer_name = serializers.CharField(max_length=60)
    signer_relation = serializers.ChoiceField(
        choices=["self", "family", "locker", "front_desk", "colleague", "other"], default="self"
    )
    signed_at = serializers.DateTimeField()
    e_signature = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("电子签名（data URL 或摘要）；高价值商品必填（6.2.3.1）"),
    )
