"""Order pages, mounted by config/urls.py under /my/ (namespace "my") and /merchant/
(namespace "merchant")."""

from django.urls import path

from . import views

my_urlpatterns = [
    path("orders/", views.my_order_list, name="order-list"),
    path("orders/<int:pk>/", views.my_order_detail, name="order-detail"),
]
merchant_urlpatterns = [
    path("orders/", views.merchant_order_list, name="order-list"),
    path("orders/<int:pk>/", views.merchant_order_detail, name="order-detail"),
    path("orders/<int:pk>/ship/", views.merchant_order_ship, name="order-ship"),
]
