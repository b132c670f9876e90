"""Idempotency-Key with Stripe's semantics (ARCHITECTURE.md "API conventions")."""

import threading

import pytest
from django.db import connection
from django.test import Client

from aftersales.api.models import IdempotencyRecord
from aftersales.tenancy.models import Merchant
from aftersales.tests import factories as f


def _client(raw):
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw}")


def _post(client, body, key, path="/api/v1/merchants/"):
    import json

    return client.post(
        path, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


@pytest.mark.django_db
def test_replay_returns_the_first_response():
    _, raw = f.api_key("platform")
    client = _client(raw)
    first = _post(client, {"code": "idem-1", "name": "一号"}, "k-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    again = _post(client, {"code": "idem-1", "name": "一号"}, "k-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Merchant.objects.filter(code="idem-1").count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_refused():
    _, raw = f.api_key("platform")
    client = _client(raw)
    assert _post(client, {"code": "idem-2", "name": "二号"}, "k-2").status_code == 201
    r = _post(client, {"code": "idem-3", "name": "三号"}, "k-2")
    assert r.status_code == 400
    assert r.json()["code"] == "idempotency_key_reused"
    assert not Merchant.objects.filter(code="idem-3").exists()
    other_path = _post(client, {"code": "idem-2", "name": "二号"}, "k-2", path="/api/v1/consumers/")
    assert other_path.json()["code"] == "idempotency_key_reused"


@pytest.mark.django_db
def test_keys_are_per_caller():
    _, raw_1 = f.api_key("platform", name="one")
    _, raw_2 = f.api_key("platform", name="two")
    assert _post(_client(raw_1), {"code": "idem-4", "name": "四"}, "shared").status_code == 201
    r = _post(_client(raw_2), {"code": "idem-5", "name": "五"}, "shared")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r


@pytest.mark.django_db
def test_failed_request_is_not_stored_and_a_retry_runs_again():
    _, raw = f.api_key("platform")
    client = _client(raw)
    bad = _post(client, {"code": "idem-6"}, "k-6")  # name missing
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="k-6").exists()
    again = _post(client, {"code": "idem-6"}, "k-6")
    assert again.status_code == 400 and "Idempotent-Replayed" not in again
    # a failed 4xx with side effects inside leaves none behind (the whole request rolls back)
    f.MerchantFactory(code="taken")
    conflict = _post(client, {"code": "taken", "name": "x"}, "k-7")
    assert conflict.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="k-7").exists()


@pytest.mark.django_db
def test_session_user_is_an_owner_too(client, roles):
    client.force_login(roles["after_sales_manager"])
    import json

    def go():
        return client.post(
            "/api/v1/merchants/",
            data=json.dumps({"code": "s-1", "name": "s"}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="sess",
        )

    assert go().status_code == 201
    assert go()["Idempotent-Replayed"] == "true"
    assert Merchant.objects.filter(code="s-1").count() == 1


@pytest.mark.django_db
def test_too_long_key_is_refused():
    _, raw = f.api_key("platform")
    r = _post(_client(raw), {"code": "idem-8", "name": "八"}, "x" * 256)
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_invalid"


@pytest.mark.django_db
def test_multipart_body_is_hashed_without_reading_it_twice(roles):
    _, raw = f.api_key("platform")
    client = _client(raw)
    from django.core.files.uploadedfile import SimpleUploadedFile

    def go(content):
        upload = SimpleUploadedFile("a.txt", content)
        return client.post(
            "/api/v1/merchants/",
            {"code": "mp-1", "name": "多", "f": upload},
            HTTP_IDEMPOTENCY_KEY="mp",
        )

    first = go(b"hello")
    assert first.status_code == 201, first.content
    assert go(b"hello")["Idempotent-Replayed"] == "true"
    assert go(b"other").json()["code"] == "idempotency_key_reused"


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_have_exactly_one_side_effect():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking")
    _, raw = f.api_key("platform")
    threads, results = 6, []
    barrier = threading.Barrier(threads)
    lock = threading.Lock()

    def worker():
        from django.db import connections

        try:
            barrier.wait()
            r = _post(_client(raw), {"code": "race", "name": "竞争"}, "race-key")
            with lock:
                results.append((r.status_code, r.content, r.get("Idempotent-Replayed")))
        finally:
            connections.close_all()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert len(results) == threads
    assert Merchant.objects.filter(code="race").count() == 1
    assert {status for status, _, _ in results} == {201}
    assert len({body for _, body, _ in results}) == 1
    assert sum(1 for *_, replayed in results if replayed == "true") == threads - 1
    assert IdempotencyRecord.objects.filter(key="race-key").count() == 1


@pytest.mark.django_db
def test_prune_removes_only_old_records():
    import io
    from datetime import timedelta

    from django.core.management import call_command

    from aftersales import clock

    old = IdempotencyRecord.objects.create(
        owner="o",
        key="old",
        method="POST",
        path="/api/",
        request_hash="x",
        status_code=201,
        created_at=clock.now() - timedelta(hours=100),
    )
    new = IdempotencyRecord.objects.create(
        owner="o", key="new", method="POST", path="/api/", request_hash="x", status_code=201
    )
    out = io.StringIO()
    call_command("prune_idempotency_keys", stdout=out)
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert IdempotencyRecord.objects.filter(pk=new.pk).exists()
    assert "deleted 1" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "secret_field"),
    [
        ("/api/v1/api-keys/", {"name": "新密钥", "scope": "platform"}, "key"),
        (
            "/api/v1/webhook-endpoints/",
            {"url": "https://hooks.example.com/in", "event_types": ["*"]},
            "secret",
        ),
    ],
)
def test_secrets_shown_once_are_not_kept_by_the_idempotency_store(path, body, secret_field):
    """A raw API key is stored hashed only, a webhook secret only on its endpoint: an
    idempotent replay would keep them in clear in ``IdempotencyRecord.response_body``."""
    _, raw = f.api_key("platform")
    response = _post(_client(raw), body, "secret-1", path=path)
    assert response.status_code == 201, response.content
    secret = response.json()[secret_field]
    assert secret and "no-store" in response["Cache-Control"]
    for record in IdempotencyRecord.objects.all():
        assert secret.encode() not in bytes(record.response_body or b"")


@pytest.mark.django_db
def test_rotated_webhook_secret_is_not_kept_by_the_idempotency_store(settings):
    _, raw = f.api_key("platform")
    client = _client(raw)
    endpoint = _post(
        client,
        {"url": "https://hooks.example.com/in", "event_types": ["*"]},
        "ep-1",
        path="/api/v1/webhook-endpoints/",
    ).json()
    rotated = _post(
        client, {}, "rot-1", path=f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret/"
    )
    assert rotated.status_code == 200, rotated.content
    secret = rotated.json()["secret"]
    for record in IdempotencyRecord.objects.all():
        assert secret.encode() not in bytes(record.response_body or b"")
