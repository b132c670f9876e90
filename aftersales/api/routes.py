"""One API resource under its own URL prefix.

``resource("returns", ReturnRequestViewSet, basename="return")`` is
``path("returns/", include(router.urls))`` for a DRF ``SimpleRouter`` that serves only that
viewset: the list, the detail and the viewset's actions, with the router's usual URL names
(``return-list``, ``return-detail``, ``return-approve``). Each resource is one prefix in
Django's resolver, so a request descends only into the resource its path names.
"""

from django.urls import include, path
from rest_framework.routers import SimpleRouter


def resource(prefix, viewset, *, basename):
    router = SimpleRouter(trailing_slash=True)
    router.register("", viewset, basename=basename)
    return path(f"{prefix}/", include(router.urls))
