"""API for notifications (inbox, channel choice), webhooks (endpoints, deliveries, replay) and
inbound provider callbacks."""

import django_filters
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales.api.base import ActorViewMixin, no_store
from aftersales.api.routes import resource
from aftersales.errors import NotFound
from aftersales.messaging import callbacks, notifications, webhooks
from aftersales.messaging.kinds import MessageKind
from aftersales.messaging.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from aftersales.tenancy.scope import access

# -- serializers -------------------------------------------------------------------------------


class NotificationDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationDelivery
        fields = ["channel", "recipient", "status", "attempts", "error", "sent_at"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    deliveries = NotificationDeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "event",
            "kind",
            "language",
            "title",
            "body",
            "subject_type",
            "subject_id",
            "read_at",
            "created_at",
            "deliveries",
        ]
        read_only_fields = fields


class KindChannelsSerializer(serializers.Serializer):
    email = serializers.BooleanField(required=False)
    sms = serializers.BooleanField(required=False)


class NotificationPreferenceSerializer(serializers.ModelSerializer):
    in_app_enabled = serializers.SerializerMethodField(help_text=gettext_lazy("站内信始终开启。"))
    kinds = serializers.DictField(
        child=KindChannelsSerializer(),
        required=False,
        help_text=gettext_lazy("按消息类别选择的渠道；未列出的类别沿用邮件和短信的总开关。"),
    )

    class Meta:
        model = NotificationPreference
        fields = ["in_app_enabled", "email_enabled", "sms_enabled", "kinds", "updated_at"]
        read_only_fields = ["in_app_enabled", "updated_at"]

    def get_in_app_enabled(self, obj) -> bool:
        return True

    def validate_kinds(self, value):
        unknown = sorted(set(value) - set(MessageKind.values))
        if unknown:
            raise serializers.ValidationError(
                _("没有这一类消息：%(kinds)s") % {"kinds": ", ".join(unknown)}
            )
        return value


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.CharField(max_length=80), min_length=1)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "scope",
            "merchant",
            "url",
            "description",
            "event_types",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "scope",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "created_at",
        ]
        extra_kwargs = {"merchant": {"required": False, "allow_null": True}}


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text=gettext_lazy("签名密钥，仅显示一次。"))

    class Meta(WebhookEndpointSerializer.Meta):
        fields = WebhookEndpointSerializer.Meta.fields + ["secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "status_code", "error", "duration_ms", "at"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.SerializerMethodField()
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "replay_of",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields

    def get_event_id(self, obj) -> str:
        return f"evt_{obj.event_id}"


# -- notifications -----------------------------------------------------------------------------


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(method="filter_unread", label=gettext_lazy("仅未读"))

    class Meta:
        model = Notification
        fields = ["event", "kind"]

    def filter_unread(self, qs, name, value):
        if value is None:
            return qs
        return qs.filter(read_at__isnull=value)


class NotificationViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's own in-app inbox, newest first."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    def get_queryset(self):
        return notifications.notification_list(actor=self.actor)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        notification = notifications.notification_mark_read(
            notification=notification, actor=self.actor
        )
        return Response(NotificationSerializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": notifications.notification_mark_all_read(actor=self.actor)})


class NotificationPreferenceView(ActorViewMixin, APIView):
    """The caller's channels: in-app always; email; SMS."""

    def _user(self):
        user = self.actor.user
        if getattr(user, "pk", None) is None:
            raise NotFound()
        return user

    @extend_schema(responses=NotificationPreferenceSerializer)
    def get(self, request):
        return Response(
            NotificationPreferenceSerializer(notifications.preference_for(self._user())).data
        )

    @extend_schema(
        request=NotificationPreferenceSerializer, responses=NotificationPreferenceSerializer
    )
    def put(self, request):
        self._user()
        s = NotificationPreferenceSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        pref = notifications.notification_preference_update(actor=self.actor, **s.validated_data)
        return Response(NotificationPreferenceSerializer(pref).data)


# -- webhooks ----------------------------------------------------------------------------------


class WebhookEndpointViewSet(ActorViewMixin, viewsets.ModelViewSet):
    """Webhook endpoints of the caller's scope. A merchant key or owner sees and manages only
    its merchant's endpoints; anything else answers 404. The secret is returned once."""

    serializer_class = WebhookEndpointSerializer
    filterset_fields = ["is_active", "scope", "merchant"]
    http_method_names = ["get", "post", "patch", "put", "delete"]

    def get_queryset(self):
        return webhooks.webhook_endpoint_list(actor=self.actor)

    @extend_schema(
        request=WebhookEndpointSerializer, responses={201: WebhookEndpointCreatedSerializer}
    )
    def create(self, request):
        s = WebhookEndpointSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        endpoint, secret = webhooks.webhook_endpoint_create(
            actor=self.actor,
            url=d["url"],
            event_types=d["event_types"],
            description=d.get("description", ""),
            merchant=d.get("merchant"),
        )
        data = WebhookEndpointSerializer(endpoint).data | {"secret": secret}
        # The signing secret is shown once and stored nowhere else (not as an idempotent replay).
        return no_store(Response(data, status=status.HTTP_201_CREATED))

    def update(self, request, pk=None, partial=False):
        endpoint = self.get_object()
        s = WebhookEndpointSerializer(endpoint, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        endpoint = webhooks.webhook_endpoint_update(
            endpoint=endpoint,
            actor=self.actor,
            url=d.get("url"),
            event_types=d.get("event_types"),
            description=d.get("description"),
            is_active=d.get("is_active"),
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        webhooks.webhook_endpoint_delete(endpoint=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=WebhookEndpointCreatedSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint, secret = webhooks.webhook_endpoint_rotate_secret(
            endpoint=self.get_object(), actor=self.actor
        )
        return no_store(Response(WebhookEndpointSerializer(endpoint).data | {"secret": secret}))


class WebhookDeliveryViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The delivery log of the caller's endpoints, with every attempt; replay."""

    serializer_class = WebhookDeliverySerializer
    filterset_fields = ["status", "endpoint", "event_type"]

    def get_queryset(self):
        return webhooks.webhook_delivery_list(actor=self.actor)

    @extend_schema(request=None, responses={201: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = access(
            webhooks.webhook_delivery_list(actor=self.actor),
            self.actor,
            pk,
            merchant_field="endpoint__merchant_id",
            consumer_field=None,
        )
        replay = webhooks.webhook_delivery_replay(delivery=delivery, actor=self.actor)
        replay = webhooks.webhook_delivery_list(actor=self.actor).get(pk=replay.pk)
        return Response(WebhookDeliverySerializer(replay).data, status=status.HTTP_201_CREATED)


# -- inbound callbacks -------------------------------------------------------------------------


class CallbackView(APIView):
    """Signed callbacks from the payment, carrier and inspection adapters (no API key:
    ``X-Callback-Timestamp`` and ``X-Callback-Signature: v1=<hex>`` authenticate the body)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        request={"application/json": dict},
        parameters=[
            OpenApiParameter(
                callbacks.TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True
            ),
            OpenApiParameter(
                callbacks.SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True
            ),
        ],
        responses={
            200: inline_serializer(
                "CallbackAccepted",
                {"status": serializers.CharField(), "id": serializers.CharField()},
            )
        },
    )
    def post(self, request, provider):
        body = request.body
        callback, created = callbacks.callback_receive(
            provider=provider,
            timestamp=request.headers.get(callbacks.TIMESTAMP_HEADER),
            signature=request.headers.get(callbacks.SIGNATURE_HEADER),
            body=body,
        )
        return Response({"status": "accepted" if created else "duplicate", "id": callback.event_id})


urlpatterns = [
    path(
        "notification-preferences/",
        NotificationPreferenceView.as_view(),
        name="notification-preferences",
    ),
    path("callbacks/<slug:provider>/", CallbackView.as_view(), name="callback"),
    resource("notifications", NotificationViewSet, basename="notification"),
    resource("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint"),
    resource("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery"),
]
