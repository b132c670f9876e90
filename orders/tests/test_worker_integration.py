"""One integration test: a real Celery worker settles a sandbox refund through Redis."""

import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal as D
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from aftersales.tenancy.actors import SYSTEM
from aftersales.tests import factories as af
from orders import services
from orders.models import GatewayRefund, Tender
from orders.tests import factories as of

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_SECONDS = 90


def _database_url():
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_sandbox_refund_settled_by_real_worker():
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if connection.vendor != "postgresql" or not broker.startswith("redis"):
        pytest.skip("needs PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL)")
    queue = f"orders-it-{uuid.uuid4().hex[:8]}"  # no other worker can take our tasks
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=broker,
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.test"),
        AFTERSALES_VAR_DIR=str(settings.VAR_DIR),
        SANDBOX_TASK_QUEUE=queue,
    )
    celery = Path(sys.executable).with_name("celery")
    worker = subprocess.Popen(
        [
            str(celery),
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-c",
            "1",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory(), prices=("88.00",))
        tender = Tender.objects.get(payment__order=order)
        with override_settings(SANDBOX_TASK_QUEUE=queue, SANDBOX_ADAPTER_DELAY_SECONDS=0.5):
            refund = services.gateway_refund_request(
                tender=tender, amount=D("88.00"), request_id=f"it-{queue}", actor=SYSTEM
            )
        assert refund.status == GatewayRefund.Status.PENDING
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline and worker.poll() is None:
            refund.refresh_from_db()
            if refund.status != GatewayRefund.Status.PENDING:
                break
            time.sleep(0.5)
        assert worker.poll() is None, "the worker exited early"
        refund.refresh_from_db()
        assert refund.status == GatewayRefund.Status.SUCCEEDED
        assert refund.attempts == 1 and refund.gateway_ref
        tender.refresh_from_db()
        assert tender.refunded_amount == D("88.00")
    finally:
        worker.terminate()
        try:
            output = worker.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            worker.kill()
            output = worker.communicate()[0]
        if output:
            print(output.decode(errors="replace")[-4000:])
