"""Repairs (三包) API routes under /api/v1/."""

from aftersales.api.routes import resource

from . import views

urlpatterns = [
    resource("sanbao-catalog", views.CatalogEntryViewSet, basename="sanbao-catalog-entry"),
    resource("warranty-cards", views.WarrantyCardViewSet, basename="warranty-card"),
    resource("repair-providers", views.RepairProviderViewSet, basename="repair-provider"),
    resource("repair-orders", views.RepairOrderViewSet, basename="repair-order"),
    resource(
        "warranty-escalations", views.WarrantyEscalationViewSet, basename="warranty-escalation"
    ),
]
