"""aftersales.fresh: a case created in this transaction answers from the rows written for it,
exactly as reading them back would, and stops doing so whenever its rows change another way."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from aftersales import clock, events
from aftersales import deadlines as engine
from aftersales.actors import SYSTEM
from aftersales.deadlines import OPEN_STATES, REMINDER_SUFFIX
from aftersales.fresh import as_stored, fresh_forget, fresh_take, fresh_track, fresh_written
from aftersales.models import Merchant
from aftersales.timeline import timeline_events, timeline_record

KIND = "test.fresh"
engine.deadline_register(KIND, lambda deadline: {}, "测试：新建案件的期限")

pytestmark = pytest.mark.django_db


@pytest.fixture
def case():
    subject = Merchant.objects.create(code="fresh-x", name="X")
    fresh_track(subject)
    return subject


def _fields(event):
    return (
        event.pk,
        event.verb,
        event.data,
        list(event.data),
        event.occurred_at,
        event.actor_kind,
        event.actor_label,
    )


def _read_back(subject):
    again = Merchant.objects.get(pk=subject.pk)  # not tracked: reads the database
    return timeline_events(again), engine.deadlines_for(again, include_reminders=True)


def _kept(written):
    return (
        written.events(),
        written.open_deadlines(OPEN_STATES, REMINDER_SUFFIX),
        written.open_deadlines(OPEN_STATES, REMINDER_SUFFIX, include_reminders=True),
    )


def test_keeps_the_rows_written_as_the_database_gives_them_back(case):
    due = clock.now() + timedelta(hours=48)
    given = {"quantity": 1, "a": {"zz": 1, "b": 2}, "ids": (3, 4), "kind": "x", "big": 1e20}
    with transaction.atomic():
        event = timeline_record(subject=case, verb="test.created", actor=SYSTEM, data=given)
        engine.deadline_schedule(
            subject=case,
            kind=KIND,
            due_at=due,
            actor=SYSTEM,
            reminders=[timedelta(hours=24)],
            data={"z": 1, "a": 2},
            fresh=True,
        )
    assert event.data is given  # the caller's instance keeps what it was given
    with CaptureQueriesContext(connection) as ctx:
        kept_events, kept_main, kept_all = _kept(fresh_take(case))
    assert len(ctx.captured_queries) == 0
    assert fresh_take(case) is None  # once: the keeping has ended
    events_read, deadlines_read = _read_back(case)
    assert [_fields(e) for e in kept_events] == [_fields(e) for e in events_read]
    assert [e.verb for e in kept_events] == ["test.created", "deadline.scheduled"]
    assert list(kept_events[0].data) == ["a", "big", "ids", "kind", "quantity"]  # jsonb order
    assert kept_events[0].data["ids"] == [3, 4] and kept_events[0].data["big"] == 10**20
    assert [(d.pk, d.kind, d.due_at, d.state, d.data) for d in kept_all] == [
        (d.pk, d.kind, d.due_at, d.state, d.data) for d in deadlines_read
    ]
    assert list(kept_main[0].data) == ["a", "z"]
    assert [d.kind for d in kept_main] == [KIND]
    assert {d.kind for d in kept_all} == {KIND, KIND + ".reminder"}


def test_the_readers_always_read_the_database(case):
    with transaction.atomic():
        _schedule(case, fresh=True)
    with CaptureQueriesContext(connection) as ctx:
        assert [e.verb for e in timeline_events(case)] == ["deadline.scheduled"]
        assert [d.kind for d in engine.deadlines_for(case)] == [KIND]
    assert len(ctx.captured_queries) == 2  # tracked or not


def _schedule(case, **kwargs):
    return engine.deadline_schedule(
        subject=case,
        kind=KIND,
        due_at=clock.now() + timedelta(hours=48),
        actor=SYSTEM,
        **kwargs,
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda case: _schedule(case),  # a move of an open deadline
        lambda case: engine.deadline_cancel(subject=case, kind=KIND, actor=SYSTEM),
        lambda case: engine.deadline_pause(subject=case, kind=KIND, actor=SYSTEM),
        lambda case: engine.deadline_extend(
            subject=case, kind=KIND, actor=SYSTEM, by=timedelta(hours=1)
        ),
    ],
    ids=["reschedule", "cancel", "pause", "extend"],
)
def test_any_other_change_of_its_deadlines_reads_them_again(case, change):
    with transaction.atomic():
        _schedule(case, fresh=True)
        change(case)
    assert fresh_written(case) is None
    assert fresh_take(case) is None  # the answer reads the database


def test_an_event_with_handlers_of_its_own_stops_the_keeping(case):
    name = "test.fresh_handled"
    seen = []

    @events.subscribe(name)
    def handler(event):
        seen.append(event.pk)

    events.event_publish("test.fresh_plain", subject=case)  # only the "*" ones: kept
    assert fresh_written(case) is not None
    events.event_publish(name, subject=case)
    assert seen and fresh_written(case) is None


def test_a_failed_notification_stops_the_keeping(case, monkeypatch):
    from aftersales import notifications

    def notify_then_fail(**kwargs):
        timeline_record(subject=case, verb="notification.sent", actor=SYSTEM)  # rolled back
        raise RuntimeError("provider down")

    monkeypatch.setattr(notifications, "notify", notify_then_fail)
    with transaction.atomic():
        sent = engine.notify_quietly(recipient_user=None, event="x", subject=case, actor=SYSTEM)
    assert sent is False
    assert fresh_take(case) is None
    assert timeline_events(case) == []  # the row kept inside the savepoint is gone


def test_stored_form_of_plain_values():
    from aftersales.models import TimelineEvent

    field = TimelineEvent._meta.get_field("data")
    assert as_stored(field, None) is None
    assert as_stored(field, {"b": 1.5, "a": [1, "二"]}) == {"a": [1, "二"], "b": 1.5}


def test_forget_is_idempotent(case):
    fresh_forget(case)
    fresh_forget(case)
    assert fresh_take(case) is None
