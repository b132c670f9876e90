"""Notifications: templates in both languages, channel choice, email, SMS failure and retry."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from aftersales.messaging import tasks as messaging_tasks
from aftersales.messaging.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    SandboxSmsMessage,
)
from aftersales.messaging.notifications import notification_render, notify
from aftersales.messaging.sms import SANDBOX_FAILING_PHONE
from aftersales.tenancy.actors import SYSTEM
from aftersales.tenancy.models import ConsumerProfile
from aftersales.tests import factories as f


@pytest.fixture
def consumer(db):
    return f.ConsumerFactory(user=f.UserFactory(username="c1", email="c1@example.test"))


def channels(notification):
    return sorted(notification.deliveries.values_list("channel", flat=True))


def test_templates_exist_in_both_languages():
    zh = notification_render(event="notification.test", language="zh-hans", context={"name": "王"})
    en = notification_render(event="notification.test", language="en", context={"name": "Wang"})
    assert zh[0] == "测试通知：王" and "测试通知" in zh[1] and zh[2].startswith("【售后平台】")
    assert en[0] == "Test notification: Wang" and "test notification" in en[1]
    for language in ("zh-hans", "en"):
        title, body, _ = notification_render(
            event="webhook.endpoint_disabled",
            language=language,
            context={"url": "https://x.example/?a=1&b=2", "reason": "r", "endpoint_id": 1},
        )
        assert "https://x.example/?a=1&b=2" in title  # plain text: no HTML escaping


def test_unknown_event_falls_back_to_generic_template():
    title, body, sms = notification_render(
        event="no.such.event", language="en", context={"title": "T", "body": "B"}
    )
    assert (title, body, sms) == ("T", "B", "T")


def test_message_is_rendered_in_the_recipients_language(consumer):
    note = notify(
        recipient_user=consumer.user, event="notification.test", context={"name": "A"}, actor=SYSTEM
    )
    assert note.language == "zh-hans" and note.title == "测试通知：A"
    ConsumerProfile.objects.filter(pk=consumer.pk).update(preferred_language="en")
    note = notify(
        recipient_user=consumer.user, event="notification.test", context={"name": "A"}, actor=SYSTEM
    )
    assert note.language == "en" and note.title == "Test notification: A"


def test_channels_follow_preferences(consumer):
    note = notify(recipient_user=consumer.user, event="notification.test", context={}, actor=SYSTEM)
    assert channels(note) == ["email", "in_app"]  # defaults: email on, SMS off
    NotificationPreference.objects.update_or_create(
        user=consumer.user, defaults={"email_enabled": False, "sms_enabled": True}
    )
    note = notify(recipient_user=consumer.user, event="notification.test", context={}, actor=SYSTEM)
    assert channels(note) == ["in_app", "sms"]
    sms = note.deliveries.get(channel="sms")
    assert sms.recipient == "138******78" and sms.status == "pending"
    merchant_staff = f.UserFactory(username="no-email")
    note = notify(
        recipient_user=merchant_staff, event="notification.test", context={}, actor=SYSTEM
    )
    assert channels(note) == ["in_app"]  # no address, no channel


def test_email_is_sent_by_the_task(consumer):
    note = notify(
        recipient_user=consumer.user, event="notification.test", context={"name": "A"}, actor=SYSTEM
    )
    delivery = note.deliveries.get(channel="email")
    messaging_tasks.send_notification(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.sent_at
    assert mail.outbox[0].subject == "测试通知：A" and mail.outbox[0].to == ["c1@example.test"]


def test_sms_through_the_sandbox_provider(consumer):
    NotificationPreference.objects.create(user=consumer.user, email_enabled=False, sms_enabled=True)
    note = notify(
        recipient_user=consumer.user, event="notification.test", context={"name": "A"}, actor=SYSTEM
    )
    delivery = note.deliveries.get(channel="sms")
    messaging_tasks.send_notification(delivery.pk)
    delivery.refresh_from_db()
    message = SandboxSmsMessage.objects.get()
    assert delivery.status == "sent" and delivery.provider_message_id == message.message_id
    assert message.phone == "13812345678" and message.text.startswith("【售后平台】A")


def test_sms_failure_is_retried_with_backoff_then_gives_up(consumer):
    consumer.set_phone(SANDBOX_FAILING_PHONE)
    consumer.save()
    NotificationPreference.objects.create(user=consumer.user, email_enabled=False, sms_enabled=True)
    note = notify(recipient_user=consumer.user, event="notification.test", context={}, actor=SYSTEM)
    delivery = note.deliveries.get(channel="sms")
    messaging_tasks.send_notification(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert SANDBOX_FAILING_PHONE in delivery.error
    messaging_tasks.deliver_webhooks()  # not due yet
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    for _ in range(10):
        if delivery.status != "pending":
            break
        with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
            messaging_tasks.deliver_webhooks()
        delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert delivery.attempts == NotificationDelivery.MAX_ATTEMPTS
    assert not SandboxSmsMessage.objects.exists()


def test_sms_retry_succeeds_once_the_problem_is_fixed(consumer):
    consumer.set_phone(SANDBOX_FAILING_PHONE)
    consumer.save()
    NotificationPreference.objects.create(user=consumer.user, email_enabled=False, sms_enabled=True)
    note = notify(recipient_user=consumer.user, event="notification.test", context={}, actor=SYSTEM)
    delivery = note.deliveries.get(channel="sms")
    messaging_tasks.send_notification(delivery.pk)
    consumer.set_phone("13812345678")
    consumer.save()
    delivery.refresh_from_db()
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
        messaging_tasks.deliver_webhooks()
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 2
    assert SandboxSmsMessage.objects.count() == 1


def test_sending_waits_for_commit_and_rollback_sends_nothing(
    consumer, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        messaging_tasks.send_notification, "apply_async", lambda args, **kw: sent.append(args)
    )
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(
                recipient_user=consumer.user, event="notification.test", context={}, actor=SYSTEM
            )
            raise RuntimeError
    assert sent == [] and not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            note = notify(
                recipient_user=consumer.user, event="notification.test", context={}, actor=SYSTEM
            )
            assert sent == []
    assert sent == [(note.deliveries.get(channel="email").pk,)]


def test_broker_down_does_not_break_the_callers_write(
    consumer, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(messaging_tasks.send_notification, "apply_async", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            notify(
                recipient_user=consumer.user, event="notification.test", context={}, actor=SYSTEM
            )
    assert NotificationDelivery.objects.get(channel="email").status == "pending"
    messaging_tasks.deliver_webhooks()  # the sweep sends it
    assert NotificationDelivery.objects.get(channel="email").status == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("reason", ["stale", "exception"])
def test_logistics_alert_template(language, reason):
    context = {
        "order_number": "SO-1",
        "reason": reason,
        "carrier": "SF",
        "tracking_number": "SF123",
    }
    title, body, sms = notification_render(
        event="logistics.alert", language=language, context=context
    )
    assert "SO-1" in title and "SF123" in body and "SO-1" in sms
    assert ("异常" in title or "problem" in title) == (reason == "exception")


def test_merchant_staff_come_with_their_channels_and_are_notified_without_a_read(merchant_a):
    """``merchant_staff`` loads each staff user's language and channels with the user, so
    ``notify`` writes for them exactly what it writes after reading them itself."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftersales.messaging.notifications import merchant_staff
    from aftersales.tenancy.models import User

    quiet = f.MerchantMemberFactory(
        merchant=merchant_a, user=f.UserFactory(username="s-quiet", email="q@example.test")
    ).user
    NotificationPreference.objects.create(user=quiet, email_enabled=False)
    loud = f.MerchantMemberFactory(
        merchant=merchant_a, user=f.UserFactory(username="s-loud", email="l@example.test")
    ).user
    f.MerchantMemberFactory(user=f.UserFactory(username="elsewhere"))  # another merchant's
    with CaptureQueriesContext(connection) as ctx:
        staff = merchant_staff(merchant_a.pk)
    assert len(ctx.captured_queries) == 1
    assert sorted(u.username for u in staff) == ["s-loud", "s-quiet"]
    for user in staff:
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            loaded = notify(
                recipient_user=user, event="notification.test", context={"name": "王"}, actor=SYSTEM
            )
        assert not any(q["sql"].startswith("SELECT") for q in ctx.captured_queries)
        fresh = notify(
            recipient_user=User.objects.get(pk=user.pk),  # facts read by notify itself
            event="notification.test",
            context={"name": "王"},
            actor=SYSTEM,
        )
        assert (loaded.language, loaded.title, loaded.body) == (
            fresh.language,
            fresh.title,
            fresh.body,
        )
        assert channels(loaded) == channels(fresh)
    assert channels(Notification.objects.filter(user=quiet).first()) == ["in_app"]
    assert channels(Notification.objects.filter(user=loud).first()) == ["email", "in_app"]


def test_notify_users_writes_for_every_recipient_in_a_fixed_number_of_statements(
    consumer, merchant_a
):
    """``notify_users``: the consumer, then the merchant's staff, each in their language and on
    their channels, with one read, one insert each for inbox rows and deliveries (the phones
    read once when someone chose SMS) and one timeline event naming them all."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftersales.casefile.models import TimelineEvent
    from aftersales.messaging.notifications import notify_users

    NotificationPreference.objects.create(user=consumer.user, email_enabled=False, sms_enabled=True)
    ConsumerProfile.objects.filter(pk=consumer.pk).update(preferred_language="en")
    staff = [
        f.MerchantMemberFactory(
            merchant=merchant_a, user=f.UserFactory(username=f"s{i}", email=f"s{i}@example.test")
        ).user
        for i in range(3)
    ]
    f.MerchantMemberFactory(user=f.UserFactory(username="elsewhere"))  # another merchant's
    subject = f.MerchantMemberFactory(merchant=merchant_a)
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        rows = notify_users(
            users=[consumer.user],
            merchant_staff_of=merchant_a.pk,
            event="notification.test",
            context={"name": "A"},
            subject=subject,
            actor=SYSTEM,
        )
    assert len(ctx.captured_queries) == 5  # recipients, phones, inbox, deliveries, timeline
    expected = [consumer.user.pk] + sorted([u.pk for u in staff] + [subject.user_id])
    assert [n.user_id for n in rows] == expected
    assert rows[0].language == "en" and rows[0].title == "Test notification: A"
    assert channels(rows[0]) == ["in_app", "sms"]
    assert rows[1].title == "测试通知：A" and channels(rows[1]) == ["email", "in_app"]
    assert rows[0].deliveries.get(channel="sms").recipient == "138******78"
    (event,) = TimelineEvent.objects.filter(verb="notification.sent", subject_id=subject.pk)
    assert event.data["user_ids"] == expected
    assert event.data["channels"][str(consumer.user.pk)] == ["in_app", "sms"]
    assert notify_users(users=[], event="notification.test", actor=SYSTEM) == []


def test_a_quiet_message_that_cannot_be_prepared_tells_nobody_and_fails_nothing(
    consumer, monkeypatch
):
    """``notify_users(quiet=True)``: a failure anywhere before the rows are written (here the
    phone of an SMS recipient cannot be masked, as with an undecryptable phone) is logged and
    nothing is written; without ``quiet`` it fails the caller."""
    from aftersales.messaging import notifications
    from aftersales.messaging.notifications import notify_users

    NotificationPreference.objects.create(user=consumer.user, email_enabled=False, sms_enabled=True)

    def broken(phone):
        raise ValueError("cannot read the phone")

    monkeypatch.setattr(notifications, "mask_phone", broken)
    kwargs = {"users": [consumer.user], "event": "notification.test", "actor": SYSTEM}
    assert notify_users(quiet=True, **kwargs) == []
    assert not Notification.objects.filter(user=consumer.user).exists()
    with pytest.raises(ValueError):
        notify_users(**kwargs)
