from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.api.base import (
    ActorViewMixin,
    no_store,
    require_platform_read,
    require_platform_write,
)
from aftersales.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    ConsumerCreateSerializer,
    ConsumerLookupResultSerializer,
    ConsumerLookupSerializer,
    ConsumerSerializer,
    ConsumerUpdateSerializer,
    MerchantSerializer,
    MeSerializer,
    PiiRevealedSerializer,
    PiiRevealSerializer,
    PolicyVersionSerializer,
)
from aftersales.errors import InvalidInput
from aftersales.policies import policy_keys, policy_set
from aftersales.policies.models import PolicyVersion
from aftersales.tenancy import reveal, selectors, services

LOOKUP_LIMIT = 20  # consumers answered for one phone (a phone belongs to one person or few)


class MeView(ActorViewMixin, APIView):
    """Who the caller is: role, merchant, consumer, platform groups."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        a = self.actor
        return Response(
            MeSerializer(
                {
                    "kind": a.kind,
                    "label": a.label,
                    "merchant_id": a.merchant_id,
                    "consumer_id": a.consumer_id,
                    "groups": sorted(a.groups),
                }
            ).data
        )


class MerchantViewSet(
    ActorViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Merchants. Platform staff and platform keys create and edit; merchants read their own."""

    serializer_class = MerchantSerializer
    search_fields = ["code", "name"]
    filterset_fields = ["is_active"]

    def get_queryset(self):
        return selectors.merchant_list(actor=self.actor)

    def perform_create(self, serializer):
        require_platform_write(self.actor)
        serializer.instance = services.merchant_create(
            actor=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer):
        require_platform_write(self.actor)
        serializer.instance = services.merchant_update(
            merchant=serializer.instance, actor=self.actor, **serializer.validated_data
        )


@extend_schema_view(
    list=extend_schema(
        description=gettext_lazy(
            "消费者列表（姓名、手机号已脱敏）。按手机号查找请用 POST /consumers/lookup/："
            "网址会写入访问日志，手机号不能放在网址中（?phone= 答复 400 phone_in_query）。"
        )
    )
)
class ConsumerViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Consumers, masked. Integrators with a platform key create and update them."""

    serializer_class = ConsumerSerializer
    search_fields = ["user__username", "external_id"]
    filterset_fields = ["external_id"]

    def get_queryset(self):
        return selectors.consumer_list(actor=self.actor)

    def list(self, request, *args, **kwargs):
        if "phone" in request.query_params:
            raise InvalidInput(
                _(
                    "手机号不能放在网址中（网址会写入访问日志）；请在请求体中 POST 到 "
                    "/api/v1/consumers/lookup/。"
                ),
                code="phone_in_query",
                fields={"phone": "POST /api/v1/consumers/lookup/"},
            )
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ConsumerLookupSerializer,
        responses=ConsumerLookupResultSerializer,
        summary=gettext_lazy("按手机号查找消费者"),
        description=gettext_lazy(
            "手机号在请求体中（不进网址和访问日志），按盲索引查找、不解密；"
            "结果已脱敏，范围同列表（消费者只能找到自己，商家找不到）。"
        ),
    )
    @action(detail=False, methods=["post"], pagination_class=None, filter_backends=[])
    def lookup(self, request):
        s = ConsumerLookupSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        found = selectors.consumer_list(actor=self.actor, filters=s.validated_data)
        rows = ConsumerSerializer(found.order_by("pk")[:LOOKUP_LIMIT], many=True).data
        return no_store(Response({"results": rows}))

    @extend_schema(request=ConsumerCreateSerializer, responses={201: ConsumerSerializer})
    def create(self, request):
        require_platform_write(self.actor)
        s = ConsumerCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        profile = services.consumer_create(actor=self.actor, **s.validated_data)
        return Response(ConsumerSerializer(profile).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConsumerUpdateSerializer, responses=ConsumerSerializer)
    def partial_update(self, request, pk=None):
        require_platform_write(self.actor)
        consumer = selectors.consumer_get(actor=self.actor, pk=pk)
        s = ConsumerUpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        consumer = services.consumer_update(consumer=consumer, actor=self.actor, **s.validated_data)
        return Response(ConsumerSerializer(consumer).data)

    @extend_schema(
        request=PiiRevealSerializer,
        responses=PiiRevealedSerializer,
        summary=gettext_lazy("查看完整个人信息（记录查看日志）"),
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """Platform staff (with a reason) or the consumer themself; merchants get 404."""
        consumer = selectors.consumer_get(actor=self.actor, pk=pk)
        s = PiiRevealSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        values = reveal.pii_reveal(actor=self.actor, subject=consumer, **s.validated_data)
        return no_store(Response({"id": consumer.pk, "values": values}))


class ApiKeyViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Integrator keys: platform staff issue and revoke them; a key sees itself."""

    serializer_class = ApiKeySerializer
    filterset_fields = ["scope", "merchant"]

    def get_queryset(self):
        return selectors.api_key_list(actor=self.actor)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        require_platform_write(self.actor)
        s = ApiKeyCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        key, raw = services.api_key_create(actor=self.actor, **s.validated_data)
        data = ApiKeySerializer(key).data | {"key": raw}
        # The raw key is shown once and stored nowhere, not even as an idempotent replay.
        return no_store(Response(data, status=status.HTTP_201_CREATED))

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        require_platform_write(self.actor)
        key = self.get_object()
        key = services.api_key_revoke(
            api_key=key, actor=self.actor, reason=request.data.get("reason", "")
        )
        return Response(ApiKeySerializer(key).data)


class PolicyViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Policy versions (RULES.md **policy** values). Platform staff read; writers add versions."""

    serializer_class = PolicyVersionSerializer
    filterset_fields = ["key", "scope", "scope_id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PolicyVersion.objects.none()
        require_platform_read(self.actor)
        return PolicyVersion.objects.all()

    def perform_create(self, serializer):
        require_platform_write(self.actor)
        d = serializer.validated_data
        serializer.instance = policy_set(
            key=d["key"],
            value=d["value"],
            scope=d.get("scope", "platform"),
            scope_id=d.get("scope_id"),
            note=d.get("note", ""),
            actor=self.actor,
        )

    @extend_schema(responses={200: dict})
    @action(detail=False, methods=["get"])
    def defaults(self, request):
        require_platform_read(self.actor)
        return Response(
            {
                key: {"default": spec.default, "description": str(spec.description)}
                for key, spec in policy_keys().items()
            }
        )
