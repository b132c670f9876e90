"""Repair-provider staff over the API (the permission matrix has no provider role): they see and
act on exactly the repair orders assigned to their provider (django-guardian grants), and the
cards of those repairs; everything else answers 404 as if it did not exist."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from aftersales import clock
from aftersales.tenancy.actors import SYSTEM
from repairs import services
from repairs.models import RepairOrder
from repairs.tests.factories import provider_with_staff, signed_card

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def cases(merchant_a, merchant_b, roles):
    p1, (tech1,) = provider_with_staff(staff=("p1-tech",), name="一号维修站")
    p2, (tech2,) = provider_with_staff(staff=("p2-tech",), name="二号维修站")
    repairs = []
    for merchant, role, provider in (
        (merchant_a, "consumer_a", p1),
        (merchant_b, "consumer_b", p2),
        (merchant_a, "consumer_a", None),
    ):
        card = signed_card(merchant, roles[role].consumer, signed_at=clock.now() - 30 * DAY)
        repair = services.repair_request(actor=SYSTEM, card=card, fault_description="不制冷")
        if provider is not None:
            repair = services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
        repairs.append(repair)
    return {"p1": p1, "p2": p2, "tech1": tech1, "tech2": tech2, "repairs": repairs}


def test_provider_staff_see_only_their_assigned_orders(cases):
    mine, theirs, unassigned = cases["repairs"]
    staff = _client(cases["tech1"])
    listed = staff.get("/api/v1/repair-orders/").json()["results"]
    assert [row["id"] for row in listed] == [mine.pk]
    assert staff.get(f"/api/v1/repair-orders/{mine.pk}/").status_code == 200
    for other in (theirs, unassigned):
        response = staff.get(f"/api/v1/repair-orders/{other.pk}/")
        assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_provider_staff_act_on_their_orders_only(cases):
    mine, theirs, unassigned = cases["repairs"]
    staff = _client(cases["tech1"])
    received = _post(staff, f"/api/v1/repair-orders/{mine.pk}/receive/")
    assert received.status_code == 200 and received.json()["status"] == "received"
    for other in (theirs, unassigned):
        response = _post(staff, f"/api/v1/repair-orders/{other.pk}/receive/")
        assert response.status_code == 404
    assert RepairOrder.objects.get(pk=theirs.pk).status == "assigned"
    assert RepairOrder.objects.get(pk=unassigned.pk).status == "requested"


def test_provider_staff_may_not_assign_or_resolve(cases):
    mine = cases["repairs"][0]
    staff = _client(cases["tech1"])
    response = _post(
        staff, f"/api/v1/repair-orders/{mine.pk}/assign/", {"provider": cases["p1"].pk}
    )
    assert response.status_code in (403, 404)
    assert staff.get("/api/v1/warranty-escalations/").json()["results"] == []
    providers = staff.get("/api/v1/repair-providers/").json()["results"]
    assert [p["id"] for p in providers] == [cases["p1"].pk]
    approve = _post(staff, f"/api/v1/repair-providers/{cases['p1'].pk}/suspend/", {"reason": "x"})
    assert approve.status_code == 403


def test_provider_staff_see_the_cards_of_their_repairs_only(cases):
    mine, theirs, unassigned = cases["repairs"]
    staff = _client(cases["tech1"])
    cards = staff.get("/api/v1/warranty-cards/").json()["results"]
    assert [c["id"] for c in cards] == [mine.card_id]
    assert staff.get(f"/api/v1/warranty-cards/{mine.card_id}/entitlements/").status_code == 200
    assert staff.get(f"/api/v1/warranty-cards/{theirs.card_id}/").status_code == 404
    assert staff.get(f"/api/v1/warranty-cards/{unassigned.card_id}/").status_code == 404


def test_reassignment_moves_the_grant_to_the_new_provider(cases):
    mine = cases["repairs"][0]
    services.repair_assign(repair=mine, provider=cases["p2"], actor=SYSTEM)
    assert _client(cases["tech1"]).get(f"/api/v1/repair-orders/{mine.pk}/").status_code == 404
    assert _client(cases["tech2"]).get(f"/api/v1/repair-orders/{mine.pk}/").status_code == 200


def test_provider_list_shows_others_only_admitted_providers(cases, api):
    applied = services.provider_apply(
        actor=SYSTEM, name="待审维修站", licence_number="LIC-PENDING", categories=["lcd_tv"]
    )
    merchant_view = {
        p["id"] for p in api("merchant_a").get("/api/v1/repair-providers/").json()["results"]
    }
    assert applied.pk not in merchant_view and cases["p1"].pk in merchant_view
    assert api("merchant_a").get(f"/api/v1/repair-providers/{applied.pk}/").status_code == 404
    platform = api("auditor").get("/api/v1/repair-providers/", {"status": "applied"}).json()
    assert [p["id"] for p in platform["results"]] == [applied.pk]


def test_admission_through_the_api(api):
    agent = api("after_sales_agent")
    body = {
        "name": "三号维修站",
        "licence_number": "LIC-3",
        "categories": ["lcd_tv", "mobile_phone"],
        "regions": ["上海市"],
    }
    created = agent.post("/api/v1/repair-providers/", body, format="json")
    assert created.status_code == 201 and created.json()["status"] == "applied"
    assert sorted(created.json()["categories"]) == ["lcd_tv", "mobile_phone"]
    url = f"/api/v1/repair-providers/{created.json()['id']}/"
    assert agent.post(f"{url}reject/", {}, format="json").json()["code"] == "note_required"
    assert agent.post(f"{url}approve/", {"reason": "资质齐全"}, format="json").status_code == 200
    suspended = agent.post(f"{url}suspend/", {"reason": "投诉较多"}, format="json")
    assert suspended.json()["status"] == "suspended" and suspended.json()["status_reason"]
    again = agent.post(f"{url}suspend/", {"reason": "再次"}, format="json")
    assert again.status_code == 409
    back = agent.post(f"{url}reinstate/", {"reason": "整改完成"}, format="json")
    assert back.json()["status"] == "approved"
    taken = agent.post("/api/v1/repair-providers/", body, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "licence_number_taken"
    refused = api("auditor").post(f"{url}suspend/", {"reason": "x"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "read_only_role"
