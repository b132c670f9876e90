"""Logistics alerts API (standard 6.2.1.2): the consumer's, the merchant's and the platform's
logistics queue, read only (alerts are raised and resolved by ``orders.logistics``)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from aftersales.api.base import ActorViewMixin
from aftersales.api.pagination import IdCursorPagination
from aftersales.tenancy.scope import scoped

from ..models import LogisticsAlert


class LogisticsAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = LogisticsAlert
        fields = [
            "id",
            "shipment_id",
            "order_id",
            "merchant",
            "reason",
            "status",
            "carrier",
            "tracking_number",
            "last_event_at",
            "detail",
            "raised_at",
            "resolved_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=LogisticsAlert.Status.values),
            OpenApiParameter("reason", str, enum=LogisticsAlert.Reason.values),
            OpenApiParameter("order_id", int),
        ]
    )
)
class LogisticsAlertViewSet(
    ActorViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Logistics alerts (standard 6.2.1.2): consumers see theirs, merchants theirs, platform
    staff the whole logistics queue."""

    serializer_class = LogisticsAlertSerializer
    pagination_class = IdCursorPagination

    def get_queryset(self):
        qs = scoped(LogisticsAlert.objects.all(), self.actor)
        params = self.request.query_params
        for name in ("status", "reason"):
            if params.get(name):
                qs = qs.filter(**{name: params[name]})
        if params.get("order_id", "").isdigit():
            qs = qs.filter(order_id=int(params["order_id"]))
        return qs
