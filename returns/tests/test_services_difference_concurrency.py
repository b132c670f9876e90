"""R18: parallel pay-difference calls (threads, separate connections) charge once."""

import pytest

from orders.models import GatewayTransfer
from returns.models import ExchangeDifferencePayment
from returns.services import payments
from returns.tests.test_services_concurrency import run_parallel
from returns.tests.test_services_exchange_difference import spec_exchange

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_pay_calls_make_one_charge():
    request, consumer, _merchant = spec_exchange("150.00")
    results = run_parallel(
        [
            lambda: payments.exchange_difference_pay(request=request, actor=consumer)
            for _ in range(12)
        ]
    )
    assert [exc for _r, exc in results] == [None] * 12
    assert len({r.pk for r, _exc in results}) == 1
    assert ExchangeDifferencePayment.objects.count() == 1
    charge = GatewayTransfer.objects.get()
    assert (charge.direction, charge.amount) == (
        "charge",
        ExchangeDifferencePayment.objects.get().amount,
    )
