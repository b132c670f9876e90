"""Returns API routes under /api/v1/ (analytics has its own module, ``returns.api.analytics``)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("returns", views.ReturnRequestViewSet, basename="return")
router.register("arbitrations", views.ArbitrationViewSet, basename="arbitration")

urlpatterns = [
    path(
        "order-lines/<pk>/return-options/",
        views.LineReturnOptionsView.as_view(),
        name="order-line-return-options",
    ),
    *router.urls,
]
