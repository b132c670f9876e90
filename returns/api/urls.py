"""Returns API routes under /api/v1/ (analytics has its own module, ``returns.api.analytics``)."""

from django.urls import path

from aftersales.api.routes import resource

from . import views

urlpatterns = [
    path(
        "order-lines/<pk>/return-options/",
        views.LineReturnOptionsView.as_view(),
        name="order-line-return-options",
    ),
    resource("returns", views.ReturnRequestViewSet, basename="return"),
    resource("arbitrations", views.ArbitrationViewSet, basename="arbitration"),
    resource("return-addresses", views.ReturnAddressViewSet, basename="return-address"),
]
