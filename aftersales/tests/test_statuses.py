"""status_move: the one helper for every status move (ARCHITECTURE.md "Statuses")."""

import pytest
import time_machine

from aftersales import clock
from aftersales.casefile import statuses
from aftersales.casefile.models import TimelineEvent
from aftersales.errors import Conflict
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as f
from orders.models import Order

pytestmark = pytest.mark.django_db

MOVES = {
    "pending_payment": {"paid", "cancelled"},
    "paid": {"shipped", "cancelled"},
    "shipped": {"delivered"},
}


@pytest.fixture
def order(merchant_a):
    return Order.objects.create(merchant=merchant_a, consumer=f.ConsumerFactory(), number="N-1")


@time_machine.travel("2026-11-20 08:00:00+00:00", tick=False)
def test_allowed_move_sets_status_timestamp_and_timeline(order, roles):
    actor = actor_for_user(roles["after_sales_agent"])
    moved = statuses.status_move(
        order,
        to="paid",
        actor=actor,
        moves=MOVES,
        timestamp_field="paid_at",
        reason="线下付款",
        data={"n": 1},
    )
    assert moved.status == "paid" and moved.paid_at == clock.now()
    assert order.status == "paid" and order.paid_at == clock.now()  # caller's copy too
    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == "paid" and fresh.paid_at == clock.now()
    event = TimelineEvent.objects.get(subject_type="orders.order", subject_id=order.pk)
    assert (event.verb, event.from_status, event.to_status, event.reason) == (
        "status.paid",
        "pending_payment",
        "paid",
        "线下付款",
    )
    assert event.actor_user == roles["after_sales_agent"] and event.data == {"n": 1}
    assert event.merchant_id == order.merchant_id and event.occurred_at == clock.now()


@pytest.mark.parametrize(
    ("start", "to"),
    [("pending_payment", "shipped"), ("shipped", "paid"), ("delivered", "paid"), ("paid", "paid")],
)
def test_forbidden_move_is_409_and_changes_nothing(order, start, to):
    Order.objects.filter(pk=order.pk).update(status=start)
    with pytest.raises(Conflict) as exc:
        statuses.status_move(order, to=to, actor=SYSTEM, moves=MOVES)
    assert exc.value.code == "invalid_status_transition"
    assert exc.value.status == 409
    assert exc.value.fields == {"status": start, "to": to}
    assert Order.objects.get(pk=order.pk).status == start
    assert not TimelineEvent.objects.exists()


def test_move_is_checked_against_the_locked_row_not_the_callers_copy(order):
    stale = Order.objects.get(pk=order.pk)
    statuses.status_move(order, to="cancelled", actor=SYSTEM, moves=MOVES)
    with pytest.raises(Conflict):
        statuses.status_move(stale, to="paid", actor=SYSTEM, moves=MOVES)


def test_listeners_run_inside_the_transaction_and_can_veto(order):
    from django.db import connection

    seen = []

    def listener(obj, frm, to, actor):
        seen.append((obj.pk, frm, to, connection.in_atomic_block))
        if to == "cancelled":
            raise RuntimeError("veto")

    statuses.on_status_change(listener)
    try:
        statuses.status_move(order, to="paid", actor=SYSTEM, moves=MOVES, verb="order.paid")
        with pytest.raises(RuntimeError):
            statuses.status_move(order, to="cancelled", actor=SYSTEM, moves=MOVES)
    finally:
        statuses._listeners.remove(listener)
    assert seen == [
        (order.pk, "pending_payment", "paid", True),
        (order.pk, "paid", "cancelled", True),
    ]
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert list(TimelineEvent.objects.values_list("verb", flat=True)) == ["order.paid"]


def test_a_held_row_is_moved_without_reading_it_again(order):
    """``held=True``: the caller's locked row is moved as it is — no re-read, no savepoint —
    and a forbidden move still raises."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        with CaptureQueriesContext(connection) as ctx:
            moved = statuses.status_move(
                locked, to="paid", actor=SYSTEM, moves=MOVES, timestamp_field="paid_at", held=True
            )
        assert moved is locked and moved.status == "paid"
        assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["UPDATE", "INSERT"]
        with pytest.raises(Conflict):
            statuses.status_move(locked, to="delivered", actor=SYSTEM, moves=MOVES, held=True)
    assert Order.objects.get(pk=order.pk).status == "pending_payment"  # the Conflict failed it
