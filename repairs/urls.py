"""三包 repair pages, mounted by config/urls.py under /my/ (namespace "my"), /merchant/
(namespace "merchant") and /provider/ (namespace "provider", repair providers' staff)."""

from django.urls import path

from . import views

my_urlpatterns = [
    path("warranties/", views.my_warranty_list, name="warranty-list"),
    path("warranties/<int:pk>/", views.my_warranty_detail, name="warranty-detail"),
    path("warranties/<int:pk>/repair/", views.my_repair_request, name="repair-request"),
    path("warranties/<int:pk>/remedy/", views.my_warranty_remedy, name="warranty-remedy"),
    path("order-lines/<int:pk>/repair/", views.my_line_repair_request, name="line-repair-request"),
    path("repairs/", views.my_repair_list, name="repair-list"),
    path("repairs/<int:pk>/", views.my_repair_detail, name="repair-detail"),
    path(
        "repairs/<int:pk>/evidence/<int:evidence_pk>/",
        views.my_repair_evidence,
        name="repair-evidence",
    ),
    path(
        "repairs/<int:pk>/cancel/", views.my_repair_step, {"step": "cancel"}, name="repair-cancel"
    ),
    path("repairs/<int:pk>/close/", views.my_repair_step, {"step": "close"}, name="repair-close"),
]
merchant_urlpatterns = [
    path("repairs/", views.merchant_repair_list, name="repair-list"),
    path("repairs/<int:pk>/", views.merchant_repair_detail, name="repair-detail"),
    path(
        "repairs/<int:pk>/evidence/<int:evidence_pk>/",
        views.merchant_repair_evidence,
        name="repair-evidence",
    ),
    path("repairs/<int:pk>/assign/", views.merchant_repair_assign, name="repair-assign"),
    path("warranties/", views.merchant_warranty_list, name="warranty-list"),
    path("warranties/<int:pk>/", views.merchant_warranty_detail, name="warranty-detail"),
    path("escalations/", views.merchant_escalation_list, name="escalation-list"),
]
provider_urlpatterns = [
    path("", views.provider_home, name="home"),
    path("repairs/", views.provider_repair_list, name="repair-list"),
    path("repairs/<int:pk>/", views.provider_repair_detail, name="repair-detail"),
    path(
        "repairs/<int:pk>/evidence/<int:evidence_pk>/",
        views.provider_repair_evidence,
        name="repair-evidence",
    ),
    path(
        "repairs/<int:pk>/reveal-contact/",
        views.provider_repair_reveal,
        name="repair-reveal-contact",
    ),
    path("repairs/<int:pk>/<slug:step>/", views.provider_repair_step, name="repair-step"),
]
