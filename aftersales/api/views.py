from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
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
    ConsumerSerializer,
    ConsumerUpdateSerializer,
    MerchantSerializer,
    MeSerializer,
    PiiRevealedSerializer,
    PiiRevealSerializer,
    PolicyVersionSerializer,
)
from aftersales.policies import policy_keys, policy_set
from aftersales.policies.models import PolicyVersion
from aftersales.tenancy import reveal, selectors, services


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
        parameters=[
            OpenApiParameter(
                "phone",
                str,
                description="按手机号查找（盲索引，不解密）。Find by phone (blind index).",
            )
        ]
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
        phone = self.request.query_params.get("phone")
        filters = {"phone": phone} if phone else None
        return selectors.consumer_list(actor=self.actor, filters=filters)

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
        summary="查看完整个人信息（记录查看日志）Reveal unmasked personal data (logged)",
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
                key: {"default": spec.default, "description": spec.description}
                for key, spec in policy_keys().items()
            }
        )
