"""Orders API routes under /api/v1/."""

from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("categories", views.CategoryViewSet, basename="category")
router.register("products", views.ProductViewSet, basename="product")
router.register("skus", views.SkuViewSet, basename="sku")
router.register("orders", views.OrderViewSet, basename="order")
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("shipments", views.ShipmentViewSet, basename="shipment")

urlpatterns = router.urls
