from django.urls import path

from aftersales.api import views
from aftersales.api.routes import resource

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    resource("merchants", views.MerchantViewSet, basename="merchant"),
    resource("consumers", views.ConsumerViewSet, basename="consumer"),
    resource("api-keys", views.ApiKeyViewSet, basename="api-key"),
    resource("policies", views.PolicyViewSet, basename="policy"),
]
