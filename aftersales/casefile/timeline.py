"""The case timeline: every change records who did what, when and why (STYLE.md rule 3)."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.utils.translation import gettext_lazy

from aftersales import clock
from aftersales.casefile.models import TimelineEvent


def subject_label(obj):
    return obj._meta.label_lower


def timeline_record(
    *, subject, verb, actor, from_status="", to_status="", reason="", data=None, occurred_at=None
):
    """Append one event to ``subject``'s timeline; call it inside the service's transaction.
    Inside ``timeline_batched`` the event is written when the block ends."""
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
}


def timeline_verbs_register(labels):
    """Name an app's timeline verbs for people (``{"return.requested": "提交售后申请"}``): the
    admin's timelines show the name beside the verb."""
    _VERB_LABELS.update(labels)


def timeline_verb_label(verb):
    """The registered name of ``verb``, or ``""``."""
    return _VERB_LABELS.get(verb, "")
