from datetime import timedelta
from decimal import Decimal as D

import pytest

from aftersales import clock
from returns import services
from returns.models import Refund
from returns.tests import factories as rf
from returns.tests.conftest import settle_refunds

pytestmark = pytest.mark.django_db


def test_no_reason_return_end_to_end():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=2))
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    request = services.return_request_create(
        line=line, kind="return_refund", reason="no_reason", quantity=1, actor=consumer
    )
    assert request.status == "requested" and request.number.startswith("TH")
    request = services.return_request_approve(request=request, actor=merchant)
    assert request.status == "approved"
    request = services.return_ship_back(
        request=request, actor=consumer, carrier="SF", tracking_number="SFR1"
    )
    request = services.return_receive(request=request, actor=merchant, intact=True)
    assert request.status == "received"
    refund = services.return_refund(request=request, actor=merchant)
    assert refund.status == "pending"
    settle_refunds()
    refund.refresh_from_db()
    request.refresh_from_db()
    assert refund.status == "succeeded" and request.status == "refunded"
    assert Refund.objects.count() == 1 and refund.amount == D("100.00")
