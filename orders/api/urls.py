"""Orders API routes under /api/v1/."""

from aftersales.api.routes import resource

from . import logistics, views

urlpatterns = [
    resource("categories", views.CategoryViewSet, basename="category"),
    resource("products", views.ProductViewSet, basename="product"),
    resource("skus", views.SkuViewSet, basename="sku"),
    resource("orders", views.OrderViewSet, basename="order"),
    resource("payments", views.PaymentViewSet, basename="payment"),
    resource("shipments", views.ShipmentViewSet, basename="shipment"),
    resource("logistics-alerts", logistics.LogisticsAlertViewSet, basename="logistics-alert"),
]
