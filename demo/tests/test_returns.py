"""The demo return requests: one case per state of the workflow, made through the services."""

import random
from io import StringIO

import pytest
from django.contrib.auth.hashers import make_password

from aftersales import clock
from aftersales.deadlines.models import Deadline
from demo import kernel as kernel_demo
from demo import orders as orders_demo
from demo import returns as returns_demo
from demo.seed import SEED, DemoContext
from returns.models import Arbitration, Refund, ReturnRequest


@pytest.mark.django_db
def test_demo_has_cases_in_every_main_state():
    # The kernel's and orders' demo rows, then ours (other apps' demos are not needed).
    ctx = DemoContext(
        rng=random.Random(SEED),
        now=clock.now(),
        password_hash=make_password("x"),
        out=StringIO(),
    )
    for module in (kernel_demo, orders_demo, returns_demo):
        module.seed(ctx)
    assert ctx.counts["return_requests"] == len(ctx.data["return_requests"]) >= 8
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
