"""URL map: admin console, API (v1, schema, docs), consumer pages, merchant portal."""

import importlib

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from aftersales import views as kernel_views
from aftersales.tenancy.signin import AdminSignInForm

# Each app contributes its API routes and its consumer (/my/) and merchant (/merchant/) pages.
API_MODULES = [
    "aftersales.api.urls",
    "aftersales.api.deadlines",
    "aftersales.api.messaging",
    "orders.api.urls",
    "repairs.api.urls",
    "complaints.api.urls",
    "returns.api.analytics",
    "returns.api.urls",
]
PAGE_MODULES = [
    "aftersales.urls",
    "aftersales.messaging.urls",
    "orders.urls",
    "returns.urls_analytics",
    "returns.urls",
    "repairs.urls",
]


def _patterns(modules, attr):
    """The ``attr`` patterns of ``modules``, in order, as one list under one prefix."""
    found = []
    for module in modules:
        found += getattr(importlib.import_module(module), attr, [])
    return found


admin.site.site_header = gettext_lazy("售后服务平台 · 管理后台")
admin.site.site_title = gettext_lazy("售后服务平台")
admin.site.index_title = gettext_lazy("平台运营")
admin.site.login_form = AdminSignInForm  # says how many tries are left (sign-in throttling)

handler400 = "aftersales.api.errors.json_400"
handler404 = "aftersales.api.errors.json_404"
handler500 = "aftersales.api.errors.json_500"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("aftersales.urls_accounts")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(_patterns(API_MODULES, "urlpatterns"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("my/", include((_patterns(PAGE_MODULES, "my_urlpatterns"), "my"))),
    path("merchant/", include((_patterns(PAGE_MODULES, "merchant_urlpatterns"), "merchant"))),
    path("provider/", include((_patterns(PAGE_MODULES, "provider_urlpatterns"), "provider"))),
    path("", kernel_views.home, name="home"),
]
# Uploaded files are never served from MEDIA_ROOT, not even with DEBUG on: each is answered by a
# view that checks the caller's access (aftersales.casefile.files).
