"""Return pages, mounted by config/urls.py under /my/ (namespace "my") and /merchant/
(namespace "merchant")."""

from django.urls import path

from . import views

my_urlpatterns = [
    path("lines/<int:pk>/after-sales/", views.my_line_after_sales, name="line-after-sales"),
    path("returns/", views.my_return_list, name="return-list"),
    path("returns/<int:pk>/", views.my_return_detail, name="return-detail"),
    path("returns/<int:pk>/ship/", views.my_return_ship, name="return-ship"),
    path("returns/<int:pk>/pickup/", views.my_return_pickup, name="return-pickup"),
    path(
        "returns/<int:pk>/pay-difference/",
        views.my_return_pay_difference,
        name="return-pay-difference",
    ),
    path("returns/<int:pk>/cancel/", views.my_return_cancel, name="return-cancel"),
    path("returns/<int:pk>/escalate/", views.my_return_escalate, name="return-escalate"),
    path("returns/<int:pk>/evidence/", views.my_return_evidence_add, name="return-evidence-add"),
    path(
        "returns/<int:pk>/evidence/<int:evidence_pk>/",
        views.my_return_evidence,
        name="return-evidence",
    ),
]
merchant_urlpatterns = [
    path("return-addresses/", views.merchant_return_addresses, name="return-address-list"),
    path(
        "return-addresses/<int:pk>/",
        views.merchant_return_address_edit,
        name="return-address-edit",
    ),
    path(
        "return-addresses/<int:pk>/archive/",
        views.merchant_return_address_archive,
        name="return-address-archive",
    ),
    path("returns/", views.merchant_return_list, name="return-list"),
    path("returns/<int:pk>/", views.merchant_return_detail, name="return-detail"),
    path("returns/<int:pk>/approve/", views.merchant_return_approve, name="return-approve"),
    path("returns/<int:pk>/reject/", views.merchant_return_reject, name="return-reject"),
    path("returns/<int:pk>/receive/", views.merchant_return_receive, name="return-receive"),
    path("returns/<int:pk>/refund/", views.merchant_return_refund, name="return-refund"),
    path(
        "returns/<int:pk>/replacement/",
        views.merchant_return_ship_replacement,
        name="return-ship-replacement",
    ),
    path("returns/<int:pk>/answer/", views.merchant_return_answer, name="return-answer"),
    path(
        "returns/<int:pk>/evidence/",
        views.merchant_return_evidence_add,
        name="return-evidence-add",
    ),
    path(
        "returns/<int:pk>/evidence/<int:evidence_pk>/",
        views.merchant_return_evidence,
        name="return-evidence",
    ),
]
