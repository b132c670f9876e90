"""Return analytics over the API (standard 6.4.2.1), mounted under /api/v1/return-analytics/.

Platform readers (staff and platform keys) see every merchant; merchant staff and merchant keys
only their own (a ``merchant`` filter naming another merchant is ignored). ``?format=csv``
answers the whole report as a CSV file (UTF-8 with BOM, for Excel). The definitions of sold and
returned units and of the rates are in ``returns.analytics``.
"""

from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from aftersales.api.base import ActorViewMixin
from aftersales.api.pagination import IdCursorPagination

from .. import analytics

# -- rendering ------------------------------------------------------------------------------------


class CsvRenderer(BaseRenderer):
    """``?format=csv``: the view hands over finished CSV text; error bodies become two rows."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode("utf-8")
        data = data or {}
        lines = [["code", "message"], [data.get("code", ""), data.get("message", "")]]
        return analytics.csv_text(lines).encode("utf-8")


def _csv_response(report, query, actor):
    name, text = analytics.report_csv(report, query, actor=actor)
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- serializers ----------------------------------------------------------------------------------

RATE = {"max_digits": 6, "decimal_places": 4, "allow_null": True}


class _Rates(serializers.Serializer):
    sold = serializers.IntegerField(help_text=gettext_lazy("售出件数（付款日期在范围内的订单行）"))
    returned = serializers.IntegerField(help_text=gettext_lazy("这些订单行上计入口径的退货件数"))
    rate = serializers.DecimalField(
        help_text=gettext_lazy("退货率 returned / sold（小数，4 位）"), **RATE
    )
    quality = serializers.IntegerField(help_text=gettext_lazy("质量原因退货件数"))
    quality_rate = serializers.DecimalField(help_text=gettext_lazy("质量原因退货率"), **RATE)


class ProductRateSerializer(_Rates):
    product_id = serializers.IntegerField()
    product_name = serializers.CharField(source="product")
    merchant_id = serializers.IntegerField()
    merchant_name = serializers.CharField()
    category_name = serializers.CharField()


class ProblemProductSerializer(ProductRateSerializer):
    """A product at or above both problem thresholds (its own schema component)."""


class MerchantRateSerializer(_Rates):
    merchant_id = serializers.IntegerField()
    merchant_code = serializers.CharField()
    merchant_name = serializers.CharField()


class ReasonRateSerializer(serializers.Serializer):
    reason = serializers.CharField()
    reason_label = serializers.CharField()
    reason_kind = serializers.CharField(help_text=gettext_lazy("原因类别：no_reason 或 quality"))
    returned = serializers.IntegerField()
    requests = serializers.IntegerField()
    share = serializers.DecimalField(help_text=gettext_lazy("占全部退货件数的比例"), **RATE)
    sold = serializers.IntegerField()
    rate = serializers.DecimalField(help_text=gettext_lazy("该原因退货件数 / 全部售出件数"), **RATE)


class SummarySerializer(serializers.Serializer):
    sold = serializers.IntegerField()
    returned = serializers.IntegerField()
    quality = serializers.IntegerField()
    rate = serializers.DecimalField(**RATE)
    quality_rate = serializers.DecimalField(**RATE)


class ReasonReportSerializer(serializers.Serializer):
    summary = SummarySerializer()
    results = ReasonRateSerializer(many=True)


# -- views ----------------------------------------------------------------------------------------

FILTERS = [
    OpenApiParameter(
        "date_from", OpenApiTypes.DATE, description=gettext_lazy("付款日期起（含，上海时间）")
    ),
    OpenApiParameter(
        "date_to", OpenApiTypes.DATE, description=gettext_lazy("付款日期止（含），默认今天")
    ),
    OpenApiParameter("merchant", int, description=gettext_lazy("商家（仅平台；商家只看自己的）")),
    OpenApiParameter("category", int, description=gettext_lazy("类目（含其子类目）")),
    OpenApiParameter(
        "status", str, enum=list(analytics.STATUS_SCOPES), description=gettext_lazy("统计口径")
    ),
    OpenApiParameter(
        "format",
        str,
        enum=["json", "csv"],
        description=gettext_lazy("csv：导出整张报表（UTF-8 BOM）"),
    ),
]
THRESHOLDS = [
    OpenApiParameter(
        "min_units", int, description=gettext_lazy("质量原因退货件数下限（默认取策略）")
    ),
    OpenApiParameter(
        "min_rate", OpenApiTypes.DECIMAL, description=gettext_lazy("质量退货率下限（百分比）")
    ),
]
CSV_RESPONSE = OpenApiResponse(description=gettext_lazy("CSV 文件（format=csv 时）"))


class ByIdPagination(IdCursorPagination):
    """Report rows paged by their id (stable); the CSV export has the rate order."""

    ordering = "product_id"


class ByMerchantPagination(IdCursorPagination):
    ordering = "merchant_id"


class ProblemProductPagination(ByIdPagination):
    """Pages of problem products, with the ``thresholds`` that selected them."""

    def get_paginated_response_schema(self, schema):
        out = super().get_paginated_response_schema(schema)
        out["properties"]["thresholds"] = {
            "type": "object",
            "properties": {
                "min_units": {"type": "integer", "description": _("质量原因退货件数下限")},
                "min_rate": {
                    "type": "string",
                    "format": "decimal",
                    "description": _("退货率下限（百分比）"),
                },
            },
        }
        return out


class _ReportView(ActorViewMixin, generics.ListAPIView):
    renderer_classes = [JSONRenderer, CsvRenderer]
    filter_backends = []
    report = ""

    def query(self):
        if not hasattr(self, "_query"):
            form = analytics.AnalyticsFilterForm(self.request.query_params, actor=self.actor)
            self._query = form.query()
        return self._query

    def report_queryset(self, query):
        raise NotImplementedError

    def get_queryset(self):
        return self.report_queryset(self.query())

    def extra(self, query):
        return {}

    def list(self, request, *args, **kwargs):
        query = self.query()
        if request.accepted_renderer.format == "csv":
            return _csv_response(self.report, query, self.actor)
        page = analytics.with_rates(self.paginate_queryset(self.get_queryset()))
        response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        response.data.update(self.extra(query))
        return response


@extend_schema(parameters=FILTERS)
class ProductRateView(_ReportView):
    """Return rate per product over the range (paged by product id)."""

    serializer_class = ProductRateSerializer
    pagination_class = ByIdPagination
    report = "products"

    def report_queryset(self, query):
        return analytics.by_product_queryset(query, actor=self.actor)


@extend_schema(parameters=FILTERS)
class MerchantRateView(_ReportView):
    """Return rate per merchant (a merchant sees their own row)."""

    serializer_class = MerchantRateSerializer
    pagination_class = ByMerchantPagination
    report = "merchants"

    def report_queryset(self, query):
        return analytics.by_merchant_queryset(query, actor=self.actor)


@extend_schema(parameters=FILTERS + THRESHOLDS)
class ProblemProductView(_ReportView):
    """High-frequency problem products: quality-reason returns at or above both thresholds;
    ``thresholds`` says which were applied."""

    serializer_class = ProblemProductSerializer
    pagination_class = ProblemProductPagination
    report = "problem-products"

    def report_queryset(self, query):
        return analytics.problem_products_queryset(query, actor=self.actor)

    def extra(self, query):
        min_units, min_rate = analytics.thresholds(query)
        return {"thresholds": {"min_units": min_units, "min_rate": f"{min_rate:.2f}"}}


class ReasonRateView(ActorViewMixin, generics.GenericAPIView):
    """Returned units per reason, with their share of all returns, and the range's totals."""

    renderer_classes = [JSONRenderer, CsvRenderer]
    filter_backends = []
    pagination_class = None
    serializer_class = ReasonReportSerializer

    @extend_schema(parameters=FILTERS, responses={200: ReasonReportSerializer})
    def get(self, request):
        form = analytics.AnalyticsFilterForm(request.query_params, actor=self.actor)
        query = form.query()
        if request.accepted_renderer.format == "csv":
            return _csv_response("reasons", query, self.actor)
        data = {
            "summary": analytics.summary(query, actor=self.actor),
            "results": analytics.return_rate_by_reason(query, actor=self.actor),
        }
        return Response(ReasonReportSerializer(data).data)


urlpatterns = [
    path("return-analytics/products/", ProductRateView.as_view(), name="return-analytics-products"),
    path(
        "return-analytics/merchants/",
        MerchantRateView.as_view(),
        name="return-analytics-merchants",
    ),
    path("return-analytics/reasons/", ReasonRateView.as_view(), name="return-analytics-reasons"),
    path(
        "return-analytics/problem-products/",
        ProblemProductView.as_view(),
        name="return-analytics-problem-products",
    ),
]
