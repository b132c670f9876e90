"""Broker down, worker crashed (issue 19): a request never waits long for the broker, whatever
could not be sent is sent later by a periodic sweep, and a crashed worker's work is picked up
within two minutes."""

import ast
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.test import override_settings

from aftersales import clock
from aftersales.messaging import notifications
from aftersales.tenancy.actors import SYSTEM
from config.celery import app
from orders import services
from orders.adapters.carrier import SandboxCarrier
from orders.models import GatewayRefund
from orders.tasks import resubmit_stale_pickup_bookings, resubmit_stale_refunds
from orders.tests.test_adapters import RecordingGateway
from returns.adapters.inspection import SandboxInspectionProvider
from returns.models import InspectionRequest
from returns.tasks import resubmit_stale_inspections

ROOT = Path(__file__).resolve().parent.parent
RECOVERY_LIMIT = timedelta(minutes=2)


def test_a_send_tries_the_broker_once_more_at_most_and_briefly():
    conf = current_app.conf
    assert conf.task_publish_retry is True
    assert conf.task_publish_retry_policy["max_retries"] <= 1
    assert conf.task_publish_retry_policy["interval_max"] <= 0.5
    assert conf.broker_connection_timeout <= 2


def test_redis_sockets_time_out_and_unacked_tasks_return_within_the_recovery_limit():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; import django; django.setup(); "
            "print(settings.CELERY_BROKER_TRANSPORT_OPTIONS)",
        ],
        cwd=ROOT,
        env={**os.environ, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    options = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert options["socket_connect_timeout"] <= 2 and options["socket_timeout"] <= 4
    assert options["visibility_timeout"] <= RECOVERY_LIMIT.total_seconds()


def test_with_the_broker_down_an_enqueue_after_commit_returns_and_logs():
    """A real send to a broker that refuses connections, in a process of its own: the send
    gives up (logged) instead of raising into the request; the row stays for the sweep."""
    script = (
        "import django, logging; django.setup(); "
        "logging.basicConfig(level=logging.WARNING); "
        "import config.celery; "
        "from aftersales.messaging.notifications import enqueue; "
        "enqueue('send_notification', 1); print('returned')"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "CELERY_BROKER_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("returned")
    assert "could not enqueue send_notification" in out.stderr


def _schedule(task):
    return next(
        entry["schedule"] for entry in app.conf.beat_schedule.values() if entry["task"] == task
    )


def test_every_lost_send_is_recovered_within_two_minutes():
    """The worst case for each kind of work: lost (broker down, or the worker died holding
    it), found stale, then found by the next run of its periodic sweep."""
    sweep = timedelta(seconds=_schedule("aftersales.sweep_deadlines"))
    deliveries = timedelta(seconds=_schedule("aftersales.deliver_webhooks"))
    refunds = timedelta(seconds=_schedule("orders.resubmit_stale_refunds"))
    pickups = timedelta(seconds=_schedule("orders.resubmit_stale_pickups"))
    inspections = timedelta(seconds=_schedule("returns.resubmit_stale_inspections"))
    # Deadlines are rows claimed in a transaction: a crash rolls the claim back.
    assert sweep <= RECOVERY_LIMIT
    # Webhook and notification deliveries: leased rows, free again after the lease.
    assert notifications.LEASE + deliveries <= RECOVERY_LIMIT
    # Gateway refunds and transfers, pickup bookings, inspections: rows waiting for an answer,
    # sent again once stale.
    stale = timedelta(seconds=settings.RESUBMIT_AFTER_SECONDS)
    for period in (refunds, pickups, inspections):
        assert stale + period <= RECOVERY_LIMIT


@pytest.fixture
def tender(db):
    from aftersales.tests import factories as af
    from orders.models import Tender
    from orders.tests import factories as of

    order = of.paid_order(af.MerchantFactory(), af.ConsumerFactory(), prices=("100.00",))
    return Tender.objects.get(payment__order=order)


def test_a_refund_whose_send_was_lost_is_sent_again_after_a_minute(tender):
    with override_settings(PAYMENT_GATEWAY="orders.tests.test_adapters.RecordingGateway"):
        RecordingGateway.submitted.clear()
        refund = services.gateway_refund_request(
            tender=tender, amount=D("5.00"), request_id="lost-send", actor=SYSTEM
        )
        RecordingGateway.submitted.clear()  # the send after commit was lost
        requested = clock.now()
        GatewayRefund.objects.filter(pk=refund.pk).update(
            requested_at=requested - timedelta(seconds=59)
        )
        assert resubmit_stale_refunds() == 0
        GatewayRefund.objects.filter(pk=refund.pk).update(
            requested_at=requested - timedelta(seconds=61)
        )
        assert resubmit_stale_refunds() == 1
        assert RecordingGateway.submitted == [refund.pk]


class RecordingCarrier(SandboxCarrier):
    booked = []

    def book_pickup(self, booking_id, **kwargs):
        self.booked.append(booking_id)


class RecordingInspector(SandboxInspectionProvider):
    name = "sandbox-inspect"
    submitted = []

    def submit(self, inspection_id, **kwargs):
        self.submitted.append(inspection_id)


@override_settings(CARRIER="tests.test_broker_faults.RecordingCarrier")
def test_a_pickup_booking_whose_send_was_lost_is_sent_again_after_a_minute(db):
    tomorrow = clock.local(clock.now() + timedelta(days=1)).replace(hour=10, minute=0)
    booking = services.pickup_book(
        request_id="lost-pickup",
        slot_start=tomorrow,
        slot_end=tomorrow + timedelta(hours=2),
        contact={"name": "张三", "phone": "13812345678", "province": "上海市", "city": "上海市"},
        actor=SYSTEM,
    )
    RecordingCarrier.booked.clear()
    booking.requested_at = clock.now() - timedelta(seconds=59)
    booking.save(update_fields=["requested_at"])
    assert resubmit_stale_pickup_bookings() == 0
    booking.requested_at = clock.now() - timedelta(seconds=61)
    booking.save(update_fields=["requested_at"])
    assert resubmit_stale_pickup_bookings() == 1
    assert RecordingCarrier.booked == [booking.pk]


@override_settings(INSPECTION_PROVIDER="tests.test_broker_faults.RecordingInspector")
def test_an_inspection_whose_send_was_lost_is_sent_again_after_a_minute(db):
    from aftersales.tenancy.actors import actor_for_user
    from aftersales.tenancy.models import PlatformGroup
    from aftersales.tests import factories as af
    from returns.services import arbitration_inspection_request
    from returns.tests.cases import case

    request = case(af.MerchantFactory(), af.ConsumerFactory(), to="arbitration")
    agent = actor_for_user(af.platform_user(PlatformGroup.AGENT))
    inspection = arbitration_inspection_request(request=request, actor=agent)
    RecordingInspector.submitted.clear()
    InspectionRequest.objects.filter(pk=inspection.pk).update(
        requested_at=clock.now() - timedelta(seconds=59)
    )
    assert resubmit_stale_inspections() == 0
    InspectionRequest.objects.filter(pk=inspection.pk).update(
        requested_at=clock.now() - timedelta(seconds=61)
    )
    assert resubmit_stale_inspections() == 1
    assert RecordingInspector.submitted == [inspection.pk]
