"""The merchant portal's return analytics page (/merchant/returns/analytics/, standard 6.4.2.1):
the merchant's own return rates by product and reason, its problem products, and CSV export
of each table (``?export=products|reasons|problem-products``).

The view parses the filters and calls ``returns.analytics``; the merchant scope is applied
there, whatever the query string says. ``analytics_page`` also serves the admin console's page.
"""

from django.http import HttpResponse
from django.template.response import TemplateResponse

from aftersales.errors import DomainError
from aftersales.tenancy.decorators import merchant_required

from . import analytics

TABLE_LIMIT = 100
MERCHANT_EXPORTS = ("products", "reasons", "problem-products")


def csv_download(report, query, *, actor):
    """A CSV file response of ``report`` (UTF-8 with BOM)."""
    name, text = analytics.report_csv(report, query, actor=actor)
    response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def analytics_context(query, *, actor, limit=TABLE_LIMIT, merchants=False):
    """The tables an analytics page shows, for one scoped query (a fixed number of queries);
    ``merchants``: with the table per merchant (platform pages)."""
    min_units, min_rate = analytics.thresholds(query)
    return {
        "query": query,
        "summary": analytics.summary(query, actor=actor),
        "products": analytics.return_rate_by_product(query, actor=actor, limit=limit),
        "reasons": analytics.return_rate_by_reason(query, actor=actor),
        "problems": analytics.problem_products(query, actor=actor, limit=limit),
        "merchants": analytics.return_rate_by_merchant(query, actor=actor) if merchants else None,
        "show_merchant": merchants,
        "min_units": min_units,
        "min_rate": min_rate,
        "limit": limit,
    }


def analytics_page(request, *, actor, template, context, exports, merchants=False):
    """Filters → the tables, or ``?export=<report>`` → that report as CSV (400 for bad filters
    or an unknown report)."""
    form = analytics.AnalyticsFilterForm(request.GET, actor=actor)
    context = {**context, "form": form}
    try:
        query = form.query()
    except DomainError:
        return TemplateResponse(request, template, context, status=400)
    export = request.GET.get("export")
    if export:
        if export not in exports:
            return HttpResponse("unknown export", status=400, content_type="text/plain")
        return csv_download(export, query, actor=actor)
    query_string = request.GET.copy()
    query_string.pop("export", None)
    context.update(
        analytics_context(query, actor=actor, merchants=merchants),
        query_string=query_string.urlencode(),
    )
    return TemplateResponse(request, template, context)


@merchant_required
def merchant_return_analytics(request):
    return analytics_page(
        request,
        actor=request.actor,
        template="returns/analytics.html",
        context={"portal": "merchant", "nav": "return-analytics"},
        exports=MERCHANT_EXPORTS,
    )
