"""Deadlines, logistics alerts and the sandbox clock over the API (issue 3).

``GET /api/v1/deadlines/`` — what is due (platform staff: all; merchant staff and keys: their
merchant's). ``GET /api/v1/logistics-alerts/`` — scoped by role. ``/api/v1/sandbox/clock/``
exists only when ``settings.SANDBOX`` is on.
"""

from datetime import timedelta

from django.conf import settings
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from aftersales import clock
from aftersales.api.base import (
    IDEMPOTENCY_PARAMETER,
    ActorViewMixin,
    require_platform_read,
    require_platform_write,
)
from aftersales.api.pagination import IdCursorPagination
from aftersales.api.routes import resource
from aftersales.api.serializers import ZonedDateTimeField
from aftersales.deadlines.models import ClockOffset, Deadline
from aftersales.deadlines.registry import deadline_description
from aftersales.deadlines.sandbox import sandbox_clock_move
from aftersales.errors import InvalidInput, NotFound
from aftersales.tenancy.scope import scoped


class DeadlineSerializer(serializers.ModelSerializer):
    description = serializers.SerializerMethodField(help_text=gettext_lazy("到期时将发生什么。"))
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Deadline
        fields = [
            "id",
            "subject_type",
            "subject_id",
            "merchant",
            "kind",
            "description",
            "due_at",
            "state",
            "overdue",
            "result",
            "policy_key",
            "policy_version_id",
            "attempts",
            "last_error",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields

    def get_description(self, obj) -> str:
        return deadline_description(obj.kind)

    def get_overdue(self, obj) -> bool:
        now = self.context.get("now") or clock.now()
        return obj.state == Deadline.State.PENDING and obj.due_at <= now


class DueOrderPagination(IdCursorPagination):
    ordering = ("due_at", "id")


def _flag(value):
    return str(value).lower() in {"1", "true", "yes", "on"}


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "overdue", OpenApiTypes.BOOL, description=gettext_lazy("只看已过期未执行的。")
            ),
            OpenApiParameter(
                "due_within_hours",
                OpenApiTypes.NUMBER,
                description=gettext_lazy("只看 N 小时内到期的待执行期限。"),
            ),
            OpenApiParameter("kind", str),
            OpenApiParameter("merchant", int),
            OpenApiParameter("state", str, enum=Deadline.State.values),
            OpenApiParameter("subject_type", str),
            OpenApiParameter("subject_id", int),
        ]
    )
)
class DeadlineViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Deadlines, soonest first: what is due, when, and what will happen then."""

    serializer_class = DeadlineSerializer
    pagination_class = DueOrderPagination

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": self._now}

    @property
    def _now(self):
        if not hasattr(self, "_now_cached"):
            self._now_cached = clock.now()
        return self._now_cached

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no clock
            return Deadline.objects.none()
        actor = self.actor
        qs = scoped(Deadline.objects.all(), actor, consumer_field=None)
        params = self.request.query_params
        now = self._now
        if "state" in params:
            if params["state"] not in Deadline.State.values:
                raise InvalidInput(
                    _("未知状态。"),
                    code="filter_invalid",
                    fields={"state": Deadline.State.values},
                )
            qs = qs.filter(state=params["state"])
        if _flag(params.get("overdue", "")):
            qs = qs.filter(state=Deadline.State.PENDING, due_at__lte=now)
        if params.get("due_within_hours"):
            try:
                # nan, inf and huge numbers pass float() but not timedelta (was a 500).
                until = now + timedelta(hours=float(params["due_within_hours"]))
            except (ValueError, OverflowError):
                raise InvalidInput(
                    _("到期时限（小时数）必须是数字。"),
                    code="filter_invalid",
                    fields={"due_within_hours": "number"},
                ) from None
            qs = qs.filter(state=Deadline.State.PENDING, due_at__gt=now, due_at__lte=until)
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        if params.get("merchant"):
            try:
                qs = qs.filter(merchant_id=int(params["merchant"]))
            except ValueError:
                raise InvalidInput(
                    _("商家必须是编号。"), code="filter_invalid", fields={"merchant": "integer"}
                ) from None
        if params.get("subject_type"):
            qs = qs.filter(subject_type=params["subject_type"])
        if params.get("subject_id", "").isdigit():
            qs = qs.filter(subject_id=int(params["subject_id"]))
        return qs


class ClockSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    real_now = serializers.DateTimeField()
    offset_seconds = serializers.IntegerField()
    sandbox = serializers.BooleanField()


class ClockMoveSerializer(serializers.Serializer):
    advance_seconds = serializers.IntegerField(required=False, min_value=0)
    advance_hours = serializers.FloatField(required=False, min_value=0)
    set_to = ZonedDateTimeField(required=False, help_text=gettext_lazy("只能向前，须带时区。"))
    reset = serializers.BooleanField(
        required=False, default=False, help_text=gettext_lazy("回到真实时间。")
    )


def _clock_state():
    clock.invalidate()
    offset = ClockOffset.current()
    real = timezone.now()
    return {
        "now": real + offset,
        "real_now": real,
        "offset_seconds": int(offset.total_seconds()),
        "sandbox": True,
    }


class SandboxClockView(ActorViewMixin, APIView):
    """The sandbox clock: read it, move it forward, or reset it (sandbox mode only).

    Platform staff who may write and platform-scoped keys only.
    """

    def initial(self, request, *args, **kwargs):
        if not settings.SANDBOX:
            raise NotFound()
        super().initial(request, *args, **kwargs)

    @extend_schema(responses=ClockSerializer)
    def get(self, request):
        require_platform_read(self.actor)
        return Response(ClockSerializer(_clock_state()).data)

    @extend_schema(
        request=ClockMoveSerializer, responses=ClockSerializer, parameters=[IDEMPOTENCY_PARAMETER]
    )
    def post(self, request):
        require_platform_write(self.actor)
        body = ClockMoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        advance = None
        if "advance_seconds" in data or "advance_hours" in data:
            try:
                advance = timedelta(
                    seconds=data.get("advance_seconds", 0), hours=data.get("advance_hours", 0)
                )
            except OverflowError:
                raise InvalidInput(
                    _("沙箱时钟最多前移十年。"),
                    code="clock_move_too_far",
                    fields={"advance": "too large"},
                ) from None
        sandbox_clock_move(
            actor=self.actor,
            advance=advance,
            set_to=data.get("set_to"),
            reset=data.get("reset", False),
        )
        return Response(ClockSerializer(_clock_state()).data)


urlpatterns = [resource("deadlines", DeadlineViewSet, basename="deadline")]
if settings.SANDBOX:
    urlpatterns.append(path("sandbox/clock/", SandboxClockView.as_view(), name="sandbox-clock"))
