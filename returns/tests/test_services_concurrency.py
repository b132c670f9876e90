"""Races settled by row locks, with real threads and separate connections (transaction=True):
R11 instant refund against the merchant's shipment (exactly one wins), and 50 parallel
approve/refund calls producing one refund."""

import fcntl
import tempfile
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection

from aftersales import clock
from aftersales.errors import Conflict, RuleViolation
from orders import services as order_services
from orders.models import GatewayRefund, Shipment
from returns import services
from returns.models import Refund, RefundPart, ReturnRequest
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def _connections_to_spare(n):
    """Many connections at once (``n`` > 10) wait for the suite's other processes' many: two
    runs of 50 threads at the same moment on PostgreSQL's default ``max_connections`` of 100
    would be refused ("too many clients"). A file lock shared by the xdist processes."""
    if n <= 10:
        yield
        return
    s = connection.settings_dict
    name = f"aftersales-tests-connections-{s['HOST'] or 'local'}-{s['PORT'] or 5432}.lock"
    with open(Path(tempfile.gettempdir()) / name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_parallel(fns):
    """Run ``fns`` at the same moment, each in its own thread and connection; returns
    ``[(result, exception), ...]`` in order."""
    with _connections_to_spare(len(fns)):
        return _run_parallel(fns)


def _run_parallel(fns):
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def worker(i, fn):
        try:
            barrier.wait()
            out[i] = (fn(), None)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            out[i] = (None, exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


@pytest.mark.parametrize("round_", range(4))
def test_r11_instant_refund_races_the_shipment_exactly_one_wins(round_):
    line = rf.order_line(quantity=2, tenders=(("card", "150.00"), ("balance", None)))
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)

    def refund():
        return services.return_request_create(
            line=line, kind="refund_only", reason="changed_mind", quantity=2, actor=consumer
        )

    def ship():
        return order_services.shipment_create(
            line=line, carrier="SF", tracking_number=f"SFRACE{line.pk}", actor=merchant
        )

    fns = [refund, ship] if round_ % 2 == 0 else [ship, refund]
    results = dict(
        zip(
            ["refund", "ship"] if round_ % 2 == 0 else ["ship", "refund"],
            run_parallel(fns),
            strict=True,
        )
    )
    (request, refund_err), (shipment, ship_err) = results["refund"], results["ship"]
    assert (request is None) != (shipment is None), results
    line.refresh_from_db()
    if request is not None:
        # a one-line order is cancelled with its line
        assert isinstance(ship_err, RuleViolation)
        assert ship_err.code in ("line_cancelled", "order_cancelled")
        assert line.cancelled_at is not None and not Shipment.objects.filter(line=line).exists()
        refund_row = Refund.objects.get(request=request)
        assert refund_row.amount == line.paid_amount
        assert sorted(RefundPart.objects.values_list("amount", flat=True)) == sorted(
            [line.paid_amount * 3 / 4, line.paid_amount / 4]
        )
        assert ReturnRequest.objects.get().status == "refunding"
    else:
        assert isinstance(refund_err, RuleViolation) and refund_err.code == "already_shipped"
        assert line.cancelled_at is None and not ReturnRequest.objects.exists()


def _received_request():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1))
    request, _consumer, merchant = rf.request_at(line, "received")
    return request, merchant


def test_fifty_parallel_refunds_make_one_refund():
    request, merchant = _received_request()
    results = run_parallel(
        [lambda: services.return_refund(request=request, actor=merchant) for _ in range(50)]
    )
    errors = [e for _r, e in results if e is not None]
    assert errors == []
    assert len({r.pk for r, _e in results}) == 1
    assert Refund.objects.count() == 1
    assert GatewayRefund.objects.count() == 1
    assert ReturnRequest.objects.get().status == "refunding"


def test_fifty_parallel_approvals_of_a_refund_only_request_make_one_refund():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1))
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    request = services.return_request_create(
        line=line, kind="refund_only", reason="no_reason", quantity=1, actor=consumer
    )
    results = run_parallel(
        [lambda: services.return_request_approve(request=request, actor=merchant)] * 50
    )
    ok = [r for r, e in results if e is None]
    conflicts = [e for _r, e in results if isinstance(e, Conflict)]
    assert len(ok) == 1 and len(conflicts) == 49
    assert {e.code for e in conflicts} == {"invalid_status_transition"}
    assert Refund.objects.count() == 1 and GatewayRefund.objects.count() == 1
