"""Integrator API keys: hashed, scoped, revocable, with last-used time (issue 2)."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.tenancy import services
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ApiKey, Merchant
from aftersales.tests import factories as f

pytestmark = pytest.mark.django_db


def _client(raw):
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw}")


def test_key_is_stored_hashed_only():
    key, raw = services.api_key_create(name="shop", scope="platform", actor=SYSTEM)
    assert key.hashed_key == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(f"as_{key.prefix}_")
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM aftersales_apikey WHERE id = %s", [key.pk])
        row = cur.fetchone()
    assert raw not in [str(v) for v in row]
    assert raw.split("_", 2)[2] not in " ".join(str(v) for v in row)


def test_create_via_api_shows_raw_key_once_and_it_works(api, merchant_a):
    r = api("after_sales_manager").post(
        "/api/v1/api-keys/",
        {"name": "ERP", "scope": "merchant", "merchant": merchant_a.pk},
        format="json",
    )
    assert r.status_code == 201, r.json()
    raw = r.json()["key"]
    key_id = r.json()["id"]
    detail = api("after_sales_manager").get(f"/api/v1/api-keys/{key_id}/").json()
    assert "key" not in detail and raw not in str(detail)
    assert _client(raw).get("/api/v1/me/").json()["merchant_id"] == merchant_a.pk
    assert TimelineEvent.objects.filter(verb="api_key.created", subject_id=key_id).exists()


@pytest.mark.parametrize(
    "body",
    [{"name": "x", "scope": "merchant"}, {"name": "x", "scope": "platform", "merchant": None}],
)
def test_create_validation(api, body, merchant_a):
    if "merchant" in body:
        body = body | {"merchant": merchant_a.pk}
    r = api("after_sales_manager").post("/api/v1/api-keys/", body, format="json")
    assert r.status_code == 400
    assert r.json()["code"] in ("merchant_required", "merchant_not_allowed")


@pytest.mark.parametrize("role", ["merchant_a", "merchant_key_a", "consumer_a"])
def test_only_platform_writers_issue_keys(api, role):
    r = api(role).post("/api/v1/api-keys/", {"name": "x", "scope": "platform"}, format="json")
    assert r.status_code == 404


def test_revoked_key_gets_401_with_code(api):
    key, raw = f.api_key("platform")
    assert _client(raw).get("/api/v1/me/").status_code == 200
    r = api("after_sales_manager").post(
        f"/api/v1/api-keys/{key.pk}/revoke/", {"reason": "leaked"}, format="json"
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = _client(raw).get("/api/v1/me/")
    assert r.status_code == 401
    assert r.json()["code"] == "api_key_revoked"
    again = api("after_sales_manager").post(f"/api/v1/api-keys/{key.pk}/revoke/", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "api_key_already_revoked"


def test_wrong_secret_with_a_valid_prefix_is_refused():
    key, raw = f.api_key("platform")
    r = _client(f"as_{key.prefix}_{'x' * 43}").get("/api/v1/me/")
    assert r.status_code == 401 and r.json()["code"] == "api_key_invalid"


def test_last_used_at_is_updated_at_most_once_a_minute():
    key, raw = f.api_key("platform")
    assert key.last_used_at is None
    with time_machine.travel("2026-11-20 10:00:00+00:00", tick=False):
        clock.invalidate()
        _client(raw).get("/api/v1/me/")
        first = ApiKey.objects.get(pk=key.pk).last_used_at
        assert first == clock.now()
    with time_machine.travel("2026-11-20 10:00:30+00:00", tick=False):
        _client(raw).get("/api/v1/me/")
        assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    with time_machine.travel("2026-11-20 10:05:00+00:00", tick=False):
        _client(raw).get("/api/v1/me/")
        assert ApiKey.objects.get(pk=key.pk).last_used_at == first + timedelta(minutes=5)


def test_merchant_key_is_scoped_to_its_merchant(merchant_a, merchant_b):
    _, raw = f.api_key("merchant", merchant_a)
    client = _client(raw)
    assert [m["code"] for m in client.get("/api/v1/merchants/").json()["results"]] == ["shop-a"]
    assert client.get(f"/api/v1/merchants/{merchant_b.pk}/").status_code == 404
    assert (
        client.post(
            "/api/v1/merchants/", {"code": "x", "name": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get("/api/v1/api-keys/").json()["results"][0]["merchant"] == merchant_a.pk
    assert Merchant.objects.count() == 2


def test_a_key_sees_only_itself(roles):
    _, raw = f.api_key("platform", name="self")
    keys = _client(raw).get("/api/v1/api-keys/").json()["results"]
    assert [k["name"] for k in keys] == ["self"]


def test_api_key_list_query_count(api, django_assert_max_num_queries, merchant_a):
    for i in range(20):
        f.api_key("merchant", merchant_a, name=f"k{i}")
    with django_assert_max_num_queries(6):
        r = api("after_sales_manager").get("/api/v1/api-keys/", {"page_size": 50})
    assert len(r.json()["results"]) >= 20


def test_key_of_a_deactivated_merchant_gets_401_with_code(merchant_a):
    key, raw = f.api_key("merchant", merchant_a)
    assert _client(raw).get("/api/v1/me/").status_code == 200
    merchant_a.is_active = False
    merchant_a.save()
    r = _client(raw).get("/api/v1/me/")
    assert r.status_code == 401
    assert r.json()["code"] == "merchant_inactive"
