"""Domain events: handlers run in the publisher's transaction (ARCHITECTURE.md "Apps")."""

import pytest
from django.db import connection, transaction

from aftersales.casefile import events
from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.casefile.timeline import timeline_for, timeline_record
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import Merchant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _made_up_verbs(settings):
    """These tests record made-up verbs (``a``, ``b.one``): no label needed."""
    settings.TIMELINE_VERBS_STRICT = False


def test_a_verb_without_a_label_is_refused_where_labels_are_required(settings, merchant_a):
    """``TIMELINE_VERBS_STRICT`` (the test settings): recording a verb no app named for people
    fails, so every test that records an unnamed verb fails; every named one is recorded."""
    from aftersales.casefile.timeline import timeline_verb_label

    settings.TIMELINE_VERBS_STRICT = True
    with pytest.raises(LookupError, match="no label"):
        timeline_record(subject=merchant_a, verb="merchant.renamed_by_nobody", actor=SYSTEM)
    assert str(timeline_verb_label("merchant.updated")) == "修改商家信息"
    timeline_record(subject=merchant_a, verb="merchant.updated", actor=SYSTEM)
    assert TimelineEvent.objects.filter(verb="merchant.updated").count() == 1


@pytest.fixture
def handlers():
    added = []

    def add(name, fn):
        events.subscribe(name)(fn)
        added.append((name, fn))

    yield add
    for name, fn in added:
        if fn in events._handlers[name]:
            events._handlers[name].remove(fn)


def test_publish_stores_the_event_and_runs_handlers_in_the_transaction(handlers, merchant_a):
    seen = []
    handlers("test.happened", lambda e: seen.append((e.name, connection.in_atomic_block)))
    handlers("*", lambda e: seen.append(("*", e.name)))
    with transaction.atomic():
        event = events.event_publish("test.happened", subject=merchant_a, payload={"a": 1})
    assert seen == [("test.happened", True), ("*", "test.happened")]
    stored = DomainEvent.objects.get(pk=event.pk)
    assert (stored.subject_type, stored.subject_id, stored.payload) == (
        "aftersales.merchant",
        merchant_a.pk,
        {"a": 1},
    )
    assert stored.merchant_id is None  # a Merchant has no merchant_id; pass it explicitly
    other = events.event_publish("test.other", subject=merchant_a, merchant_id=merchant_a.pk)
    assert other.merchant_id == merchant_a.pk


def test_rollback_leaves_no_event_and_no_handler_writes(handlers, merchant_a):
    def handler(event):
        timeline_record(subject=merchant_a, verb="handler.ran", actor=SYSTEM)

    handlers("test.rolled_back", handler)
    with pytest.raises(RuntimeError), transaction.atomic():
        Merchant.objects.filter(pk=merchant_a.pk).update(name="改名")
        events.event_publish("test.rolled_back", subject=merchant_a)
        raise RuntimeError("the service failed after publishing")
    assert not DomainEvent.objects.filter(name="test.rolled_back").exists()
    assert not TimelineEvent.objects.filter(verb="handler.ran").exists()
    assert Merchant.objects.get(pk=merchant_a.pk).name == "甲商家"


def test_a_failing_handler_rolls_back_the_publisher(handlers, merchant_a):
    def boom(event):
        raise ValueError("handler failed")

    handlers("test.fails", boom)
    with pytest.raises(ValueError), transaction.atomic():
        Merchant.objects.filter(pk=merchant_a.pk).update(name="改名")
        events.event_publish("test.fails", subject=merchant_a)
    assert not DomainEvent.objects.filter(name="test.fails").exists()
    assert Merchant.objects.get(pk=merchant_a.pk).name == "甲商家"


def test_subscribe_twice_registers_once(handlers):
    calls = []

    def fn(e):
        calls.append(e)

    handlers("test.once", fn)
    handlers("test.once", fn)
    assert events._handlers["test.once"].count(fn) == 1


def test_timeline_record_and_read(merchant_a, roles):
    from aftersales.tenancy.actors import actor_for_user

    actor = actor_for_user(roles["merchant_a"])
    timeline_record(subject=merchant_a, verb="a", actor=actor)
    timeline_record(subject=merchant_a, verb="b", actor=SYSTEM, reason="why")
    rows = list(timeline_for(merchant_a))
    assert [r.verb for r in rows] == ["a", "b"]
    assert rows[0].actor_kind == "merchant" and rows[0].actor_label == "staff-a"
    assert rows[1].actor_kind == "system" and rows[1].reason == "why"


def test_timeline_batched_writes_the_events_at_the_end_in_one_insert(merchant_a):
    """``timeline_batched``: the events recorded in the block are written in order, with one
    insert, when it ends; an error in the block writes none of them."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from aftersales.casefile.models import TimelineEvent
    from aftersales.casefile.timeline import timeline_batched, timeline_record
    from aftersales.tenancy.actors import SYSTEM

    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        with timeline_batched():
            for verb in ("a.one", "a.two", "a.three"):
                timeline_record(subject=merchant_a, verb=verb, actor=SYSTEM)
            with timeline_batched():  # nested: the outer block writes
                timeline_record(subject=merchant_a, verb="a.four", actor=SYSTEM)
            assert not TimelineEvent.objects.filter(verb__startswith="a.").exists()
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    rows = TimelineEvent.objects.filter(verb__startswith="a.").order_by("pk")
    assert [r.verb for r in rows] == ["a.one", "a.two", "a.three", "a.four"]
    with pytest.raises(RuntimeError), transaction.atomic(), timeline_batched():
        timeline_record(subject=merchant_a, verb="b.one", actor=SYSTEM)
        raise RuntimeError
    assert not TimelineEvent.objects.filter(verb="b.one").exists()
    timeline_record(subject=merchant_a, verb="c.one", actor=SYSTEM)  # no block: at once
    assert TimelineEvent.objects.filter(verb="c.one").exists()


def test_events_batched_writes_the_events_at_the_end_then_runs_their_handlers(handlers, merchant_a):
    """``events_batched``: the block's events written with one insert when it ends, then each
    event's own subscribers in the order published, then the ``*`` ones with every event at once
    (the outbox's batch); an error in the block writes none and runs no handler."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    seen = []
    handlers("batch.one", lambda e: seen.append(("one", e.pk)))
    handlers("batch.two", lambda e: seen.append(("two", e.pk)))
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        with events.events_batched():
            first = events.event_publish("batch.two", subject=merchant_a)
            second = events.event_publish("batch.one", subject=merchant_a)
            with events.events_batched():  # nested: the outer block writes
                third = events.event_publish("batch.two", subject=merchant_a)
            assert seen == [] and first.pk is None
            assert not DomainEvent.objects.filter(name__startswith="batch.").exists()
    inserts = [q for q in ctx.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == 1
    assert seen == [("two", first.pk), ("one", second.pk), ("two", third.pk)]
    assert first.pk < second.pk < third.pk
    seen.clear()
    with pytest.raises(RuntimeError), transaction.atomic(), events.events_batched():
        events.event_publish("batch.one", subject=merchant_a, payload={"failed": True})
        raise RuntimeError
    assert seen == [] and not DomainEvent.objects.filter(payload__failed=True).exists()
