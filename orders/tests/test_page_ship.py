"""The merchant ships a line from the portal (standard 6.2.1), as through the API: carrier and
tracking number; the consumer then sees the parcel; refusals show on the form."""

import pytest

from orders.models import Order, Shipment

from .factories_pages import page_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_as(client, roles):
    def login(name):
        client.force_login(roles[name])
        return client

    return login


def test_merchant_ships_a_line_in_the_portal(client_as, roles, merchant_a):
    consumer = roles["consumer_a"].consumer
    order = page_order(consumer=consumer, merchant=merchant_a)
    line = order.lines.get()
    client = client_as("merchant_a")
    page = client.get(f"/merchant/orders/{order.pk}/").content.decode()
    assert 'data-testid="ship-line-form"' in page
    bad = client.post(
        f"/merchant/orders/{order.pk}/ship/",
        {"line": line.pk, "carrier": "顺丰速运", "tracking_number": "x"},
    )
    assert bad.status_code == 400 and not Shipment.objects.exists()
    done = client.post(
        f"/merchant/orders/{order.pk}/ship/",
        {"line": line.pk, "carrier": "顺丰速运", "tracking_number": "SF1234567890"},
    )
    assert done.status_code == 302
    shipment = Shipment.objects.get()
    assert (shipment.line_id, shipment.tracking_number) == (line.pk, "SF1234567890")
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    page = client.get(f"/merchant/orders/{order.pk}/").content.decode()
    assert "SF1234567890" in page and 'data-testid="ship-line-form"' not in page
    mine = client_as("consumer_a").get(f"/my/orders/{order.pk}/").content.decode()
    assert "SF1234567890" in mine


def test_a_taken_tracking_number_is_refused_on_the_form(client_as, roles, merchant_a):
    consumer = roles["consumer_a"].consumer
    first = page_order(consumer=consumer, merchant=merchant_a)
    second = page_order(consumer=consumer, merchant=merchant_a)
    client = client_as("merchant_a")
    body = {"carrier": "顺丰速运", "tracking_number": "SF1234567890"}
    client.post(f"/merchant/orders/{first.pk}/ship/", body | {"line": first.lines.get().pk})
    again = client.post(
        f"/merchant/orders/{second.pk}/ship/", body | {"line": second.lines.get().pk}
    )
    assert again.status_code == 400 and "运单号已被使用" in again.content.decode()
    assert Shipment.objects.count() == 1


def test_unpaid_orders_offer_no_shipping(client_as, roles, merchant_a):
    consumer = roles["consumer_a"].consumer
    order = page_order(consumer=consumer, merchant=merchant_a, status=Order.Status.PENDING_PAYMENT)
    page = client_as("merchant_a").get(f"/merchant/orders/{order.pk}/").content.decode()
    assert 'data-testid="ship-line-form"' not in page
