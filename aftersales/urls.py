from django.urls import path

from aftersales import views

my_urlpatterns = [path("", views.my_home, name="home")]
merchant_urlpatterns = [path("", views.merchant_home, name="home")]
