"""aftersales.fresh: a case created in this transaction answers from the rows written for it,
exactly as reading them back would, and stops doing so whenever its rows change another way."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from aftersales import clock, events
from aftersales import deadlines as engine
from aftersales.actors import SYSTEM
from aftersales.fresh import fresh_forget, fresh_track, fresh_written
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


def test_answers_from_the_rows_written_as_the_database_gives_them_back(case):
    due = clock.now() + timedelta(hours=48)
    with transaction.atomic():
        timeline_record(
            subject=case,
            verb="test.created",
            actor=SYSTEM,
            # Keys not in jsonb order, a nested object, a tuple (a list once stored).
            data={"quantity": 1, "a": {"zz": 1, "b": 2}, "ids": (3, 4), "kind": "x"},
        )
        engine.deadline_schedule(
            subject=case,
            kind=KIND,
            due_at=due,
            actor=SYSTEM,
            reminders=[timedelta(hours=24)],
            fresh=True,
        )
    with CaptureQueriesContext(connection) as ctx:
        kept_events = timeline_events(case)
        kept_main = engine.deadlines_for(case)
        kept_all = engine.deadlines_for(case, include_reminders=True)
    assert len(ctx.captured_queries) == 0
    events_read, deadlines_read = _read_back(case)
    assert [_fields(e) for e in kept_events] == [_fields(e) for e in events_read]
    assert [e.verb for e in kept_events] == ["test.created", "deadline.scheduled"]
    assert list(kept_events[0].data) == ["a", "ids", "kind", "quantity"]  # jsonb: short first
    assert kept_events[0].data["ids"] == [3, 4]
    assert [(d.pk, d.kind, d.due_at, d.state) for d in kept_all] == [
        (d.pk, d.kind, d.due_at, d.state) for d in deadlines_read
    ]
    assert [d.kind for d in kept_main] == [KIND]
    assert {d.kind for d in kept_all} == {KIND, KIND + ".reminder"}


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
    assert [(d.pk, d.state, d.due_at) for d in engine.deadlines_for(case)] == [
        (d.pk, d.state, d.due_at) for d in _read_back(case)[1]
    ]
    assert len(timeline_events(case)) == len(_read_back(case)[0])


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


def test_a_failed_notification_stops_the_keeping(case):
    # notify fails (no such user); its savepoint may have rolled back rows kept for the case.
    sent = engine.notify_quietly(recipient_user=None, event="x", subject=case, actor=SYSTEM)
    assert sent is False
    assert fresh_written(case) is None


def test_forget_is_idempotent_and_untracked_subjects_read_the_database(case):
    fresh_forget(case)
    fresh_forget(case)
    with CaptureQueriesContext(connection) as ctx:
        assert timeline_events(case) == []
    assert len(ctx.captured_queries) == 1
