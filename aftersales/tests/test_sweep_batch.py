"""The sweep's batch machinery: ``notify_many`` writes what ``notify`` writes (plain templates
filled in directly, the others rendered by Django), ``aftersales.bulk.insert_rows`` keeps values
and defaults, and a batch's move to done cancels only the reminders it leaves open."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from aftersales.bulk import insert_rows, instances, json_text
from aftersales.casefile.models import DomainEvent, TimelineEvent
from aftersales.deadlines import engine, registry
from aftersales.deadlines.models import Deadline
from aftersales.messaging.models import Notification, NotificationDelivery, NotificationPreference
from aftersales.messaging.notifications import (
    _plain_fill,
    _plain_template,
    _render,
    notification_render,
    notify,
    notify_many,
)
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerProfile, Merchant
from aftersales.tests import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.backends]

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

MESSAGES = [
    ("no.such.event", {"title": "维修超期", "body": "维修单 R-1 已超期"}),
    ("no.such.event", {"title": "只有标题"}),  # body|default:title
    ("no.such.event", {"title": "", "body": "B"}),  # title|default:event
    ("no.such.event", {"title": 7, "body": "B"}),  # not a string: Django renders it
    ("notification.test", {"name": "王"}),
    ("logistics.alert", {"order_number": "SO-1", "reason": "stale", "tracking_number": "T"}),
]


registry.deadline_register("test.batch", lambda deadline: {"ok": True}, "测试：批处理")


@pytest.fixture
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _users():
    zh = f.ConsumerFactory(user=f.UserFactory(username="b-zh", email="zh@example.test")).user
    en = f.ConsumerFactory(user=f.UserFactory(username="b-en", email="")).user
    ConsumerProfile.objects.filter(user=en).update(preferred_language="EN")
    NotificationPreference.objects.create(user=zh, email_enabled=True, sms_enabled=True)
    staff = f.UserFactory(username="b-staff", email="s@example.test")  # no profile, no choice
    return zh, en, staff


def _rows(notification):
    deliveries = sorted(
        notification.deliveries.values_list("channel", "status", "recipient", "attempts")
    )
    return (
        notification.event,
        notification.language,
        notification.title,
        notification.body,
        notification.sms_text,
        notification.subject_type,
        notification.subject_id,
        notification.merchant_id,
        deliveries,
    )


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_notify_many_writes_what_notify_writes(frozen, monkeypatch, vendor):
    from django.db import connection

    if vendor == "postgresql" and connection.vendor != "postgresql":
        pytest.skip("the raw recipient query needs PostgreSQL")
    shop = Merchant.objects.create(code="nm", name="NM")
    users = _users()
    expected = []
    for user in users:
        for event, context in MESSAGES:
            note = notify(
                recipient_user=user, event=event, context=context, subject=shop, actor=SYSTEM
            )
            expected.append(_rows(note))
    Notification.objects.all().delete()
    TimelineEvent.objects.filter(verb="notification.sent").delete()
    monkeypatch.setattr(connection, "vendor", vendor)
    ids = notify_many(
        messages=[
            (user if n % 2 else user.pk, event, context, shop)
            for n, user in enumerate(users)
            for event, context in MESSAGES
        ],
        actor=SYSTEM,
    )
    got = [_rows(Notification.objects.get(pk=pk)) for pk in ids]
    assert got == expected
    sms = NotificationDelivery.objects.filter(notification__user=users[0], channel="sms")
    assert set(sms.values_list("recipient", flat=True)) == {"138******78"}
    assert sms.count() == len(MESSAGES)
    sent = TimelineEvent.objects.filter(verb="notification.sent", subject_id=shop.pk)
    # One event per case and message (event name), naming every recipient.
    assert sent.count() == len({event for event, _ in MESSAGES})


def test_plain_templates_are_filled_as_django_renders_them():
    assert _plain_template("zh-hans", "no.such.event", "title") is not None
    assert _plain_template("zh-hans", "logistics.alert", "title") is None  # {% if %}
    assert _plain_template("zh-hans", "no.such.event", "sms") is None  # no template at all
    for event, context in MESSAGES:
        ctx = {"platform_url": "", "event": event, **context}
        # Every part rendered by Django (as notification_render's context has it): what the
        # plain fill must equal.
        django_ctx = {**ctx, "platform_url": settings.PLATFORM_URL}
        title = _render("zh-hans", event, "title", django_ctx)[:200]
        body = _render("zh-hans", event, "body", django_ctx)
        assert notification_render(event=event, language="zh-hans", context=context)[:2] == (
            title,
            body,
        )
        pieces = _plain_template("zh-hans", event, "title")
        filled = _plain_fill(pieces, ctx) if pieces else None
        assert filled in (None, title)
    assert _plain_fill(_plain_template("en", "no.such.event", "title"), {"event": "e"}) is None


def test_insert_rows_values_defaults_and_shared_json(frozen):
    shop = Merchant.objects.create(code="ir", name="IR")
    data = json_text({"k": [1, "二"], "at": T0})
    rows = [
        {"name": "x.one", "subject_type": "t", "subject_id": 1, "payload": data},
        {"name": "x.two", "subject_type": "t", "subject_id": 2, "merchant_id": shop.pk},
    ]
    ids = insert_rows(DomainEvent, rows, returning=True)
    saved = {e.pk: e for e in DomainEvent.objects.filter(pk__in=ids)}
    assert saved[ids[0]].payload == {"k": [1, "二"], "at": T0.isoformat().replace("+00:00", "Z")}
    assert saved[ids[1]].payload == {} and saved[ids[1]].merchant_id == shop.pk
    assert saved[ids[0]].occurred_at == T0 and saved[ids[0]].merchant_id is None
    built = instances(DomainEvent, ids, rows)
    assert [(e.pk, e.name, e.payload) for e in built][1] == (ids[1], "x.two", {})
    assert built[0].payload == saved[ids[0]].payload and not built[0]._state.adding


def test_a_batch_cancels_only_the_reminders_it_leaves_open(frozen):
    shops = [Merchant.objects.create(code=f"rm{i}", name=str(i)) for i in range(2)]
    for shop in shops:
        engine.deadline_schedule(
            subject=shop,
            kind="test.batch",
            due_at=T0 + timedelta(hours=48),
            actor=SYSTEM,
            reminders=[timedelta(hours=24)],
        )
    # Shop 0: the deadline is moved earlier by hand, its reminder not yet due; shop 1: the
    # reminder and the deadline fall due in the same sweep batch.
    Deadline.objects.filter(subject_id=shops[0].pk, kind="test.batch").update(due_at=T0)
    frozen.move_to(T0 + timedelta(hours=48))
    Deadline.objects.filter(subject_id=shops[0].pk, kind="test.batch.reminder").update(
        due_at=T0 + timedelta(hours=72)
    )
    stats = engine.deadline_sweep()
    assert stats.done == 3
    states = dict(
        Deadline.objects.filter(kind="test.batch.reminder").values_list("subject_id", "state")
    )
    assert states == {shops[0].pk: "cancelled", shops[1].pk: "done"}
    assert set(Deadline.objects.filter(kind="test.batch").values_list("state", flat=True)) == {
        "done"
    }


def test_swept_events_reach_the_webhook_outbox(frozen, monkeypatch):
    """The batch's ``deadline.fired`` events, built from the rows written in bulk, get one
    delivery per matching endpoint, as ``event_publish`` gives one event."""
    from aftersales.messaging import webhooks
    from aftersales.messaging.models import WebhookDelivery

    monkeypatch.setattr("aftersales.messaging.notifications.enqueue", lambda *args: None)
    shops = [Merchant.objects.create(code=f"wh{i}", name=str(i)) for i in range(3)]
    webhooks.webhook_endpoint_create(
        actor=SYSTEM, url="http://127.0.0.1:9/all", event_types=["deadline.fired"]
    )
    webhooks.webhook_endpoint_create(
        actor=SYSTEM, url="http://127.0.0.1:9/one", event_types=["*"], merchant=shops[0]
    )
    for shop in shops:
        engine.deadline_schedule(
            subject=shop, kind="test.batch", due_at=T0, actor=SYSTEM, merchant_id=shop.pk
        )
    assert engine.deadline_sweep().done == 3
    fired = {e.pk: e for e in DomainEvent.objects.filter(name="deadline.fired")}
    deliveries = list(WebhookDelivery.objects.filter(event_id__in=fired))
    assert len(deliveries) == 4  # every event to the platform endpoint, shop 0's to its own
    assert {d.event_type for d in deliveries} == {"deadline.fired"}
    assert sorted(fired[d.event_id].merchant_id for d in deliveries) == sorted(
        [shops[0].pk, shops[0].pk, shops[1].pk, shops[2].pk]
    )


def test_the_collector_is_paused_per_batch_and_restored(frozen):
    import gc

    seen = []
    registry.deadline_register("test.gc", lambda d: seen.append(gc.isenabled()) or {}, "测试：回收")
    shop = Merchant.objects.create(code="gc", name="GC")
    engine.deadline_schedule(subject=shop, kind="test.gc", due_at=T0, actor=SYSTEM)
    assert gc.isenabled()
    assert engine.deadline_sweep().done == 1
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        engine.deadline_sweep()
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
