"""Complaints API routes under /api/v1/."""

from django.urls import path

from aftersales.api.routes import resource

from . import views

urlpatterns = [
    resource("complaints", views.ComplaintViewSet, basename="complaint"),
    path(
        "complaint-log/checkpoint/",
        views.CheckpointView.as_view(),
        name="complaint-log-checkpoint",
    ),
    path(
        "complaint-log/consistency/",
        views.ConsistencyView.as_view(),
        name="complaint-log-consistency",
    ),
    path(
        "complaint-log/verify/",
        views.ReceiptVerifyView.as_view(),
        name="complaint-log-verify",
    ),
]
