"""R18 price difference and R9 shipping reimbursement end to end: the API action and the
consumer's pages (pay-difference button, fee field on the ship-back form)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from aftersales import clock
from orders.models import GatewayTransfer
from orders.tests import factories as of
from returns import services
from returns.models import ExchangeDifferencePayment, ReturnRequest, ShippingReimbursement
from returns.services import payments
from returns.tests import factories as rf
from returns.tests.test_services_exchange_difference import settle_transfers

pytestmark = pytest.mark.django_db

RETURNS = "/api/v1/returns/"


def dearer_exchange(roles, merchant_a, price="135.00"):
    consumer = roles["consumer_a"].consumer
    line = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
    )
    dearer = of.SkuFactory(product=line.sku.product, price=D(price), stock=3)
    return services.return_request_create(
        line=line,
        kind="spec_exchange",
        reason="wrong_size",
        quantity=1,
        actor=rf.consumer_actor(consumer),
        exchange_sku=dearer,
    )


def test_api_pay_difference_once_then_ship_exchange(api, roles, merchant_a):
    request = dearer_exchange(roles, merchant_a)
    consumer, merchant = api("consumer_a"), api("merchant_a")
    url = f"{RETURNS}{request.pk}/"
    first = consumer.post(f"{url}pay-difference/", {"method": "balance"}, format="json")
    assert first.status_code == 200, first.content[:300]
    body = first.json()
    assert body["price_difference"] == "35.00"
    assert (body["difference_payment"]["status"], body["difference_payment"]["method"]) == (
        "pending",
        "balance",
    )
    again = consumer.post(f"{url}pay-difference/", {}, format="json")
    assert again.json()["difference_payment"]["id"] == body["difference_payment"]["id"]
    assert GatewayTransfer.objects.count() == 1
    refused = merchant.post(f"{url}pay-difference/", {}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "consumer_only")

    services.return_request_approve(request=request, actor=rf.SYSTEM)
    services.return_ship_back(
        request=request,
        actor=rf.consumer_actor(request.consumer),
        carrier="SF",
        tracking_number="A1",
    )
    services.return_receive(request=request, actor=rf.SYSTEM, intact=True)
    settle_transfers()
    shipped = merchant.post(
        f"{url}ship-exchange/", {"carrier": "SF", "tracking_number": "SFA2"}, format="json"
    )
    assert shipped.status_code == 200, shipped.content[:300]
    assert shipped.json()["difference_payment"]["status"] == "succeeded"


def test_api_ship_exchange_unpaid_is_refused_with_the_code(api, roles, merchant_a):
    request = dearer_exchange(roles, merchant_a)
    services.return_request_approve(request=request, actor=rf.SYSTEM)
    services.return_ship_back(
        request=request,
        actor=rf.consumer_actor(request.consumer),
        carrier="SF",
        tracking_number="B1",
    )
    services.return_receive(request=request, actor=rf.SYSTEM, intact=True)
    response = api("merchant_a").post(
        f"{RETURNS}{request.pk}/ship-exchange/",
        {"carrier": "SF", "tracking_number": "SFB2"},
        format="json",
    )
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "price_difference_unpaid"
    assert ReturnRequest.objects.get(pk=request.pk).status == "received"


def test_api_ship_back_with_fee_and_reimbursement_in_the_detail(api, roles, merchant_a):
    consumer = roles["consumer_a"].consumer
    line = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
    )
    request = services.return_request_create(
        line=line,
        kind="return_refund",
        reason="quality",
        quantity=1,
        actor=rf.consumer_actor(consumer),
        evidence=[rf.photo()],
    )
    services.return_request_approve(request=request, actor=rf.SYSTEM)
    url = f"{RETURNS}{request.pk}/"
    bad = api("consumer_a").post(
        f"{url}ship-back/",
        {"carrier": "SF", "tracking_number": "C1", "shipping_fee": "-1"},
        format="json",
    )
    assert bad.status_code == 400
    response = api("consumer_a").post(
        f"{url}ship-back/",
        {"carrier": "SF", "tracking_number": "C1", "shipping_fee": "45.00"},
        format="json",
    )
    assert response.status_code == 200, response.content[:300]
    assert response.json()["return_shipping_fee"] == "45.00"
    services.return_receive(request=request, actor=rf.SYSTEM, intact=True)
    services.return_refund(request=request, actor=rf.SYSTEM)
    detail = api("consumer_a").get(url).json()
    assert detail["shipping_reimbursement"]["amount"] == "30.00"  # capped (policy default)
    assert detail["shipping_reimbursement"]["tender_kind"] == "card"


def test_consumer_page_pays_the_difference(client, roles, merchant_a):
    request = dearer_exchange(roles, merchant_a, price="120.00")
    client.force_login(roles["consumer_a"])
    page = client.get(f"/my/returns/{request.pk}/").content.decode()
    assert 'data-testid="pay-difference-form"' in page and "支付差价 ¥20.00" in page
    response = client.post(f"/my/returns/{request.pk}/pay-difference/", {"method": "card"})
    assert response.status_code == 302
    assert ExchangeDifferencePayment.objects.get(request=request).status == "pending"
    page = client.get(f"/my/returns/{request.pk}/").content.decode()
    assert 'data-testid="pay-difference-form"' not in page  # paying: no second button
    assert 'data-testid="difference-status"' in page
    settle_transfers()
    page = client.get(f"/my/returns/{request.pk}/").content.decode()
    assert "已支付" in page and 'data-testid="pay-difference-form"' not in page


def test_consumer_page_ship_back_declares_the_fee(client, roles, merchant_a):
    consumer = roles["consumer_a"].consumer
    line = rf.signed_line(
        signed_at=clock.now() - timedelta(days=1), merchant=merchant_a, consumer=consumer
    )
    request = services.return_request_create(
        line=line,
        kind="return_refund",
        reason="quality",
        quantity=1,
        actor=rf.consumer_actor(consumer),
        evidence=[rf.photo()],
    )
    services.return_request_approve(request=request, actor=rf.SYSTEM)
    client.force_login(roles["consumer_a"])
    page = client.get(f"/my/returns/{request.pk}/").content.decode()
    assert 'name="shipping_fee"' in page
    response = client.post(
        f"/my/returns/{request.pk}/ship/",
        {"carrier": "顺丰速运", "tracking_number": "SF12345678", "shipping_fee": "12.50"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert ReturnRequest.objects.get(pk=request.pk).return_shipping_fee == D("12.50")
    services.return_receive(request=request, actor=rf.SYSTEM, intact=True)
    services.return_refund(request=request, actor=rf.SYSTEM)
    assert ShippingReimbursement.objects.get().amount == D("12.50")
    page = client.get(f"/my/returns/{request.pk}/").content.decode()
    assert 'data-testid="shipping-reimbursement"' in page and "12.50" in page


def test_admin_lists_difference_payments_and_reimbursements(client, roles, merchant_a):
    from django.urls import reverse

    request = dearer_exchange(roles, merchant_a, price="120.44")  # the sandbox declines .44
    payments.exchange_difference_pay(request=request, actor=rf.consumer_actor(request.consumer))
    settle_transfers()
    client.force_login(roles["after_sales_manager"])
    for model in ("exchangedifferencepayment", "shippingreimbursement"):
        page = client.get(reverse(f"admin:returns_{model}_changelist"))
        assert page.status_code == 200, model
    page = client.get(reverse("admin:returns_exchangedifferencepayment_changelist"))
    assert page.context["cl"].result_count == 1
    row = page.context["cl"].result_list[0]
    assert row.status == "failed"
    detail = client.get(reverse("admin:returns_exchangedifferencepayment_change", args=[row.pk]))
    assert detail.status_code == 200
