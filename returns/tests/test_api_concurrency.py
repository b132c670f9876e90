"""The refund action under load, over HTTP: 50 parallel ``POST /returns/{id}/refund/`` (threads,
separate connections, transaction=True) make one refund; parallel repeats of one
``Idempotency-Key`` all get the first response."""

import json

import pytest
from django.db import connection
from django.test import Client

from aftersales.tests import factories as af
from orders.models import GatewayRefund
from returns.models import Refund, RefundPart
from returns.tests.cases import case
from returns.tests.test_services_concurrency import run_parallel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant_key():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking")
    merchant = af.MerchantFactory()
    return merchant, af.api_key("merchant", merchant, name="concurrency")[1]


def _refund_call(raw, url, key=None):
    def call():
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        response = Client(HTTP_AUTHORIZATION=f"Api-Key {raw}").post(
            url, json.dumps({}), content_type="application/json", **headers
        )
        return response.status_code, response.content, response.get("Idempotent-Replayed")

    return call


def _received(merchant):
    return case(
        merchant,
        af.ConsumerFactory(),
        to="received",
        price="100.00",
        tenders=(("card", "60.00"), ("balance", None)),
    )


def test_50_parallel_refund_calls_make_one_refund(merchant_key):
    merchant, raw = merchant_key
    request = _received(merchant)
    results = run_parallel([_refund_call(raw, f"/api/v1/returns/{request.pk}/refund/")] * 50)

    assert [exc for _result, exc in results if exc is not None] == []
    statuses = {result[0] for result, _exc in results}
    assert statuses == {200}, [r[1][:200] for r, _ in results if r[0] != 200][:3]
    refund_ids = {json.loads(result[1])["refund"]["id"] for result, _exc in results}
    assert len(refund_ids) == 1
    assert Refund.objects.filter(request=request).count() == 1
    refund = Refund.objects.get(request=request)
    assert refund.amount == request.amount
    assert RefundPart.objects.filter(refund=refund).count() == 2  # one per tender (R7)
    assert GatewayRefund.objects.filter(order=request.order).count() == 2
    assert sum(GatewayRefund.objects.values_list("amount", flat=True)) == request.amount


def test_parallel_repeats_of_one_idempotency_key_get_the_first_response(merchant_key):
    merchant, raw = merchant_key
    request = _received(merchant)
    call = _refund_call(raw, f"/api/v1/returns/{request.pk}/refund/", key="refund-race")
    results = run_parallel([call] * 20)

    assert [exc for _result, exc in results if exc is not None] == []
    assert {result[0] for result, _exc in results} == {200}
    assert len({result[1] for result, _exc in results}) == 1  # byte for byte the first answer
    assert sum(1 for result, _exc in results if result[2] == "true") == 19
    status, body, replayed = call()
    assert (status, replayed) == (200, "true") and body == results[0][0][1]
    assert Refund.objects.filter(request=request).count() == 1
    assert GatewayRefund.objects.filter(order=request.order).count() == 2
