"""The deadline engine: schedule, reminders, pause/resume/extend, cancel, sweep, status rules."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.casefile.statuses import status_move
from aftersales.deadlines import engine, registry, sandbox
from aftersales.deadlines import tasks as deadlines_tasks
from aftersales.deadlines.models import Deadline
from aftersales.policies import policy_get
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import Merchant

pytestmark = pytest.mark.backends

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
EFFECT = "test.effect"


def _effect(deadline):
    TimelineEvent.objects.create(
        subject_type=deadline.subject_type,
        subject_id=deadline.subject_id,
        verb=EFFECT,
        actor_kind="system",
        data={"deadline_id": deadline.pk},
    )
    return {"effect": deadline.pk}


def _boom(deadline):
    _effect(deadline)  # rolled back with the savepoint
    raise RuntimeError("handler failed")


registry.deadline_register("test.effect", _effect, "测试：记录一次效果")
registry.deadline_register("test.boom", _boom, "测试：总是失败")


def effects(deadline_id=None):
    qs = TimelineEvent.objects.filter(verb=EFFECT)
    if deadline_id is not None:
        qs = qs.filter(data__deadline_id=deadline_id)
    return qs.count()


@pytest.fixture
def shop(db):
    return Merchant.objects.create(code="shop-x", name="X")


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def test_schedule_records_policy_and_timeline(shop, frozen):
    ref = policy_get("logistics.stale_tracking_hours")
    row = engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 + timedelta(hours=72), actor=SYSTEM, policy=ref
    )
    assert row.state == Deadline.State.PENDING
    assert row.policy_key == "logistics.stale_tracking_hours"
    assert row.policy_value == 72
    assert row.created_at == T0
    verbs = list(
        TimelineEvent.objects.filter(
            subject_type="aftersales.merchant", subject_id=shop.pk
        ).values_list("verb", flat=True)
    )
    assert verbs == ["deadline.scheduled"]
    shown = engine.deadlines_for(shop)
    assert [(d.kind, d.due_at, d.description) for d in shown] == [
        ("test.effect", T0 + timedelta(hours=72), "测试：记录一次效果")
    ]


def test_unknown_kind_refused(shop):
    with pytest.raises(LookupError):
        engine.deadline_schedule(subject=shop, kind="nope", due_at=T0, actor=SYSTEM)


def test_scheduling_again_reschedules(shop, frozen):
    first = engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 + timedelta(hours=1), actor=SYSTEM
    )
    second = engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 + timedelta(hours=5), actor=SYSTEM
    )
    assert first.pk == second.pk
    assert Deadline.objects.filter(state="pending").count() == 1
    assert Deadline.objects.get().due_at == T0 + timedelta(hours=5)


def test_sweep_acts_once_on_due_only(shop, frozen):
    other = Merchant.objects.create(code="shop-y", name="Y")
    due = engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 + timedelta(minutes=10), actor=SYSTEM
    )
    later = engine.deadline_schedule(
        subject=other, kind="test.effect", due_at=T0 + timedelta(hours=10), actor=SYSTEM
    )
    assert engine.deadline_sweep().done == 0
    frozen.move_to(T0 + timedelta(minutes=10))
    stats = engine.deadline_sweep()
    assert (stats.done, stats.claimed) == (1, 1)
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.state == "done" and due.result == {"effect": due.pk}
    assert due.completed_at == T0 + timedelta(minutes=10)
    assert later.state == "pending"
    assert effects(due.pk) == 1
    fired = TimelineEvent.objects.get(verb="deadline.fired")
    assert (fired.subject_type, fired.subject_id, fired.data["kind"]) == (
        "aftersales.merchant",
        shop.pk,
        "test.effect",
    )
    outbox = DomainEvent.objects.get(name="deadline.fired")
    assert outbox.payload["deadline_id"] == due.pk
    # A second sweep finds nothing more to do.
    assert engine.deadline_sweep().done == 0
    assert effects(due.pk) == 1


def test_sweep_in_batches(frozen, db):
    shops = [Merchant.objects.create(code=f"b{i}", name=str(i)) for i in range(7)]
    for s in shops:
        engine.deadline_schedule(subject=s, kind="test.effect", due_at=T0, actor=SYSTEM)
    stats = engine.deadline_sweep(batch_size=3)
    assert (stats.done, stats.batches) == (7, 3)
    assert effects() == 7


def _due(n, prefix):
    shops = [Merchant.objects.create(code=f"{prefix}{i}", name=str(i)) for i in range(n)]
    for s in shops:
        engine.deadline_schedule(subject=s, kind="test.effect", due_at=T0, actor=SYSTEM)


def test_a_backlog_asks_for_helpers_after_a_full_first_batch_and_sweeps_on(frozen, db):
    """The beat task's fan-out (``aftersales.deadlines.tasks.sweep_deadlines`` →
    ``deadline_sweep_backlog``)."""
    _due(7, "k")
    asked = []
    stats = engine.deadline_sweep_backlog(
        batch_size=3, helpers=2, ask_helper=lambda: asked.append(1)
    )
    assert len(asked) == 2  # the first batch was full: DEADLINE_SWEEPERS - 1 helpers asked
    assert (stats.done, stats.claimed, stats.batches) == (7, 7, 3)  # and it swept on itself
    assert effects() == 7


def test_a_sweep_whose_first_batch_is_not_full_asks_for_no_helper(frozen, db):
    _due(2, "q")
    asked = []
    stats = engine.deadline_sweep_backlog(
        batch_size=3, helpers=2, ask_helper=lambda: asked.append(1)
    )
    assert asked == [] and (stats.done, stats.batches) == (2, 1)


def test_max_batches_counts_the_first_and_one_batch_asks_for_no_helper(frozen, db):
    _due(7, "m")
    asked = []
    one = engine.deadline_sweep_backlog(
        batch_size=3, max_batches=1, helpers=2, ask_helper=lambda: asked.append(1)
    )
    assert asked == [] and (one.done, one.batches) == (3, 1)
    two = engine.deadline_sweep_backlog(
        batch_size=3, max_batches=2, helpers=1, ask_helper=lambda: asked.append(1)
    )
    assert asked == [1] and (two.done, two.batches) == (4, 2)  # 3, then the last 1
    assert effects() == 7


def test_a_broker_that_cannot_be_reached_leaves_the_sweep_alone_on_the_backlog(frozen, db, caplog):
    _due(7, "x")
    calls = []

    def down():
        calls.append(1)
        raise ConnectionError("broker down")

    stats = engine.deadline_sweep_backlog(batch_size=3, helpers=3, ask_helper=down)
    assert len(calls) == 1  # the first failure stops the asking
    assert stats.done == 7 and effects() == 7
    assert "could not ask for a helper sweep" in caplog.text


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_sweep_marks_done_on_each_backend(frozen, db, monkeypatch, vendor):
    """The embedded SQLite default cannot run the PostgreSQL ``unnest`` UPDATE: the sweep
    falls back to ``bulk_update`` there, with the same result."""
    from django.db import connection

    if vendor == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the unnest UPDATE needs PostgreSQL")
    monkeypatch.setattr(connection, "vendor", vendor)
    shops = [Merchant.objects.create(code=f"v{i}", name=str(i)) for i in range(3)]
    rows = [
        engine.deadline_schedule(subject=s, kind="test.effect", due_at=T0, actor=SYSTEM)
        for s in shops
    ]
    assert engine.deadline_sweep().done == 3
    for row in rows:
        row.refresh_from_db()
        assert (row.state, row.result, row.attempts) == ("done", {"effect": row.pk}, 1)
        assert row.completed_at == T0


def test_failing_handler_does_not_block_others(frozen, db):
    good = [Merchant.objects.create(code=f"g{i}", name=str(i)) for i in range(3)]
    bad = Merchant.objects.create(code="bad", name="bad")
    for s in good[:2]:
        engine.deadline_schedule(subject=s, kind="test.effect", due_at=T0, actor=SYSTEM)
    failing = engine.deadline_schedule(subject=bad, kind="test.boom", due_at=T0, actor=SYSTEM)
    engine.deadline_schedule(subject=good[2], kind="test.effect", due_at=T0, actor=SYSTEM)
    stats = engine.deadline_sweep()
    assert (stats.done, stats.retried) == (3, 1)
    assert effects() == 3  # the failing handler's own effect was rolled back
    failing.refresh_from_db()
    assert failing.state == "pending" and failing.attempts == 1
    assert failing.due_at == T0 + timedelta(minutes=2)
    assert "handler failed" in failing.last_error
    for _ in range(engine.MAX_ATTEMPTS - 1):
        frozen.move_to(failing.due_at)
        engine.deadline_sweep()
        failing.refresh_from_db()
    assert failing.state == "failed"
    assert TimelineEvent.objects.filter(verb="deadline.failed", subject_id=bad.pk).count() == 1


def test_cancel(shop, frozen):
    engine.deadline_schedule(
        subject=shop,
        kind="test.effect",
        due_at=T0 + timedelta(hours=1),
        actor=SYSTEM,
        reminders=[timedelta(minutes=30)],
    )
    assert engine.deadline_cancel(subject=shop, kind="test.effect", actor=SYSTEM) == 2
    assert engine.deadline_cancel(subject=shop, kind="test.effect", actor=SYSTEM) == 0
    frozen.move_to(T0 + timedelta(hours=2))
    assert engine.deadline_sweep().done == 0
    assert engine.deadlines_for(shop) == []


def test_reminder_fires_before_the_deadline(shop, frozen):
    engine.deadline_schedule(
        subject=shop,
        kind="test.effect",
        due_at=T0 + timedelta(hours=48),
        actor=SYSTEM,
        reminders=[timedelta(hours=24), timedelta(hours=99)],
    )
    reminders = Deadline.objects.filter(kind="test.effect.reminder")
    # An offset that would fall in the past is dropped.
    assert [r.due_at for r in reminders] == [T0 + timedelta(hours=24)]
    frozen.move_to(T0 + timedelta(hours=24))
    assert engine.deadline_sweep().done == 1
    assert TimelineEvent.objects.filter(verb="deadline.reminded").count() == 1
    assert effects() == 0
    frozen.move_to(T0 + timedelta(hours=48))
    assert engine.deadline_sweep().done == 1
    assert effects() == 1


def test_pause_resume_keeps_remaining_time(shop, frozen):
    engine.deadline_schedule(
        subject=shop,
        kind="test.effect",
        due_at=T0 + timedelta(hours=10),
        actor=SYSTEM,
        reminders=[timedelta(hours=2)],
    )
    frozen.move_to(T0 + timedelta(hours=4))
    engine.deadline_pause(subject=shop, kind="test.effect", actor=SYSTEM, reason="appraisal")
    row = Deadline.objects.get(kind="test.effect")
    assert row.state == "paused" and row.remaining == timedelta(hours=6)
    frozen.move_to(T0 + timedelta(days=3))
    assert engine.deadline_sweep().done == 0  # paused rows are never claimed
    engine.deadline_resume(subject=shop, kind="test.effect", actor=SYSTEM)
    row.refresh_from_db()
    assert row.state == "pending"
    assert row.due_at == T0 + timedelta(days=3, hours=6)
    reminder = Deadline.objects.get(kind="test.effect.reminder")
    assert reminder.due_at == T0 + timedelta(days=3, hours=4)
    verbs = set(TimelineEvent.objects.values_list("verb", flat=True))
    assert {"deadline.paused", "deadline.resumed"} <= verbs


def test_extend_moves_deadline_and_reminders(shop, frozen):
    engine.deadline_schedule(
        subject=shop,
        kind="test.effect",
        due_at=T0 + timedelta(hours=10),
        actor=SYSTEM,
        reminders=[timedelta(hours=1)],
    )
    engine.deadline_extend(subject=shop, kind="test.effect", actor=SYSTEM, by=timedelta(hours=5))
    assert Deadline.objects.get(kind="test.effect").due_at == T0 + timedelta(hours=15)
    assert Deadline.objects.get(kind="test.effect.reminder").due_at == T0 + timedelta(hours=14)
    engine.deadline_extend(
        subject=shop, kind="test.effect", actor=SYSTEM, due_at=T0 + timedelta(hours=20)
    )
    assert Deadline.objects.get(kind="test.effect").due_at == T0 + timedelta(hours=20)
    with pytest.raises(engine.NotFound):
        engine.deadline_extend(subject=shop, kind="test.boom", actor=SYSTEM, by=timedelta(1))


def test_sweep_uses_the_sandbox_clock(shop, frozen):
    engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 + timedelta(hours=48), actor=SYSTEM
    )
    assert engine.deadline_sweep().done == 0
    sandbox.sandbox_clock_move(actor=SYSTEM, advance=timedelta(hours=48))
    assert engine.deadline_sweep().done == 1


def test_run_deadlines_command(shop, frozen, capsys):
    engine.deadline_schedule(subject=shop, kind="test.effect", due_at=T0, actor=SYSTEM)
    call_command("run_deadlines")
    assert "done=1" in capsys.readouterr().out
    assert effects() == 1


def test_status_rules_schedule_and_cancel(db, frozen):
    # Any model with a status will do: LogisticsAlert with a small table of moves.
    from aftersales.tenancy.models import ConsumerProfile, User
    from orders.models import LogisticsAlert

    shop = Merchant.objects.create(code="st", name="st")
    consumer = ConsumerProfile.objects.create(user=User.objects.create(username="c-st"))
    alert = LogisticsAlert.objects.create(
        shipment_id=1, order_id=1, merchant=shop, consumer=consumer, reason="stale"
    )
    engine.deadline_status_rules(
        LogisticsAlert,
        {
            "open": [
                engine.Schedules("test.effect", due=lambda obj: (T0 + timedelta(hours=1), None))
            ],
            "resolved": [engine.Cancels("test.effect")],
        },
    )
    moves = {"open": {"resolved"}, "resolved": {"open"}}
    try:
        status_move(alert, to="resolved", actor=SYSTEM, moves=moves)
        assert engine.deadlines_for(alert) == []
        status_move(alert, to="open", actor=SYSTEM, moves=moves)
        [row] = engine.deadlines_for(alert)
        assert (row.kind, row.due_at, row.merchant_id) == (
            "test.effect",
            T0 + timedelta(hours=1),
            shop.pk,
        )
        status_move(alert, to="resolved", actor=SYSTEM, moves=moves)
        assert engine.deadlines_for(alert) == []
        assert Deadline.objects.get().state == "cancelled"
    finally:
        engine._status_tables.pop("orders.logisticsalert", None)


@pytest.mark.parametrize("by", [timedelta(hours=-2), timedelta(0)])
def test_extend_refuses_a_non_positive_by(shop, frozen, by):
    row = engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 + timedelta(hours=10), actor=SYSTEM
    )
    with pytest.raises(engine.InvalidInput) as err:
        engine.deadline_extend(subject=shop, kind="test.effect", actor=SYSTEM, by=by)
    assert err.value.code == "extend_not_positive"
    row.refresh_from_db()
    assert row.due_at == T0 + timedelta(hours=10)
    assert not TimelineEvent.objects.filter(verb="deadline.extended").exists()


def test_extend_refuses_an_earlier_due_at(shop, frozen):
    engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 + timedelta(hours=10), actor=SYSTEM
    )
    with pytest.raises(engine.InvalidInput) as err:
        engine.deadline_extend(
            subject=shop, kind="test.effect", actor=SYSTEM, due_at=T0 + timedelta(hours=9)
        )
    assert err.value.code == "extend_not_positive"
    assert Deadline.objects.get(kind="test.effect").due_at == T0 + timedelta(hours=10)


def test_extend_due_within_the_minute_queues_a_sweep(
    shop, frozen, monkeypatch, django_capture_on_commit_callbacks
):

    kicks = []
    monkeypatch.setattr(
        deadlines_tasks.sweep_deadlines, "apply_async", lambda **kw: kicks.append(kw)
    )
    engine.deadline_schedule(
        subject=shop, kind="test.effect", due_at=T0 - timedelta(minutes=5), actor=SYSTEM
    )
    with django_capture_on_commit_callbacks(execute=True):
        engine.deadline_extend(
            subject=shop, kind="test.effect", actor=SYSTEM, by=timedelta(minutes=5, seconds=30)
        )
    assert len(kicks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        engine.deadline_extend(
            subject=shop, kind="test.effect", actor=SYSTEM, by=timedelta(hours=2)
        )
    assert len(kicks) == 1  # due in two hours: the beat sweep is soon enough
