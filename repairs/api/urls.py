"""Repairs (三包) API routes under /api/v1/."""

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sanbao-catalog", views.CatalogEntryViewSet, basename="sanbao-catalog-entry")
router.register("warranty-cards", views.WarrantyCardViewSet, basename="warranty-card")
router.register("repair-providers", views.RepairProviderViewSet, basename="repair-provider")
router.register("repair-orders", views.RepairOrderViewSet, basename="repair-order")
router.register(
    "warranty-escalations", views.WarrantyEscalationViewSet, basename="warranty-escalation"
)

urlpatterns = router.urls
