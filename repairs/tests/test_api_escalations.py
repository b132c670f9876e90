"""The escalation queue over the API: a repair past the repairer's 30 days (G6) reaches the
platform's queue through the deadline sweep — with a ``repair.timeout`` webhook delivery — and
platform staff resolve it; tenants see only their own cases."""

from datetime import timedelta

import pytest

from aftersales import clock
from aftersales.deadlines.engine import deadline_sweep
from aftersales.messaging.models import WebhookDelivery, WebhookEndpoint
from repairs.models import WarrantyEscalation
from repairs.tests.factories import at, provider_with_staff, received_repair, signed_card

pytestmark = pytest.mark.django_db

URL = "/api/v1/warranty-escalations/"
DAY = timedelta(days=1)


@pytest.fixture
def late(merchant_a, roles):
    """A repair received 31 days ago (the G6 limit passed yesterday), swept now."""
    provider, (tech,) = provider_with_staff(staff=("esc-tech",))
    now = clock.now()
    card = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=now - 60 * DAY)
    hook = WebhookEndpoint.objects.create(
        scope="platform",
        url="https://hooks.example.com/platform",
        event_types=["repair.timeout"],
        secret="whsec_test",
    )
    repair = received_repair(
        card, provider, tech, reported_at=now - 32 * DAY, received_at=now - 31 * DAY
    )
    with at(now):
        stats = deadline_sweep()
    assert stats.done >= 1
    return repair, hook


def test_a_timeout_reaches_the_queue_and_the_webhook_outbox(late, api):
    repair, hook = late
    rows = api("after_sales_agent").get(URL, {"status": "open"}).json()["results"]
    (row,) = rows
    assert row["rule"] == "G6" and row["repair"] == repair.pk
    assert row["granted_remedies"] == ["exchange", "return"] and row["cost_borne_by"] == "repairer"
    (delivery,) = WebhookDelivery.objects.filter(endpoint=hook)
    assert delivery.event_type == "repair.timeout" and delivery.event.subject_id == repair.pk
    overdue = api("merchant_a").get("/api/v1/repair-orders/", {"overdue": "true"}).json()
    assert [r["id"] for r in overdue["results"]] == [repair.pk]


def test_tenants_see_their_own_cases_only(late, api):
    repair, _hook = late
    assert [r["repair"] for r in api("consumer_a").get(URL).json()["results"]] == [repair.pk]
    assert api("consumer_b").get(URL).json()["results"] == []
    assert api("merchant_b").get(URL).json()["results"] == []


def test_platform_staff_resolve_once(late, api):
    escalation = WarrantyEscalation.objects.get()
    url = f"{URL}{escalation.pk}/resolve/"
    assert api("consumer_a").post(url, {"resolution": "exchange"}, format="json").status_code == 403
    assert api("auditor").post(url, {"resolution": "exchange"}, format="json").status_code == 403
    dismissed = api("after_sales_agent").post(url, {"resolution": "dismissed"}, format="json")
    assert dismissed.status_code == 400 and dismissed.json()["code"] == "note_required"
    done = api("after_sales_agent").post(
        url, {"resolution": "exchange", "note": "已安排换货"}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    again = api("after_sales_manager").post(url, {"resolution": "refund"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "escalation_resolved"


def test_the_queue_is_oldest_first_with_a_fixed_number_of_queries(
    late, merchant_a, roles, api, django_assert_max_num_queries
):
    repair, _hook = late
    for days in (3, 2, 1):
        card = signed_card(merchant_a, roles["consumer_a"].consumer, signed_at=clock.now() - DAY)
        WarrantyEscalation.objects.create(
            card=card,
            merchant=merchant_a,
            consumer=card.consumer,
            rule="G4",
            granted_remedies=["exchange", "return"],
            raised_at=clock.now() - days * DAY,
        )
    client = api("after_sales_manager")
    with django_assert_max_num_queries(4):
        response = client.get(URL, {"status": "open", "page_size": 25})
    raised = [row["raised_at"] for row in response.json()["results"]]
    assert len(raised) == 4 and raised == sorted(raised)
