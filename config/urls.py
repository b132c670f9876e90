"""URL map: admin console, API (v1, schema, docs), consumer pages, merchant portal."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from aftersales import views as kernel_views
from aftersales.routing import indexed_path

# Each app contributes its API routes and its consumer (/my/) and merchant (/merchant/) pages.
API_MODULES = [
    "aftersales.api.urls",
    "aftersales.api.deadlines",
    "aftersales.api.messaging",
    "orders.api.urls",
    "repairs.api.urls",
    "returns.api.analytics",
    "returns.api.urls",
]
PAGE_MODULES = [
    "aftersales.urls",
    "orders.urls",
    "returns.urls_analytics",
    "returns.urls",
    "repairs.urls",
]


def _patterns(attr):
    import importlib

    found = []
    for module in PAGE_MODULES:
        found += getattr(importlib.import_module(module), attr, [])
    return found


admin.site.site_header = "售后服务平台 · 管理后台"
admin.site.site_title = "售后服务平台"
admin.site.index_title = "平台运营"

handler404 = "aftersales.api.errors.json_404"
handler500 = "aftersales.api.errors.json_500"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("aftersales.urls_accounts")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Resolved by first segment (aftersales.routing): ~230 API patterns, ~200 of them before
    # /api/v1/returns/, were tried one by one on every request.
    indexed_path("api/v1/", [path("", include(m)) for m in API_MODULES]),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    indexed_path("my/", _patterns("my_urlpatterns"), app_name="my"),
    indexed_path("merchant/", _patterns("merchant_urlpatterns"), app_name="merchant"),
    indexed_path("provider/", _patterns("provider_urlpatterns"), app_name="provider"),
    path("", kernel_views.home, name="home"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
