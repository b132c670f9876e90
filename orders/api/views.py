"""Viewsets of catalog, orders, payments and shipments: parse, call one service, shape."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.response import Response

from aftersales.api.base import IDEMPOTENCY_PARAMETER, ActorViewMixin
from aftersales.errors import InvalidInput
from aftersales.tenancy.models import Merchant

from .. import selectors, services
from . import filters
from .serializers import (
    CategorySerializer,
    LineUnsealedSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderListSerializer,
    OrderUpdateSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
    ProductSerializer,
    ShipmentCreateSerializer,
    ShipmentSerializer,
    SignOffCreateSerializer,
    SkuDetailSerializer,
    SkuPriceSerializer,
    SkuSerializer,
    TrackingEventCreateSerializer,
    TrackingEventSerializer,
)

READ_WRITE = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


def _merchant_for(actor, merchant):
    """The merchant a write is for: given, or the caller's own (merchant staff and keys)."""
    if merchant is not None:
        return merchant
    if actor.merchant_id is not None:
        return Merchant.objects.get(pk=actor.merchant_id)
    raise InvalidInput(_("请指定商家。"), code="merchant_required", fields={"merchant": "required"})


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=CategorySerializer,
        responses={200: CategorySerializer, 201: CategorySerializer},
        description=gettext_lazy("按 code 新建或更新类目（仅平台）。"),
    ),
    partial_update=extend_schema(request=CategorySerializer, responses=CategorySerializer),
)
class CategoryViewSet(ActorViewMixin, *READ_WRITE):
    """Categories with their no-reason-return class (RULES.md R1–R4). Platform writers edit."""

    serializer_class = CategorySerializer
    filterset_fields = ["no_reason_class", "needs_installation", "parent"]
    search_fields = ["code", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.category_list(actor=self.actor).order_by("id")

    def create(self, request):
        s = CategorySerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        category, created = services.category_upsert(actor=self.actor, **s.validated_data)
        return Response(
            CategorySerializer(category).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def partial_update(self, request, pk=None):
        category = self.get_object()
        s = CategorySerializer(category, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        data.pop("code", None)
        category, _ = services.category_upsert(actor=self.actor, code=category.code, **data)
        return Response(CategorySerializer(category).data)


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ProductSerializer,
        responses={200: ProductSerializer, 201: ProductSerializer},
        description=gettext_lazy(
            "新建商品；带 external_id 时按 (商家, external_id) 更新已有商品。"
        ),
    ),
    partial_update=extend_schema(request=ProductSerializer, responses=ProductSerializer),
)
class ProductViewSet(ActorViewMixin, *READ_WRITE):
    """Products. Platform writers for any merchant, merchant staff and keys for their own."""

    serializer_class = ProductSerializer
    filterset_class = filters.ProductFilter
    search_fields = ["name", "external_id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.product_list(actor=self.actor).order_by("-id")

    def create(self, request):
        s = ProductSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        merchant = _merchant_for(self.actor, d.pop("merchant", None))
        product, created = services.product_upsert(merchant=merchant, actor=self.actor, **d)
        return Response(
            ProductSerializer(product).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def partial_update(self, request, pk=None):
        product = self.get_object()
        s = ProductSerializer(
            product, data=request.data, partial=True, context={"request": request}
        )
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        d.pop("merchant", None)
        d.pop("external_id", None)
        product, _ = services.product_upsert(
            merchant=product.merchant, product=product, actor=self.actor, **d
        )
        return Response(ProductSerializer(product).data)


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=SkuSerializer,
        responses={200: SkuSerializer, 201: SkuSerializer},
        description=gettext_lazy("按 SKU 编码新建或更新；价格变化记入价格历史。"),
    ),
    partial_update=extend_schema(request=SkuSerializer, responses=SkuSerializer),
    retrieve=extend_schema(responses=SkuDetailSerializer),
)
class SkuViewSet(ActorViewMixin, *READ_WRITE):
    """SKUs with their price history."""

    serializer_class = SkuSerializer
    filterset_class = filters.SkuFilter
    search_fields = ["code", "spec", "product__name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        qs = selectors.sku_list(actor=self.actor).order_by("-id")
        if self.action == "retrieve":
            qs = qs.prefetch_related("price_history")
        return qs

    def get_serializer_class(self):
        return SkuDetailSerializer if self.action == "retrieve" else SkuSerializer

    def create(self, request):
        s = SkuSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        product = d.pop("product", None)
        if product is None:
            raise InvalidInput(
                _("请指定商品。"), code="product_required", fields={"product": "required"}
            )
        sku, created = services.sku_upsert(product=product, actor=self.actor, **d)
        return Response(
            SkuSerializer(sku).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def partial_update(self, request, pk=None):
        sku = self.get_object()
        s = SkuSerializer(sku, data=request.data, partial=True, context={"request": request})
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        product = d.pop("product", None) or sku.product
        d.pop("code", None)
        sku, _ = services.sku_upsert(product=product, sku=sku, code=sku.code, actor=self.actor, **d)
        return Response(SkuSerializer(sku).data)

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=SkuPriceSerializer,
        responses=SkuDetailSerializer,
    )
    @action(detail=True, methods=["post"])
    def price(self, request, pk=None):
        """Set the SKU's price; the change is kept in its price history."""
        sku = self.get_object()
        s = SkuPriceSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.sku_set_price(sku=sku, actor=self.actor, **s.validated_data)
        sku = selectors.sku_list(actor=self.actor).prefetch_related("price_history").get(pk=sku.pk)
        return Response(SkuDetailSerializer(sku).data)


ORDER_CREATE_EXAMPLE = OpenApiExample(
    gettext_lazy("两行订单，一行已确认不适用无理由退货"),
    request_only=True,
    value={
        "merchant": 1,
        "consumer": 12,
        "number": "SO202611280001",
        "placed_at": "2026-11-28T10:15:00+08:00",
        "shipping": {
            "recipient": "张三",  # i18n-exempt: example data
            "phone": "13812345678",
            "province": "上海市",  # i18n-exempt: example data
            "city": "上海市",  # i18n-exempt: example data
            "district": "浦东新区",  # i18n-exempt: example data
            "street": "世纪大道 100 号",  # i18n-exempt: example data
            "unit": "8 号楼 1201 室",  # i18n-exempt: example data
        },
        "lines": [
            {
                "sku": 31,
                "quantity": 1,
                "unit_price": "5999.00",
                "discount_amount": "200.00",
                "paid_amount": "5799.00",
            },
            {
                "sku": 42,
                "quantity": 2,
                "unit_price": "39.90",
                "discount_amount": "0.00",
                "paid_amount": "79.80",
                "exclusion_confirmed": True,
            },
        ],
        "total_amount": "5878.80",
    },
)

TRACKING_EVENT_EXAMPLE = OpenApiExample(
    gettext_lazy("承运商推送派送中节点"),
    request_only=True,
    value={
        "kind": "out_for_delivery",
        "occurred_at": "2026-11-29T08:40:00+08:00",
        "location": "上海市浦东新区张江营业部",  # i18n-exempt: example data
        "description": "快递员正在派送",  # i18n-exempt: example data
        "external_id": "SF-EV-778812",
    },
)


@extend_schema_view(
    list=extend_schema(
        responses=OrderListSerializer(many=True),
        description=gettext_lazy("订单列表（最新的在前，游标分页）。"),
    ),
    retrieve=extend_schema(responses=OrderDetailSerializer),
)
class OrderViewSet(ActorViewMixin, *READ_WRITE):
    """Orders: lines, payments and tenders, parcels with their tracking timeline (6.2)."""

    filterset_class = filters.OrderFilter
    filter_backends = [DjangoFilterBackend]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if self.action == "list":
            return selectors.order_list_lean(actor=self.actor)
        return selectors.order_detail_queryset(actor=self.actor).order_by("-id")

    def get_serializer_class(self):
        return OrderListSerializer if self.action == "list" else OrderDetailSerializer

    def _detail(self, order):
        return OrderDetailSerializer(selectors.order_get(actor=self.actor, pk=order.pk)).data

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=OrderCreateSerializer,
        responses={201: OrderDetailSerializer},
        examples=[ORDER_CREATE_EXAMPLE],
        description=gettext_lazy(
            "记录平台商城系统的订单：仅平台 API 密钥和有写权限的平台员工可调用；"
            "商家员工和商家密钥得到 403 order_create_platform_only。"
        ),
    )
    def create(self, request):
        # Before reading the body: a refused caller must not learn which ids exist.
        services.require_order_create(self.actor)
        s = OrderCreateSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        merchant = _merchant_for(self.actor, d.pop("merchant", None))
        order = services.order_create(merchant=merchant, actor=self.actor, **d)
        return Response(self._detail(order), status=status.HTTP_201_CREATED)

    @extend_schema(request=OrderUpdateSerializer, responses=OrderDetailSerializer)
    def partial_update(self, request, pk=None):
        order = self.get_object()
        s = OrderUpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        order = services.order_update(order=order, actor=self.actor, **s.validated_data)
        return Response(self._detail(order))

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=LineUnsealedSerializer,
        responses=OrderDetailSerializer,
        description=gettext_lazy(
            "记录数字化商品（音像制品、软件）已下载或拆封（RULES.md R2）：此后该行不适用"
            "七天无理由退货。消费者本人调用即为其确认；商家或平台调用即为下载记录。"
        ),
    )
    @action(detail=True, methods=["post"])
    def unsealed(self, request, pk=None):
        order = self.get_object()
        s = LineUnsealedSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        line = order.lines.filter(pk=s.validated_data["line"]).first()
        if line is None:
            raise InvalidInput(
                _("该订单没有此订单行。"), code="line_invalid", fields={"line": "not_in_order"}
            )
        services.line_unsealed_record(
            line=line, actor=self.actor, occurred_at=s.validated_data.get("occurred_at")
        )
        return Response(self._detail(order))


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer},
    ),
)
class PaymentViewSet(ActorViewMixin, mixins.CreateModelMixin, *READ_WRITE):
    """Payments and their tenders (RULES.md R7)."""

    serializer_class = PaymentSerializer
    filterset_class = filters.PaymentFilter

    def get_queryset(self):
        return selectors.payment_list(actor=self.actor)

    def create(self, request):
        s = PaymentCreateSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        payment = services.payment_record(actor=self.actor, **s.validated_data)
        payment = selectors.payment_list(actor=self.actor).get(pk=payment.pk)
        return Response(PaymentSerializer(payment).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ShipmentCreateSerializer,
        responses={201: ShipmentSerializer},
    ),
)
class ShipmentViewSet(ActorViewMixin, mixins.CreateModelMixin, *READ_WRITE):
    """Parcels per order line, their tracking events and sign-off (6.2.1, 6.2.3)."""

    serializer_class = ShipmentSerializer
    filterset_class = filters.ShipmentFilter
    filter_backends = [DjangoFilterBackend, SearchFilter]
    search_fields = ["tracking_number", "order__number"]

    def get_queryset(self):
        return selectors.shipment_list(actor=self.actor)

    def _fresh(self, shipment):
        return ShipmentSerializer(selectors.shipment_get(actor=self.actor, pk=shipment.pk)).data

    def create(self, request):
        s = ShipmentCreateSerializer(data=request.data, context={"request": request})
        s.is_valid(raise_exception=True)
        shipment = services.shipment_create(actor=self.actor, **s.validated_data)
        return Response(self._fresh(shipment), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=TrackingEventCreateSerializer,
        responses={201: TrackingEventSerializer, 200: TrackingEventSerializer},
        examples=[TRACKING_EVENT_EXAMPLE],
        description=_(
            "追加物流轨迹节点。每个节点有自己的 occurred_at；可乱序到达；"
            "相同 external_id 重复推送返回 200 且不重复记录。"
        ),
    )
    @action(detail=True, methods=["post"])
    def events(self, request, pk=None):
        shipment = self.get_object()
        s = TrackingEventCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        event, created = services.tracking_event_record(
            shipment=shipment, actor=self.actor, **s.validated_data
        )
        return Response(
            TrackingEventSerializer(event).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=SignOffCreateSerializer,
        responses={201: ShipmentSerializer},
        description=_("记录签收（签收人、关系、时间）；高价值商品须电子签名（6.2.3.1）。"),
    )
    @action(detail=True, methods=["post"], url_path="sign-off")
    def sign_off(self, request, pk=None):
        shipment = self.get_object()
        s = SignOffCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.sign_off_record(shipment=shipment, actor=self.actor, **s.validated_data)
        return Response(self._fresh(shipment), status=status.HTTP_201_CREATED)
