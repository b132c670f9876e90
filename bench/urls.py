"""The product's URLs plus the benchmarks' bare floor views (bench/views.py)."""

from django.urls import path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

from . import views

urlpatterns = [
    path("bench/bare-orders/", views.bare_orders, name="bench-bare-orders"),
    path("bench/bare-create/", views.bare_create, name="bench-bare-create"),
    *product_urlpatterns,
]
