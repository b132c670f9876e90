from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("merchants", views.MerchantViewSet, basename="merchant")
router.register("consumers", views.ConsumerViewSet, basename="consumer")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("policies", views.PolicyViewSet, basename="policy")

urlpatterns = [path("me/", views.MeView.as_view(), name="me"), *router.urls]
