"""The one error body: {"code", "message", "fields"} (ARCHITECTURE.md "API conventions")."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _body(r):
    body = r.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["message"]
    return body


def test_domain_error_conflict(api, merchant_a):
    r = api("platform_key").post(
        "/api/v1/merchants/", {"code": "shop-a", "name": "x"}, format="json"
    )
    assert r.status_code in (400, 409)
    body = _body(r)
    assert body["code"] in ("merchant_code_taken", "invalid")


def test_domain_error_from_service_keeps_its_code_and_status(api):
    r = api("after_sales_manager").post(
        "/api/v1/policies/", {"key": "returns.refund_after_receipt_days", "value": 9}, format="json"
    )
    assert r.status_code == 400
    body = _body(r)
    assert body["code"] == "policy_stricter_than_law"
    assert body["fields"] == {"value": 7}


def test_validation_error_lists_fields(api):
    r = api("platform_key").post("/api/v1/merchants/", {"code": "new shop!"}, format="json")
    assert r.status_code == 400
    body = _body(r)
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"code", "name"}


def test_401_without_credentials(api):
    r = api(None).get("/api/v1/me/")
    assert r.status_code == 401
    assert _body(r)["code"] == "not_authenticated"
    assert r["WWW-Authenticate"] == "Api-Key"


def test_401_with_a_bad_key(roles):
    r = Client().get("/api/v1/me/", HTTP_AUTHORIZATION="Api-Key as_0000_nope")
    assert r.status_code == 401
    assert _body(r)["code"] == "api_key_invalid"


def test_404_outside_scope_and_missing(api, merchant_b):
    for url in (
        f"/api/v1/merchants/{merchant_b.pk}/",
        "/api/v1/merchants/999999/",
        "/api/v1/merchants/abc/",
    ):
        r = api("merchant_a").get(url)
        assert r.status_code == 404, url
        assert _body(r)["code"] == "not_found"


def test_405(api, merchant_a):
    r = api("platform_key").delete(f"/api/v1/merchants/{merchant_a.pk}/")
    assert r.status_code == 405
    assert _body(r)["code"] == "method_not_allowed"


def test_malformed_json(api):
    r = api("platform_key").post(
        "/api/v1/merchants/", data='{"code": "x",', content_type="application/json"
    )
    assert r.status_code == 400
    assert _body(r)["code"] == "malformed_request"


def test_unsupported_media_type(api):
    r = api("platform_key").post("/api/v1/merchants/", data="<x/>", content_type="text/xml")
    assert r.status_code == 415
    assert _body(r)["code"] == "unsupported_media_type"


def test_unknown_api_path_answers_json_404(roles):
    r = Client().get("/api/v1/no-such-thing/")
    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/json")
    assert _body(r)["code"] == "not_found"


def test_unknown_page_answers_html_404(roles):
    r = Client().get("/no-such-page/")
    assert r.status_code == 404
    assert not r["Content-Type"].startswith("application/json")


def test_read_only_role_gets_403_with_code(api):
    r = api("auditor").post("/api/v1/merchants/", {"code": "x1", "name": "x"}, format="json")
    assert r.status_code == 403
    assert _body(r)["code"] == "read_only_role"
