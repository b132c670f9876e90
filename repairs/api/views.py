"""Viewsets of the repairs API (三包, standard 6.5): parse, call one service or selector, shape."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aftersales.api.base import IDEMPOTENCY_PARAMETER, ActorViewMixin, require_platform_read

from .. import services
from ..models import SanbaoCatalogEntry
from .serializers import CatalogChangeSerializer, CatalogEntrySerializer

READ = (mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet)


@extend_schema_view(
    create=extend_schema(
        parameters=[IDEMPOTENCY_PARAMETER],
        request=CatalogEntrySerializer,
        responses={200: CatalogEntrySerializer, 201: CatalogEntrySerializer},
        description="按 code 新建或修改三包目录条目（仅平台），每次变更保存一个版本。"
        "Creates or changes the entry `code` (platform writers); every change is a version.",
    ),
    partial_update=extend_schema(request=CatalogEntrySerializer, responses=CatalogEntrySerializer),
)
class CatalogEntryViewSet(ActorViewMixin, *READ):
    """The 三包 catalog (standard 6.5.2): periods, main parts, depreciation, parts limit."""

    serializer_class = CatalogEntrySerializer
    filterset_fields = ["code"]
    search_fields = ["code", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return SanbaoCatalogEntry.objects.order_by("-id")

    def _save(self, code, data):
        data = dict(data)
        data.pop("code", None)
        if "main_parts" in data:
            data["main_parts"] = [dict(p) for p in data["main_parts"]]
        entry, _change = services.catalog_entry_save(code=code, actor=self.actor, **data)
        return entry

    def create(self, request):
        s = CatalogEntrySerializer(data=request.data)
        s.is_valid(raise_exception=True)
        code = s.validated_data["code"]
        existed = SanbaoCatalogEntry.objects.filter(code=code).exists()
        entry = self._save(code, s.validated_data)
        return Response(
            CatalogEntrySerializer(entry).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    def partial_update(self, request, pk=None):
        entry = self.get_object()
        s = CatalogEntrySerializer(entry, data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        return Response(CatalogEntrySerializer(self._save(entry.code, s.validated_data)).data)

    @extend_schema(responses=CatalogChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def changes(self, request, pk=None):
        """Every saved version of the entry, newest first: who, when, what changed (platform)."""
        require_platform_read(self.actor)
        entry = self.get_object()
        rows = entry.changes.order_by("-version")
        return Response(CatalogChangeSerializer(rows, many=True).data)
