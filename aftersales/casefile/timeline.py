"""The case timeline: every change records who did what, when and why (STYLE.md rule 3)."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.casefile.models import TimelineEvent


def subject_label(obj):
    return obj._meta.label_lower


def _subject_model(subject_type):
    try:
        return apps.get_model(subject_type)
    except (LookupError, ValueError):
        return None


def subject_display(subject_type, subject_id):
    """A subject as people read it: its model's name and number ("售后申请 #9"), not the stored
    ``returns.returnrequest`` label."""
    model = _subject_model(subject_type)
    name = model._meta.verbose_name if model is not None else subject_type
    return _("%(subject)s #%(id)s") % {"subject": name, "id": subject_id}


def subject_type_display(subject_type):
    """The name of a kind of subject ("售后申请" for ``returns.returnrequest``)."""
    model = _subject_model(subject_type)
    return str(model._meta.verbose_name) if model is not None else subject_type


def status_display(subject_type, value):
    """The label of a subject's status ``value`` (the raw value where the model has none)."""
    model = _subject_model(subject_type)
    if not value or model is None:
        return value
    try:
        field = model._meta.get_field("status")
    except FieldDoesNotExist:
        return value
    return str(dict(field.flatchoices).get(value, value)) if field.choices else value


def timeline_record(
    *, subject, verb, actor, from_status="", to_status="", reason="", data=None, occurred_at=None
):
    """Append one event to ``subject``'s timeline; call it inside the service's transaction.
    Inside ``timeline_batched`` the event is written when the block ends. With
    ``TIMELINE_VERBS_STRICT`` (the test settings) a verb without a registered label
    (``timeline_verbs_register``) is refused, so that no page shows a raw verb."""
    if settings.TIMELINE_VERBS_STRICT and verb not in _VERB_LABELS:
        raise LookupError(f"timeline verb {verb!r} has no label: add it to timeline_verbs_register")
    event = TimelineEvent(
        subject_type=subject_label(subject),
        subject_id=subject.pk,
        merchant_id=getattr(subject, "merchant_id", None),
        verb=verb,
        from_status=from_status or "",
        to_status=to_status or "",
        reason=reason or "",
        data=data or {},
        occurred_at=occurred_at or clock.now(),
        **actor.timeline_fields(),
    )
    batch = _batch.get()
    if batch is not None:
        batch.append(event)
        return event
    event.save(force_insert=True)
    return event


# The events recorded inside ``timeline_batched``, not written yet.
_batch = ContextVar("aftersales_timeline_batch", default=None)


@contextmanager
def timeline_batched():
    """Within the block (one service's transaction: enter it inside ``transaction.atomic()``)
    ``timeline_record`` keeps its events, and they are written, in the order recorded, with one
    ``bulk_create`` when the block ends without an error; nested blocks share the outer one.
    Nothing inside may read the timeline it writes, nor roll back a savepoint and carry on
    (events recorded inside the savepoint would still be written)."""
    if _batch.get() is not None:
        yield
        return
    events = []
    token = _batch.set(events)
    try:
        yield
        if events:
            TimelineEvent.objects.bulk_create(events)
    finally:
        _batch.reset(token)


def timeline_events(subject):
    """The subject's events, oldest first, as a list: ``timeline_for``'s rows without their
    actors' user and key rows (the API's timeline shows ``actor_kind`` and ``actor_label``)."""
    return list(_events_of(subject))


def timeline_for(subject):
    """The subject's events, oldest first, with their actors' user and key rows."""
    return _events_of(subject).select_related("actor_user", "actor_api_key")


def _events_of(subject):
    return TimelineEvent.objects.filter(subject_type=subject_label(subject), subject_id=subject.pk)


# -- what a step is called ----------------------------------------------------------------------

_VERB_LABELS = {
    "deadline.scheduled": gettext_lazy("设定期限"),
    "deadline.rescheduled": gettext_lazy("期限重新计算"),
    "deadline.cancelled": gettext_lazy("期限取消"),
    "deadline.paused": gettext_lazy("期限暂停"),
    "deadline.resumed": gettext_lazy("期限恢复计时"),
    "deadline.extended": gettext_lazy("期限顺延"),
    "deadline.reminded": gettext_lazy("期限到期提醒"),
    "deadline.fired": gettext_lazy("期限到期自动处理"),
    "deadline.failed": gettext_lazy("期限自动处理失败"),
    "notification.sent": gettext_lazy("发送通知"),
    "notification.retry": gettext_lazy("重发通知"),
    "handler.ran": gettext_lazy("后续处理已执行"),
    "calendar.imported": gettext_lazy("导入节假日日历"),
    "calendar.holiday_added": gettext_lazy("新增节假日"),
    "calendar.holiday_changed": gettext_lazy("修改节假日"),
    "calendar.holiday_deleted": gettext_lazy("删除节假日"),
    "clock.moved": gettext_lazy("沙箱时钟调整"),
    "policy.changed": gettext_lazy("策略变更"),
    "api_key.created": gettext_lazy("创建 API 密钥"),
    "api_key.revoked": gettext_lazy("吊销 API 密钥"),
    "merchant.created": gettext_lazy("创建商家"),
    "merchant.updated": gettext_lazy("修改商家信息"),
    "member.added": gettext_lazy("添加商家员工"),
    "member.removed": gettext_lazy("移除商家员工"),
    "member.role_changed": gettext_lazy("调整员工角色"),
    "consumer.created": gettext_lazy("创建消费者"),
    "consumer.updated": gettext_lazy("修改消费者信息"),
    "notification_preference.updated": gettext_lazy("修改通知设置"),
    "webhook_endpoint.created": gettext_lazy("创建 Webhook 端点"),
    "webhook_endpoint.updated": gettext_lazy("修改 Webhook 端点"),
    "webhook_endpoint.secret_rotated": gettext_lazy("更换 Webhook 签名密钥"),
    "webhook_endpoint.deleted": gettext_lazy("删除 Webhook 端点"),
    "webhook_endpoint.disabled": gettext_lazy("Webhook 端点因连续失败停用"),
    "webhook_delivery.replayed": gettext_lazy("重新投递 Webhook"),
}


def timeline_verbs_register(labels):
    """Name an app's timeline verbs for people (``{"return.requested": "提交售后申请"}``): the
    admin's timelines show the name beside the verb."""
    _VERB_LABELS.update(labels)


def timeline_verb_label(verb):
    """The registered name of ``verb``, or ``""``."""
    return _VERB_LABELS.get(verb, "")
