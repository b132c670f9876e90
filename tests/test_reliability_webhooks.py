"""Reliability (issue 3): a webhook endpoint that fails five times and then succeeds receives
the event, once it succeeds, and no event is lost — delivered by a real Celery worker on Redis.

The worker runs against this test's database and listens on a queue of its own (so it never
takes another test's tasks). Between attempts the sandbox clock (``ClockOffset``) moves past
the back-off, exactly as an integrator would do in the sandbox.
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from aftersales import clock
from aftersales.casefile.events import event_publish
from aftersales.casefile.models import DomainEvent
from aftersales.deadlines.models import ClockOffset
from aftersales.messaging import tasks as messaging_tasks
from aftersales.messaging.models import WebhookAttempt, WebhookDelivery
from aftersales.messaging.webhooks import webhook_endpoint_create
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests import factories as f
from aftersales.tests.test_webhooks import Receiver, expected_signature
from config.celery import app as celery_app
from tests.celery_workers import wait_until_answering

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _database_url():
    s = connection.settings_dict
    auth = s["USER"] or ""
    if s["PASSWORD"]:
        auth += f":{s['PASSWORD']}"
    host = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{s['NAME']}"


@pytest.fixture
def worker_queue():
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL)")
    queue = f"reliability-{uuid.uuid4().hex[:8]}"
    env = os.environ | {
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "AFTERSALES_VAR_DIR": str(settings.VAR_DIR),  # same PII keys: endpoint secrets decrypt
        "CONN_MAX_AGE": "0",
    }
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    celery = Path(sys.executable).with_name("celery")
    proc = subprocess.Popen(
        [
            str(celery),
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "-l",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue  # the code's own enqueues go to this worker
    try:
        wait_until_answering({queue: proc})  # its start-up is not the test's time budget
        yield queue
    finally:
        celery_app.conf.task_default_queue = previous
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.seek(0)
        output = log.read()
        log.close()
        os.unlink(log.name)
        if proc.returncode not in (0, -15) or "Traceback" in output:
            print(output[-4000:])
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(
            queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
        )


def _move_clock_to(when):
    """Set the sandbox clock so that ``now()`` is just past ``when``."""
    clock.invalidate()
    current = ClockOffset.current()
    needed = when - clock.now() + timedelta(seconds=1)
    if needed > timedelta(0):
        ClockOffset.objects.update_or_create(
            pk=1, defaults={"offset_seconds": int((current + needed).total_seconds()) + 1}
        )
    clock.invalidate()


def test_endpoint_failing_five_times_then_succeeding_gets_the_event_once(worker_queue):
    merchant = f.MerchantFactory(code="rel-shop")
    deadline = time.monotonic() + 120  # six tries; a slow machine takes 40 s
    with Receiver([500] * 5 + [200]) as rx:
        endpoint, secret = webhook_endpoint_create(
            actor=SYSTEM, url=rx.url, event_types=["*"], merchant=merchant
        )
        with transaction.atomic():  # commit → on_commit enqueues the first try for the worker
            event = event_publish(
                "refund.succeeded",
                subject=merchant,
                merchant_id=merchant.pk,
                payload={"amount": "88.00"},
            )
        delivery = WebhookDelivery.objects.get(event=event)

        for expected in range(1, 7):
            next_sweep = 0.0
            while WebhookAttempt.objects.filter(delivery=delivery).count() < expected:
                assert time.monotonic() < deadline, (
                    f"attempt {expected} did not happen; receiver saw {len(rx.requests)}"
                )
                if expected > 1 and time.monotonic() >= next_sweep:
                    # the beat's sweep, sent to the real worker (resent until the worker's
                    # 1-second clock cache has seen the new offset)
                    messaging_tasks.deliver_webhooks.apply_async(queue=worker_queue)
                    next_sweep = time.monotonic() + 1.0
                time.sleep(0.1)
            delivery.refresh_from_db()
            if expected < 6:
                assert delivery.status == "pending"
                _move_clock_to(delivery.next_attempt_at)

        delivery.refresh_from_db()
        assert delivery.status == "delivered" and delivery.attempts == 6
        # later sweeps never send it again
        _move_clock_to(clock.now() + timedelta(hours=7))
        messaging_tasks.deliver_webhooks()

    assert [r["status"] for r in rx.requests] == [500] * 5 + [200]
    assert {r["headers"]["X-Aftersales-Event-Id"] for r in rx.requests} == {f"evt_{event.pk}"}
    for r in rx.requests:
        ts = r["headers"]["X-Aftersales-Timestamp"]
        assert r["headers"]["X-Aftersales-Signature"] == expected_signature(secret, ts, r["body"])
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.status_code for a in attempts] == [500] * 5 + [200]
    assert [a.number for a in attempts] == [1, 2, 3, 4, 5, 6]
    # no event lost: every published event has a delivered row for the endpoint
    assert DomainEvent.objects.count() == 1
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status="delivered").count() == 1
