"""Repair orders over the API, end to end: the consumer requests, the merchant assigns, the
repairer records every step with its own ``occurred_at``, the unit goes back, a fault within 30
days reopens it (G12). Every step reaches the webhook outbox; POSTs replay with their
Idempotency-Key; lists keep a fixed number of queries."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from aftersales import clock
from aftersales.deadlines.models import Deadline
from aftersales.messaging.models import WebhookDelivery, WebhookEndpoint
from aftersales.tenancy.actors import SYSTEM
from repairs import deadlines, services
from repairs.models import RepairOrder, WarrantyEscalation
from repairs.tests.factories import provider_with_staff, signed_card

pytestmark = pytest.mark.django_db

URL = "/api/v1/repair-orders/"
DAY = timedelta(days=1)


def _ago(days):
    return (clock.now() - days * DAY).isoformat()


@pytest.fixture
def shop(merchant_a, roles):
    provider, (tech,) = provider_with_staff(staff=("api-tech",))
    consumer = roles["consumer_a"].consumer
    card = signed_card(merchant_a, consumer, signed_at=clock.now() - 60 * DAY)
    return provider, tech, card


def _client(who):
    """A signed-in session (or API key) client: the idempotency store sees the caller."""
    client = Client()
    if isinstance(who, str):
        client.defaults["HTTP_AUTHORIZATION"] = f"Api-Key {who}"
    else:
        client.force_login(who)
    return client


def _post(client, url, body=None, **headers):
    return client.post(url, json.dumps(body or {}), content_type="application/json", **headers)


def test_a_repair_from_request_to_return_and_a_fault_within_30_days(shop, roles, merchant_a):
    provider, tech, card = shop
    hook = WebhookEndpoint.objects.create(
        scope="merchant",
        merchant=merchant_a,
        url="https://hooks.example.com/aftersales",
        event_types=["repair.*"],
        secret="whsec_test",
    )
    consumer, shop_staff = _client(roles["consumer_a"]), _client(roles["merchant_a"])
    key, staff = _client(roles["merchant_key_a"]), _client(tech)

    created = _post(
        consumer,
        URL,
        {
            "card": card.pk,
            "fault_description": "开机黑屏",
            "service_mode": "on_site",
            "fault_reported_at": _ago(12),
        },
    )
    assert created.status_code == 201, created.content
    repair = created.json()
    assert repair["status"] == "requested" and repair["service_mode"] == "on_site"
    assert repair["entitlement_rule"] == "G3" and repair["is_paid"] is False
    detail = f"{URL}{repair['id']}/"
    assert _client(roles["consumer_b"]).get(detail).status_code == 404

    assigned = _post(
        shop_staff, f"{detail}assign/", {"provider": provider.pk, "occurred_at": _ago(11)}
    )
    assert assigned.status_code == 200 and assigned.json()["provider_name"] == provider.name

    received_at = clock.now() - 10 * DAY
    body = {"occurred_at": received_at.isoformat()}
    first = _post(key, f"{detail}receive/", body, HTTP_IDEMPOTENCY_KEY="rcv-1")
    assert first.status_code == 200, first.content
    again = _post(key, f"{detail}receive/", body, HTTP_IDEMPOTENCY_KEY="rcv-1")
    assert again.get("Idempotent-Replayed") == "true" and again.content == first.content
    g6 = next(d for d in first.json()["deadlines"] if d["kind"] == deadlines.G6_KIND)
    assert g6["state"] == "pending"
    row = RepairOrder.objects.get(pk=repair["id"])
    assert Deadline.objects.get(pk=g6["id"]).due_at == deadlines.g6_due(row)

    waiting = _post(
        staff, f"{detail}parts-wait-start/", {"parts": "背光板", "occurred_at": _ago(8)}
    )
    assert waiting.status_code == 200 and waiting.json()["status"] == "waiting_parts"
    kinds = {d["kind"]: d["state"] for d in waiting.json()["deadlines"]}
    assert kinds[deadlines.G6_KIND] == "paused" and kinds[deadlines.G5_KIND] == "pending"

    resumed = _post(staff, f"{detail}parts-wait-end/", {"occurred_at": _ago(5)})
    assert resumed.status_code == 200 and resumed.json()["status"] == "repairing"
    (wait,) = resumed.json()["parts_waits"]
    assert wait["parts"] == "背光板" and wait["ended_at"] is not None
    assert resumed.json()["parts_wait_days"] == 3

    paid = _post(
        staff, f"{detail}finish/", {"result": "fixed", "is_paid": True, "paid_reason": "misuse"}
    )
    assert paid.status_code == 200 and paid.json()["is_paid"] is True  # G11 found at the bench
    refused = _post(staff, f"{detail}return/", {"occurred_at": _ago(20)})
    assert refused.status_code == 400 and refused.json()["code"] == "occurred_at_too_early"
    returned = _post(staff, f"{detail}return/")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert returned.json()["deadlines"] == []  # G5 and G6 ended with the repair

    again = _post(consumer, f"{detail}fault-reoccurred/", {"fault_description": "又黑屏了"})
    assert again.status_code == 201, again.content
    redo = again.json()
    assert redo["reopened_from"] == repair["id"] and redo["status"] == "requested"

    verbs = [e["verb"] for e in consumer.get(detail).json()["timeline"]]
    for verb in ("repair.requested", "repair.assigned", "repair.received", "repair.fixed"):
        assert verb in verbs
    delivered = set(
        WebhookDelivery.objects.filter(endpoint=hook).values_list("event_type", flat=True)
    )
    assert {"repair.requested", "repair.assigned", "repair.received", "repair.returned"} <= (
        delivered
    )


def test_a_free_repair_can_only_turn_paid_with_a_g11_reason(shop, roles):
    provider, tech, card = shop
    repair = services.repair_request(actor=SYSTEM, card=card, fault_description="无法开机")
    repair = services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
    services.repair_receive(repair=repair, actor=SYSTEM)
    url = f"{URL}{repair.pk}/finish/"
    response = _post(
        _client(tech), url, {"result": "fixed", "is_paid": True, "paid_reason": "out_of_period"}
    )
    assert response.status_code == 400 and response.json()["code"] == "paid_reason_required"
    assert RepairOrder.objects.get(pk=repair.pk).status == "received"


def test_the_consumer_and_the_merchant_staff_may_not_act_as_the_repairer(shop, roles):
    provider, _tech, card = shop
    repair = services.repair_request(actor=SYSTEM, card=card, fault_description="无法开机")
    services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
    for role in ("consumer_a", "merchant_a"):
        response = _post(_client(roles[role]), f"{URL}{repair.pk}/receive/")
        assert response.status_code == 403 and response.json()["code"] == "repairer_only"
    assert _post(_client(roles["merchant_b"]), f"{URL}{repair.pk}/receive/").status_code == 404
    assert RepairOrder.objects.get(pk=repair.pk).status == "assigned"


def test_request_by_order_line_and_unit(shop, roles):
    _provider, _tech, card = shop
    body = {"order_line": card.order_line_id, "unit_index": 1, "fault_description": "异响"}
    response = _post(_client(roles["consumer_a"]), URL, body)
    assert response.status_code == 201 and response.json()["card"] == card.pk
    foreign = _post(_client(roles["consumer_b"]), URL, body)
    assert foreign.status_code == 404 and foreign.json()["fields"] == {"order_line": "not_found"}
    both = _post(_client(roles["consumer_a"]), URL, {**body, "card": card.pk})
    assert both.status_code == 400 and "card" in both.json()["fields"]


def _many_repairs(merchant, consumer, provider, count):
    repairs = []
    for _ in range(count):
        card = signed_card(merchant, consumer, signed_at=clock.now() - 60 * DAY)
        repair = services.repair_request(actor=SYSTEM, card=card, fault_description="无法开机")
        repairs.append(services.repair_assign(repair=repair, provider=provider, actor=SYSTEM))
    return repairs


def test_list_filters_and_overdue(shop, roles, merchant_a, api):
    provider, _tech, card = shop
    late, plain, other = _many_repairs(merchant_a, roles["consumer_a"].consumer, provider, 3)
    services.repair_cancel(repair=other, actor=SYSTEM, reason="自行解决")
    WarrantyEscalation.objects.create(
        card=late.card,
        repair=late,
        merchant=merchant_a,
        consumer=late.consumer,
        rule="G6",
        granted_remedies=["exchange", "return"],
    )
    agent = api("after_sales_agent")

    def ids(**params):
        response = agent.get(URL, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(overdue="true") == {late.pk}
    assert ids(status="cancelled") == {other.pk}
    assert ids(status=["assigned", "cancelled"]) == {late.pk, plain.pk, other.pk}
    assert ids(open="false") == {other.pk}
    assert ids(provider=provider.pk, open="true") == {late.pk, plain.pk}
    assert ids(card=plain.card_id) == {plain.pk}
    assert api("merchant_b").get(URL).json()["results"] == []


@pytest.mark.parametrize("role", ["after_sales_agent", "merchant_a", "consumer_a"])
def test_repair_list_runs_a_fixed_number_of_queries(
    shop, roles, merchant_a, role, django_assert_max_num_queries
):
    provider, _tech, _card = shop
    _many_repairs(merchant_a, roles["consumer_a"].consumer, provider, 6)
    client = _client(roles[role])
    with django_assert_max_num_queries(6):
        response = client.get(URL, {"page_size": 25})
    assert response.status_code == 200 and len(response.json()["results"]) == 6


def test_detail_runs_a_fixed_number_of_queries(shop, roles, django_assert_max_num_queries):
    provider, tech, card = shop
    repair = services.repair_request(actor=SYSTEM, card=card, fault_description="无法开机")
    repair = services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
    services.repair_receive(repair=repair, actor=SYSTEM)
    client = _client(roles["consumer_a"])
    with django_assert_max_num_queries(10):
        response = client.get(f"{URL}{repair.pk}/")
    assert response.status_code == 200 and len(response.json()["timeline"]) >= 3


def test_a_request_with_photos_keeps_them_as_evidence(shop, roles):
    from io import BytesIO

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from aftersales.tests.uploads import png_bytes

    _provider, _tech, card = shop
    png = png_bytes()
    client = _client(roles["consumer_a"])
    body = {
        "card": str(card.pk),
        "fault_description": "屏幕有竖线",
        "photos": [
            SimpleUploadedFile("front.png", png, content_type="image/png"),
            SimpleUploadedFile("back.png", png, content_type="image/png"),
        ],
    }
    response = client.post(URL, body, HTTP_IDEMPOTENCY_KEY="photo-1")
    assert response.status_code == 201, response.content
    evidence = response.json()["evidence"]
    assert [e["kind"] for e in evidence] == ["photo", "photo"]
    downloads = [client.get(e["download_url"]) for e in evidence]
    # Re-encoded without metadata (issue 14): still the same PNG picture.
    contents = [b"".join(d.streaming_content) for d in downloads]
    assert [Image.open(BytesIO(c)).size for c in contents] == [(24, 16), (24, 16)]
    body["photos"] = [SimpleUploadedFile("front.png", png, content_type="image/png")]
    reused = client.post(URL, body, HTTP_IDEMPOTENCY_KEY="photo-1")
    assert reused.status_code == 400 and reused.json()["code"] == "idempotency_key_reused"
    assert RepairOrder.objects.filter(card=card).count() == 1
