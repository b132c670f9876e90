"""The demo return requests: one case per state of the workflow, made through the services."""

from io import StringIO

import pytest
from django.core.management import call_command

from aftersales.models import Deadline
from returns.models import Arbitration, Refund, ReturnRequest


@pytest.mark.django_db
def test_demo_has_cases_in_every_main_state():
    call_command("seed_demo", stdout=StringIO())
    statuses = set(ReturnRequest.objects.values_list("status", flat=True))
    assert {
        "requested",
        "approved",
        "return_shipped",
        "received",
        "refunded",
        "arbitration",
        "disputed",
    } <= statuses
    assert ReturnRequest.objects.filter(kind="refund_only", status="refunded").exists()  # R11
    assert Refund.objects.filter(status="succeeded").count() >= 2
    assert Arbitration.objects.filter(status="open").exclude(merchant_statement="").exists()
    assert Deadline.objects.filter(kind="returns.auto_approve", state="pending").exists()
    assert Deadline.objects.filter(kind="returns.refund_after_receipt", state="pending").exists()
