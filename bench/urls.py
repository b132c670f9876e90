"""The product's URLs plus the bare floor view of the list benchmark."""

from django.urls import path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

from . import views

urlpatterns = [
    path("bench/bare-orders/", views.bare_orders, name="bench-bare-orders"),
    *product_urlpatterns,
]
