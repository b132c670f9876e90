"""Webhooks: outbox in the same transaction, signing, back-off, disabling, replay."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.messaging import tasks as messaging_tasks
from aftersales.messaging import webhooks
from aftersales.messaging.models import (
    Notification,
    NotificationDelivery,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as f


class Receiver:
    """A tiny HTTP server on 127.0.0.1 that answers with ``codes`` in turn (then the last one)
    and records every request (headers, body, answered status)."""

    def __init__(self, codes=(200,)):
        self.codes = list(codes)
        self.requests = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    n = len(receiver.requests)
                    code = receiver.codes[min(n, len(receiver.codes) - 1)]
                    receiver.requests.append(
                        {"headers": dict(self.headers), "body": body, "status": code}
                    )
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def expected_signature(secret, timestamp, body):
    return (
        "v1="
        + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def make_endpoint(url, merchant=None, event_types=("*",)):
    return webhooks.webhook_endpoint_create(
        actor=SYSTEM, url=url, event_types=list(event_types), merchant=merchant
    )


def publish(merchant, name="order.updated", **payload):
    return event_publish(name, subject=merchant, merchant_id=merchant.pk, payload=payload)


# -- outbox ------------------------------------------------------------------------------------


def test_outbox_row_is_written_in_the_publishing_transaction(merchant_a):
    endpoint, _ = make_endpoint("http://127.0.0.1:9/hook")
    with transaction.atomic():
        event = publish(merchant_a)
        # visible inside the transaction, before any commit
        assert WebhookDelivery.objects.filter(event=event, endpoint=endpoint).count() == 1


def test_rolled_back_change_leaves_no_delivery(merchant_a):
    make_endpoint("http://127.0.0.1:9/hook")
    with pytest.raises(RuntimeError), transaction.atomic():
        publish(merchant_a)
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the change fails")
    assert WebhookDelivery.objects.count() == 0


def test_merchant_endpoint_gets_only_its_merchants_events_and_matching_types(
    merchant_a, merchant_b
):
    platform, _ = make_endpoint("http://127.0.0.1:9/all")
    shop_a, _ = make_endpoint("http://127.0.0.1:9/a", merchant=merchant_a)
    refunds_a, _ = make_endpoint(
        "http://127.0.0.1:9/ra", merchant=merchant_a, event_types=["refund.*"]
    )
    disabled, _ = make_endpoint("http://127.0.0.1:9/off", merchant=merchant_a)
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(is_active=False)

    publish(merchant_a, "order.updated")
    publish(merchant_b, "order.updated")
    publish(merchant_a, "refund.succeeded")

    def names(endpoint):
        return sorted(endpoint.deliveries.values_list("event_type", flat=True))

    assert names(platform) == ["order.updated", "order.updated", "refund.succeeded"]
    assert names(shop_a) == ["order.updated", "refund.succeeded"]
    assert names(refunds_a) == ["refund.succeeded"]
    assert names(disabled) == []


def test_event_type_patterns():
    assert webhooks.event_type_matches(["*"], "a.b")
    assert webhooks.event_type_matches(["refund.*"], "refund.succeeded")
    assert not webhooks.event_type_matches(["refund.*"], "refunds.x")
    assert webhooks.event_type_matches(["a.b"], "a.b")
    assert not webhooks.event_type_matches(["a.c"], "a.b")


# -- delivery and signature --------------------------------------------------------------------


def test_delivery_is_signed_and_logged(merchant_a):
    with Receiver([200]) as rx:
        endpoint, secret = make_endpoint(rx.url)
        event = publish(merchant_a, amount="12.30")
        delivery = WebhookDelivery.objects.get(event=event)
        messaging_tasks.deliver_webhook(delivery.pk)

    assert len(rx.requests) == 1
    req = rx.requests[0]
    ts = req["headers"]["X-Aftersales-Timestamp"]
    assert req["headers"]["X-Aftersales-Signature"] == expected_signature(secret, ts, req["body"])
    assert req["headers"]["X-Aftersales-Event-Id"] == f"evt_{event.pk}"
    body = json.loads(req["body"])
    assert body["id"] == f"evt_{event.pk}" and body["type"] == "order.updated"
    assert body["data"]["payload"] == {"amount": "12.30"}
    assert body["data"]["merchant_id"] == merchant_a.pk
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 200 and attempt.error == ""
    # a second run of the task does nothing: the row is no longer pending
    messaging_tasks.deliver_webhook(delivery.pk)
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


def test_signature_with_another_secret_does_not_verify(merchant_a):
    with Receiver([200]) as rx:
        make_endpoint(rx.url)
        publish(merchant_a)
        messaging_tasks.deliver_webhooks()
    req = rx.requests[0]
    ts = req["headers"]["X-Aftersales-Timestamp"]
    assert req["headers"]["X-Aftersales-Signature"] != expected_signature("wrong", ts, req["body"])


def test_failure_schedules_backoff_and_retry_happens_when_due(merchant_a):
    with Receiver([500, 500, 200]) as rx:
        make_endpoint(rx.url)
        publish(merchant_a)
        delivery = WebhookDelivery.objects.get()
        messaging_tasks.deliver_webhook(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.last_status_code == 500
        first_due = delivery.next_attempt_at
        assert first_due - clock.now() > timedelta(seconds=50)

        messaging_tasks.deliver_webhooks()  # not due yet: nothing sent
        assert len(rx.requests) == 1

        with time_machine.travel(first_due + timedelta(seconds=1), tick=False):
            messaging_tasks.deliver_webhooks()
            delivery.refresh_from_db()
            assert delivery.attempts == 2
            second_due = delivery.next_attempt_at
        assert second_due - first_due >= timedelta(minutes=2)
        with time_machine.travel(second_due + timedelta(seconds=1), tick=False):
            messaging_tasks.deliver_webhooks()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert [r["status"] for r in rx.requests] == [500, 500, 200]
    assert len({r["headers"]["X-Aftersales-Event-Id"] for r in rx.requests}) == 1


def test_backoff_schedule_keeps_retrying_for_at_least_72_hours():
    created = datetime(2026, 11, 1, tzinfo=UTC)
    elapsed, failures = timedelta(0), 0
    delays = []
    while not webhooks.retry_gives_up(created_at=created, now=created + elapsed):
        failures += 1
        delay = webhooks.backoff_delay(failures)
        delays.append(delay)
        elapsed += delay
    assert elapsed >= timedelta(hours=72)
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(delays) == timedelta(hours=6)
    assert failures < 40


def test_broker_down_does_not_break_the_write_and_the_sweep_delivers(
    merchant_a, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(messaging_tasks.deliver_webhook, "apply_async", unreachable)
    with Receiver([200]) as rx:
        make_endpoint(rx.url)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                publish(merchant_a)
        assert len(callbacks) == 1  # the enqueue ran and swallowed the error
        assert WebhookDelivery.objects.get().status == "pending"
        messaging_tasks.deliver_webhooks()
    assert WebhookDelivery.objects.get().status == "delivered"
    assert len(rx.requests) == 1


def test_endpoint_failing_for_72_hours_is_disabled_and_owner_notified(merchant_a):
    owner = f.MerchantMemberFactory(
        merchant=merchant_a, user=f.UserFactory(username="owner-a", email="owner@a.test")
    ).user
    endpoint, _ = make_endpoint("http://127.0.0.1:9/refused", merchant=merchant_a)
    publish(merchant_a)
    delivery = WebhookDelivery.objects.get()
    start = clock.now()
    for _ in range(60):
        delivery.refresh_from_db()
        if delivery.status != "pending":
            break
        with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
            messaging_tasks.deliver_webhooks()
            endpoint.refresh_from_db()
            if clock.now() - start < timedelta(hours=72):
                assert endpoint.is_active  # not disabled before 72 h of failures
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == WebhookAttempt.objects.filter(delivery=delivery).count()
    assert delivery.attempt_log.last().at - start >= timedelta(hours=72)
    assert not endpoint.is_active and endpoint.disabled_at is not None
    note = Notification.objects.get(user=owner, event="webhook.endpoint_disabled")
    assert endpoint.url in note.title
    email = NotificationDelivery.objects.get(notification=note, channel="email")
    messaging_tasks.send_notification(email.pk)
    assert [m.to for m in mail.outbox] == [["owner@a.test"]]
    # new events no longer queue for a disabled endpoint
    publish(merchant_a)
    assert WebhookDelivery.objects.count() == 1


def test_success_resets_the_failure_streak(merchant_a):
    with Receiver([500, 200]) as rx:
        endpoint, _ = make_endpoint(rx.url)
        publish(merchant_a)
        delivery = WebhookDelivery.objects.get()
        messaging_tasks.deliver_webhook(delivery.pk)
        endpoint.refresh_from_db()
        assert endpoint.consecutive_failures == 1 and endpoint.failing_since is not None
        delivery.refresh_from_db()
        with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
            messaging_tasks.deliver_webhook(delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.failing_since is None


def test_replay_creates_a_new_delivery_with_the_same_event(merchant_a, roles):
    with Receiver([200]) as rx:
        make_endpoint(rx.url)
        event = publish(merchant_a)
        original = WebhookDelivery.objects.get()
        messaging_tasks.deliver_webhook(original.pk)
        replay = webhooks.webhook_delivery_replay(
            delivery=original, actor=actor_for_user(roles["after_sales_manager"])
        )
        assert replay.replay_of_id == original.pk and replay.status == "pending"
        messaging_tasks.deliver_webhook(replay.pk)
    assert [r["headers"]["X-Aftersales-Event-Id"] for r in rx.requests] == [f"evt_{event.pk}"] * 2
    replay.refresh_from_db()
    assert replay.status == "delivered"


def test_admin_pages_and_replay_action(client, merchant_a):
    admin_user = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    make_endpoint("http://127.0.0.1:9/hook", merchant=merchant_a)
    publish(merchant_a)
    delivery = WebhookDelivery.objects.get()
    for model in (
        "webhookendpoint",
        "webhookdelivery",
        "notificationpreference",
        "notification",
        "notificationdelivery",
        "inboundcallback",
        "sandboxsmsmessage",
    ):
        assert client.get(f"/admin/aftersales/{model}/").status_code == 200, model
    assert client.get(f"/admin/aftersales/webhookdelivery/{delivery.pk}/change/").status_code == 200
    page = client.get(f"/admin/aftersales/webhookendpoint/{delivery.endpoint_id}/change/")
    assert page.status_code == 200 and b"whsec_" not in page.content
    r = client.post(
        "/admin/aftersales/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    assert r.status_code == 302
    replay = WebhookDelivery.objects.get(replay_of=delivery)
    assert replay.status == "pending"


def test_a_claimed_delivery_is_not_sent_by_another_worker(merchant_a):
    with Receiver([200]) as rx:
        make_endpoint(rx.url)
        publish(merchant_a)
        delivery = WebhookDelivery.objects.get()
        claimed = webhooks._claim(WebhookDelivery.objects.all(), 10)  # worker 1 holds the lease
        assert [d.pk for d in claimed] == [delivery.pk]
        messaging_tasks.deliver_webhook(delivery.pk)  # worker 2
        messaging_tasks.deliver_webhooks()
        assert rx.requests == []
        delivery.refresh_from_db()
        # a worker that died mid-send is covered: the lease expires and the row is retried
        with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
            messaging_tasks.deliver_webhooks()
    assert len(rx.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweepers_claim_disjoint_rows(monkeypatch):
    monkeypatch.setattr(webhooks, "enqueue", lambda *args: None)  # committed: keep the broker out
    merchant = f.MerchantFactory()
    make_endpoint("http://127.0.0.1:9/hook")
    for _ in range(20):
        publish(merchant)
    barrier = threading.Barrier(2)
    claims = []

    def sweeper():
        from django.db import connection

        try:
            barrier.wait(timeout=10)
            claims.append({d.pk for d in webhooks._claim(WebhookDelivery.objects.all(), 15)})
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(claims) == 2
    assert not claims[0] & claims[1]
    assert len(claims[0] | claims[1]) == 20


def test_endpoints_read_once_with_the_same_deliveries(merchant_a, merchant_b):
    """The outbox reads the endpoints of the platform and a merchant once, then from the shared
    cache (``aftersales.shared_cache``), and each event is delivered to the endpoints that
    match it, as without the cache; an endpoint created in between is seen at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    platform, _ = make_endpoint("http://127.0.0.1:9/all")
    shop_a, _ = make_endpoint("http://127.0.0.1:9/a", merchant=merchant_a)
    refunds_a, _ = make_endpoint(
        "http://127.0.0.1:9/ra", merchant=merchant_a, event_types=["refund.*"]
    )
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            publish(merchant_a, "order.updated")
            publish(merchant_a, "refund.succeeded")
            publish(merchant_a, "order.updated")
        reads = [q for q in ctx.captured_queries if "aftersales_webhookendpoint" in q["sql"]]
        assert len(reads) == 1
        publish(merchant_b, "order.updated")  # another merchant: its endpoints read then
        shop_b, _ = make_endpoint("http://127.0.0.1:9/b", merchant=merchant_b)
        publish(merchant_b, "refund.succeeded")

    def names(endpoint):
        return sorted(endpoint.deliveries.values_list("event_type", flat=True))

    assert names(platform) == ["order.updated"] * 3 + ["refund.succeeded"] * 2
    assert names(shop_a) == ["order.updated", "order.updated", "refund.succeeded"]
    assert names(refunds_a) == ["refund.succeeded"]
    assert names(shop_b) == ["refund.succeeded"]


def test_an_endpoint_written_by_any_path_is_seen_by_the_next_event(merchant_a):
    """The outbox's shared-cache entry is dropped by ``WebhookEndpoint.save`` and ``delete``,
    not by each service: an endpoint created or removed through the ORM (a data fix, a
    migration) is seen by the next event after the entry was filled."""
    publish(merchant_a, "order.updated")  # fills the entry: no endpoint yet
    endpoint = WebhookEndpoint.objects.create(
        scope=WebhookEndpoint.Scope.MERCHANT,
        merchant=merchant_a,
        url="http://127.0.0.1:9/direct",
        event_types=["*"],
        secret="whsec_direct",
        created_at=clock.now(),
    )
    publish(merchant_a, "order.updated")
    assert endpoint.deliveries.count() == 1
    endpoint.deliveries.all().delete()
    endpoint.delete()
    publish(merchant_a, "order.updated")  # would fail on the deleted endpoint's id
    assert not WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).exists()
