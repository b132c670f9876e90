"""Return analytics (standard 6.4.2.1 "分析退换货数据，识别高频问题商品"): read-only selectors.

Definitions, the same in the admin, the merchant portal and the API:

- **Sold units**: the quantity of the order lines whose order was paid on a calendar day of the
  range (Shanghai days, inclusive).
- **Returned units**: the quantity of the return requests *on those lines* (a cohort: the
  returns of what was sold in the range, whenever they were asked for), counting the requests
  of the chosen ``status`` scope:

  - ``all``: every request that holds its units (RULES.md R15) — open, rejected, refunded,
    completed; not closed or cancelled ones. R15 keeps their sum within the quantity bought,
    so a rate never exceeds 100 %.
  - ``completed``: only requests that ended in a refund or a completed exchange.

- **Return rate** = returned units / sold units, exact (``Decimal``), shown as a percentage.
- **Problem products**: products with at least ``min_units`` units returned for a quality
  reason (quality, damaged, not as described, wrong item, missing parts, 三包) *and* a quality
  return rate of at least ``min_rate`` %; both thresholds are policies
  (``returns.problem_min_quality_units``, ``returns.problem_quality_rate_percent``) that staff
  set per platform, category or merchant, and a caller may override per query.

Every report runs a fixed number of queries whatever the number of rows: the sums are computed
by PostgreSQL (one grouped query with per-line subqueries), never in a Python loop over rows.
Every report takes the ``actor``: platform readers see every merchant; merchant staff and
merchant keys only their own merchant (the ``merchant`` filter is forced to theirs); anyone
else gets ``NotFound``.
"""

import csv
import io
from dataclasses import dataclass, replace
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftersales import clock
from aftersales.errors import InvalidInput, NotFound
from aftersales.policies import policy_value
from aftersales.tenancy.models import Merchant
from orders.models import Category, OrderLine
from orders.selectors import day_start

from . import rules
from .models import ReturnRequest

STATUS_SCOPES = {
    "all": frozenset(set(ReturnRequest.Status.values) - rules.QUANTITY_FREE_STATUSES),
    "completed": frozenset({ReturnRequest.Status.REFUNDED, ReturnRequest.Status.COMPLETED}),
}
STATUS_SCOPE_CHOICES = [
    ("all", _("全部有效申请（不含已关闭、已撤销）")),
    ("completed", _("仅已完成（已退款或换货完成）")),
]
QUALITY = rules.QUALITY
DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3
RATE_PLACES = Decimal("0.0001")  # a fraction to 4 places: a percentage with 2


@dataclass(frozen=True)
class AnalyticsQuery:
    """What a report is about; built by ``AnalyticsFilterForm.query`` for one actor."""

    date_from: date
    date_to: date
    merchant_id: int | None = None
    category_id: int | None = None
    status: str = "all"
    min_units: int | None = None  # None: the policy in force
    min_rate: Decimal | None = None  # percent; None: the policy in force


def rate(returned, sold):
    """``returned / sold`` as an exact fraction rounded half-up to 4 places (None: nothing sold)."""
    if not sold:
        return None
    return (Decimal(returned or 0) / Decimal(sold)).quantize(RATE_PLACES, ROUND_HALF_UP)


def percent(value):
    """A fraction from ``rate`` as ``"12.50%"`` (``"—"`` when there is none)."""
    if value is None:
        return "—"
    return f"{(value * 100).quantize(Decimal('0.01'))}%"


# -- scope and filters ----------------------------------------------------------------------------


def analytics_scope(actor, query):
    """``query`` as ``actor`` may run it: a merchant only ever sees their own merchant."""
    if actor.platform_read:
        return query
    if actor.merchant_id is not None:
        return replace(query, merchant_id=actor.merchant_id)
    raise NotFound()


def _category_ids(category_id):
    """The category and its direct subcategories (the catalog is two levels deep)."""
    return Q(sku__product__category_id=category_id) | Q(
        sku__product__category__parent_id=category_id
    )


def sold_lines(query):
    """The order lines sold in the range, inside the query's merchant and category."""
    start = day_start(query.date_from).astimezone(UTC)
    end = day_start(query.date_to + timedelta(days=1)).astimezone(UTC)
    qs = OrderLine.objects.filter(order__paid_at__gte=start, order__paid_at__lt=end)
    if query.merchant_id is not None:
        qs = qs.filter(order__merchant_id=query.merchant_id)
    if query.category_id is not None:
        qs = qs.filter(_category_ids(query.category_id))
    return qs


def counted_requests(query):
    """The return requests that count under the query's status scope."""
    return ReturnRequest.objects.filter(status__in=STATUS_SCOPES[query.status])


def _units_per_line(query, **conditions):
    units = (
        counted_requests(query)
        .filter(line=OuterRef("pk"), **conditions)
        .order_by()
        .values("line")
        .annotate(units=Sum("quantity"))
        .values("units")
    )
    return Coalesce(Subquery(units, output_field=IntegerField()), 0)


def _with_units(query):
    return sold_lines(query).annotate(
        line_returned=_units_per_line(query),
        line_quality=_units_per_line(query, reason_kind=QUALITY),
    )


def _rate_order(numerator):
    return Cast(F(numerator), FloatField()) / NullIf(Cast(F("sold"), FloatField()), 0.0)


def with_rates(rows):
    """Add the exact ``rate`` and ``quality_rate`` (and ``*_pct`` texts for pages) to
    aggregated rows, in place."""
    for row in rows:
        row["rate"] = rate(row["returned"], row["sold"])
        row["quality_rate"] = rate(row["quality"], row["sold"])
        row["rate_pct"] = percent(row["rate"])
        row["quality_rate_pct"] = percent(row["quality_rate"])
    return rows


# -- reports --------------------------------------------------------------------------------------


def summary(query, *, actor):
    """Totals of the range: sold, returned and quality-returned units and the rate (1 query)."""
    query = analytics_scope(actor, query)
    totals = _with_units(query).aggregate(
        sold=Coalesce(Sum("quantity"), 0),
        returned=Coalesce(Sum("line_returned"), 0),
        quality=Coalesce(Sum("line_quality"), 0),
    )
    return with_rates([totals])[0]


def _grouped(query, **group):
    return (
        _with_units(query)
        .order_by()
        .values(**group)
        .annotate(
            sold=Sum("quantity"),
            returned=Sum("line_returned"),
            quality=Sum("line_quality"),
        )
    )


def by_product_queryset(query, *, actor):
    """Rows ``product_id, product (its name), merchant_id, merchant_name, category_name, sold,
    returned, quality`` per product, unordered (the API pages it by ``product_id``)."""
    query = analytics_scope(actor, query)
    return _grouped(
        query,
        product_id=F("sku__product_id"),
        product=F("sku__product__name"),  # OrderLine has its own product_name
        merchant_id=F("order__merchant_id"),
        merchant_name=F("order__merchant__name"),
        category_name=F("sku__product__category__name"),
    )


def by_merchant_queryset(query, *, actor):
    """Rows ``merchant_id, merchant_code, merchant_name, sold, returned, quality`` per merchant."""
    query = analytics_scope(actor, query)
    return _grouped(
        query,
        merchant_id=F("order__merchant_id"),
        merchant_code=F("order__merchant__code"),
        merchant_name=F("order__merchant__name"),
    )


def _by_rate(qs, limit, numerator="returned"):
    qs = qs.annotate(sort_rate=_rate_order(numerator)).order_by(
        F("sort_rate").desc(nulls_last=True), F(numerator).desc(), "sold"
    )
    rows = list(qs[:limit] if limit else qs)
    for row in rows:
        row.pop("sort_rate", None)
    return with_rates(rows)


def return_rate_by_product(query, *, actor, limit=None):
    """Return rate per product, highest first (1 query)."""
    return _by_rate(by_product_queryset(query, actor=actor), limit)


def return_rate_by_merchant(query, *, actor, limit=None):
    """Return rate per merchant, highest first (1 query)."""
    return _by_rate(by_merchant_queryset(query, actor=actor), limit)


def return_rate_by_reason(query, *, actor):
    """Returned units per reason, most first, with the share of all returns and the rate
    against every unit sold in the range (2 queries)."""
    query = analytics_scope(actor, query)
    sold = sold_lines(query).aggregate(sold=Coalesce(Sum("quantity"), 0))["sold"]
    rows = list(
        counted_requests(query)
        .filter(line__in=sold_lines(query).values("pk"))
        .order_by()
        .values("reason", "reason_kind")
        .annotate(returned=Sum("quantity"), requests=Count("id"))
        .order_by("-returned", "reason")
    )
    total = sum(row["returned"] for row in rows)
    labels = dict(ReturnRequest.Reason.choices)
    for row in rows:
        row["reason_label"] = str(labels.get(row["reason"], row["reason"]))
        row["sold"] = sold
        row["rate"] = rate(row["returned"], sold)
        row["share"] = rate(row["returned"], total)
        row["rate_pct"], row["share_pct"] = percent(row["rate"]), percent(row["share"])
    return rows


def thresholds(query):
    """``(min_units, min_rate_percent)``: the query's own, else the policies in force for its
    merchant and category."""
    scope = {"merchant_id": query.merchant_id, "category_id": query.category_id}
    min_units = query.min_units
    if min_units is None:
        min_units = policy_value("returns.problem_min_quality_units", **scope)
    min_rate = query.min_rate
    if min_rate is None:
        min_rate = Decimal(policy_value("returns.problem_quality_rate_percent", **scope))
    return int(min_units), Decimal(min_rate)


def problem_products_queryset(query, *, actor):
    """Products at or above both thresholds (filtered in SQL, ``HAVING``), unordered."""
    query = analytics_scope(actor, query)
    min_units, min_rate = thresholds(query)
    # quality / sold >= min_rate %  ⇔  quality × 100 >= sold × min_rate (no division).
    return (
        by_product_queryset(query, actor=actor)
        .alias(
            quality_x100=ExpressionWrapper(F("quality") * 100, output_field=DecimalField()),
            sold_x_rate=ExpressionWrapper(F("sold") * Value(min_rate), output_field=DecimalField()),
        )
        .filter(quality__gte=min_units, quality_x100__gte=F("sold_x_rate"))
    )


def problem_products(query, *, actor, limit=None):
    """High-frequency problem products (standard 6.4.2.1), highest quality rate first (1 query
    plus the policy reads)."""
    return _by_rate(problem_products_queryset(query, actor=actor), limit, numerator="quality")


# -- CSV ------------------------------------------------------------------------------------------

REPORTS = ("products", "merchants", "reasons", "problem-products")
_PRODUCT_COLUMNS = [
    ("product_id", _("商品编号")),
    ("product", _("商品名称")),
    ("merchant_name", _("商家")),
    ("category_name", _("类目")),
    ("sold", _("售出件数")),
    ("returned", _("退货件数")),
    ("rate", _("退货率")),
    ("quality", _("质量原因退货件数")),
    ("quality_rate", _("质量原因退货率")),
]
CSV_COLUMNS = {
    "products": _PRODUCT_COLUMNS,
    "problem-products": _PRODUCT_COLUMNS,
    "merchants": [
        ("merchant_id", _("商家编号")),
        ("merchant_code", _("商家代码")),
        ("merchant_name", _("商家")),
        ("sold", _("售出件数")),
        ("returned", _("退货件数")),
        ("rate", _("退货率")),
        ("quality", _("质量原因退货件数")),
        ("quality_rate", _("质量原因退货率")),
    ],
    "reasons": [
        ("reason", _("原因代码")),
        ("reason_label", _("原因")),
        ("returned", _("退货件数")),
        ("requests", _("申请数")),
        ("share", _("占全部退货")),
        ("sold", _("售出件数")),
        ("rate", _("退货率")),
    ],
}
RATE_COLUMNS = {"rate", "quality_rate", "share"}


def report_rows(report, query, *, actor):
    """All rows of ``report`` (one of ``REPORTS``), in the pages' order."""
    if report == "products":
        return return_rate_by_product(query, actor=actor)
    if report == "merchants":
        return return_rate_by_merchant(query, actor=actor)
    if report == "reasons":
        return return_rate_by_reason(query, actor=actor)
    if report == "problem-products":
        return problem_products(query, actor=actor)
    raise InvalidInput(
        gettext("未知报表。"), code="report_unknown", fields={"report": list(REPORTS)}
    )


def report_csv(report, query, *, actor):
    """``(filename, text)``: the report as CSV, UTF-8 with a BOM so that Excel shows Chinese."""
    columns = CSV_COLUMNS[report]
    lines = [[str(label) for _key, label in columns]]
    for row in report_rows(report, query, actor=actor):
        lines.append(
            [percent(row.get(k)) if k in RATE_COLUMNS else row.get(k, "") for k, _l in columns]
        )
    name = f"return-{report}-{query.date_from:%Y%m%d}-{query.date_to:%Y%m%d}.csv"
    return name, csv_text(lines)


def csv_text(lines):
    """Rows as CSV text for Excel: a UTF-8 BOM first (Chinese shows right), CRLF line ends."""
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return out.getvalue()


# -- the filter form shared by the admin, the merchant portal and the API -------------------------


class AnalyticsFilterForm(forms.Form):
    """Date range, merchant (platform only), category, status scope and the problem-product
    thresholds. Every field is optional; ``query(actor)`` applies the defaults."""

    date_from = forms.DateField(
        label=_("付款日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    merchant = forms.IntegerField(label=_("商家"), required=False, min_value=1)
    category = forms.IntegerField(label=_("类目"), required=False, min_value=1)
    status = forms.ChoiceField(label=_("统计口径"), required=False, choices=STATUS_SCOPE_CHOICES)
    min_units = forms.IntegerField(
        label=_("问题商品：质量退货件数 ≥"), required=False, min_value=1, max_value=10**6
    )
    min_rate = forms.DecimalField(
        label=_("问题商品：质量退货率（%）≥"),
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        decimal_places=2,
    )

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        categories = [("", _("全部类目"))] + [
            (c.pk, c.name) for c in Category.objects.order_by("code").only("pk", "name")
        ]
        self.fields["category"].widget = forms.Select(choices=categories)
        if actor is not None and actor.platform_read:
            merchants = [("", _("全部商家"))] + [
                (m.pk, m.name) for m in Merchant.objects.order_by("code").only("pk", "name")
            ]
            self.fields["merchant"].widget = forms.Select(choices=merchants)
        else:
            del self.fields["merchant"]

    def clean(self):
        data = super().clean()
        today = clock.today()
        end = data.get("date_to") or today
        start = data.get("date_from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("date_from", _("日期范围最长 %(n)d 天。") % {"n": MAX_DAYS})
        data["date_from"], data["date_to"] = start, end
        return data

    def query(self):
        """The ``AnalyticsQuery`` for the form's actor, or ``InvalidInput`` naming the fields."""
        if not self.is_valid():
            raise InvalidInput(
                gettext("筛选条件有误，请按 fields 中的提示修改。"),
                code="filter_invalid",
                fields={k: [str(e) for e in v] for k, v in self.errors.items()},
            )
        d = self.cleaned_data
        query = AnalyticsQuery(
            date_from=d["date_from"],
            date_to=d["date_to"],
            merchant_id=d.get("merchant"),
            category_id=d.get("category"),
            status=d.get("status") or "all",
            min_units=d.get("min_units"),
            min_rate=d.get("min_rate"),
        )
        return analytics_scope(self.actor, query)
