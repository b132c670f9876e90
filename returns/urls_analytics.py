"""Return analytics page of the merchant portal, mounted under /merchant/ (namespace
"merchant") by config/urls.py (PAGE_MODULES)."""

from django.urls import path

from . import views_analytics

merchant_urlpatterns = [
    path(
        "returns/analytics/",
        views_analytics.merchant_return_analytics,
        name="returns-analytics",
    ),
]
