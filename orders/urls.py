my_urlpatterns = []
merchant_urlpatterns = []
