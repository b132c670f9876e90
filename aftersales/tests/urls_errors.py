"""The project's URLs plus views that fail, for the error pages' tests (issue 14)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from config.urls import handler400, handler404, handler500  # noqa: F401 (the handlers in force)
from config.urls import urlpatterns as project_urlpatterns


def boom(request):
    raise RuntimeError("boom")


def forbidden(request):
    raise PermissionDenied


def suspicious(request):
    raise SuspiciousOperation("a request Django refuses")


urlpatterns = [
    path("boom/", boom),
    path("merchant/boom/", boom),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    *project_urlpatterns,
]
