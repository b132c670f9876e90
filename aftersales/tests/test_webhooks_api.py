"""Webhook API: endpoints and deliveries scoped per key; secret shown once; replay."""

import pytest

from aftersales.casefile.events import event_publish
from aftersales.messaging.models import WebhookDelivery, WebhookEndpoint
from aftersales.messaging.webhooks import webhook_endpoint_create
from aftersales.tenancy.actors import SYSTEM


def _create(client, url="https://hooks.example/a", **extra):
    return client.post(
        "/api/v1/webhook-endpoints/", {"url": url, "event_types": ["*"], **extra}, format="json"
    )


def test_merchant_key_creates_endpoint_in_its_scope_and_sees_secret_once(api, merchant_a):
    r = _create(api("merchant_key_a"))
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["scope"] == "merchant" and body["merchant"] == merchant_a.pk
    assert body["secret"].startswith("whsec_")
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.secret == body["secret"]
    again = api("merchant_key_a").get(f"/api/v1/webhook-endpoints/{body['id']}/").json()
    assert "secret" not in again


def test_merchant_key_cannot_pick_another_merchant(api, merchant_b):
    r = _create(api("merchant_key_a"), merchant=merchant_b.pk)
    assert r.status_code == 201
    assert r.json()["merchant"] != merchant_b.pk


def test_endpoints_are_scoped_outside_scope_is_404(api, merchant_a, merchant_b):
    mine, _ = webhook_endpoint_create(
        actor=SYSTEM, url="https://a.example/", event_types=["*"], merchant=merchant_a
    )
    theirs, _ = webhook_endpoint_create(
        actor=SYSTEM, url="https://b.example/", event_types=["*"], merchant=merchant_b
    )
    platform, _ = webhook_endpoint_create(actor=SYSTEM, url="https://p.example/", event_types=["*"])
    key_a = api("merchant_key_a")
    ids = [e["id"] for e in key_a.get("/api/v1/webhook-endpoints/").json()["results"]]
    assert ids == [mine.pk]
    for other in (theirs, platform):
        assert key_a.get(f"/api/v1/webhook-endpoints/{other.pk}/").status_code == 404
        assert (
            key_a.patch(
                f"/api/v1/webhook-endpoints/{other.pk}/", {"description": "x"}, format="json"
            ).status_code
            == 404
        )
        assert key_a.delete(f"/api/v1/webhook-endpoints/{other.pk}/").status_code == 404
    all_ids = {
        e["id"] for e in api("platform_key").get("/api/v1/webhook-endpoints/").json()["results"]
    }
    assert all_ids == {mine.pk, theirs.pk, platform.pk}
    assert api("consumer_a").get("/api/v1/webhook-endpoints/").json()["results"] == []
    assert _create(api("consumer_a")).status_code == 404
    assert _create(api("auditor")).status_code == 403


def test_deliveries_are_scoped_and_list_attempts(
    api, merchant_a, merchant_b, django_assert_max_num_queries
):
    mine, _ = webhook_endpoint_create(
        actor=SYSTEM, url="https://a.example/", event_types=["*"], merchant=merchant_a
    )
    webhook_endpoint_create(
        actor=SYSTEM, url="https://b.example/", event_types=["*"], merchant=merchant_b
    )
    for _ in range(3):
        event_publish("order.updated", subject=merchant_a, merchant_id=merchant_a.pk)
        event_publish("order.updated", subject=merchant_b, merchant_id=merchant_b.pk)
    client = api("merchant_key_a")
    with django_assert_max_num_queries(6):
        r = client.get("/api/v1/webhook-deliveries/")
    results = r.json()["results"]
    assert len(results) == 3 and {d["endpoint"] for d in results} == {mine.pk}
    assert all(d["attempt_log"] == [] for d in results)
    other = WebhookDelivery.objects.exclude(endpoint=mine).first()
    assert client.get(f"/api/v1/webhook-deliveries/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/webhook-deliveries/{other.pk}/replay/").status_code == 404


def test_replay_through_the_api(api, merchant_a):
    mine, _ = webhook_endpoint_create(
        actor=SYSTEM, url="https://a.example/", event_types=["*"], merchant=merchant_a
    )
    event_publish("order.updated", subject=merchant_a, merchant_id=merchant_a.pk)
    delivery = WebhookDelivery.objects.get()
    r = api("merchant_key_a").post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/")
    assert r.status_code == 201, r.json()
    assert r.json()["replay_of"] == delivery.pk and r.json()["status"] == "pending"
    WebhookEndpoint.objects.filter(pk=mine.pk).update(is_active=False)
    r = api("merchant_key_a").post(f"/api/v1/webhook-deliveries/{delivery.pk}/replay/")
    assert r.status_code == 409 and r.json()["code"] == "webhook_endpoint_disabled"


def test_reenable_resets_failure_state(api, merchant_a):
    mine, _ = webhook_endpoint_create(
        actor=SYSTEM, url="https://a.example/", event_types=["*"], merchant=merchant_a
    )
    WebhookEndpoint.objects.filter(pk=mine.pk).update(is_active=False, consecutive_failures=9)
    r = api("merchant_key_a").patch(
        f"/api/v1/webhook-endpoints/{mine.pk}/", {"is_active": True}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["is_active"] is True and r.json()["consecutive_failures"] == 0


def test_invalid_input(api):
    r = api("platform_key").post(
        "/api/v1/webhook-endpoints/", {"url": "ftp://x", "event_types": []}, format="json"
    )
    assert r.status_code == 400 and r.json()["code"] == "invalid"


def test_rotate_secret(api, merchant_a):
    created = _create(api("merchant_key_a")).json()
    r = api("merchant_key_a").post(f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret/")
    assert r.status_code == 200
    assert r.json()["secret"] != created["secret"]
    assert WebhookEndpoint.objects.get(pk=created["id"]).secret == r.json()["secret"]


def test_plain_http_is_refused_outside_the_sandbox(api, settings):
    settings.SANDBOX = False
    r = _create(api("platform_key"), url="http://hooks.example/a")
    assert r.status_code == 400 and r.json()["code"] == "webhook_https_required"
    assert _create(api("platform_key"), url="https://hooks.example/a").status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/hook",
    ],
)
def test_private_addresses_are_refused_outside_the_sandbox(api, settings, url):
    """No server-side request forgery: the platform never posts into its own network."""
    settings.SANDBOX = False
    r = _create(api("platform_key"), url=url)
    assert r.status_code == 400 and r.json()["code"] == "webhook_private_address"
    assert not WebhookEndpoint.objects.exists()
    assert _create(api("platform_key"), url="https://93.184.216.34/hook").status_code == 201


def test_delivery_to_a_repointed_private_address_is_refused(settings):
    from aftersales.messaging import webhooks

    settings.SANDBOX = False
    status, _, error = webhooks._post("https://127.0.0.1:9/hook", b"{}", {}, 1)
    assert status is None and "not a public address" in error
    settings.SANDBOX = True
    status, _, error = webhooks._post("http://127.0.0.1:9/hook", b"{}", {}, 1)
    assert "not a public address" not in error  # the sandbox may call local receivers


def test_merchant_agent_may_read_but_not_manage(roles):
    from rest_framework.test import APIClient

    from aftersales.tenancy.models import MerchantMember, User

    MerchantMember.objects.filter(user=roles["merchant_a"]).update(role="agent")
    client = APIClient()
    client.force_authenticate(user=User.objects.get(pk=roles["merchant_a"].pk))
    r = _create(client)
    assert r.status_code == 403 and r.json()["code"] == "merchant_owner_required"
    assert client.get("/api/v1/webhook-endpoints/").status_code == 200
