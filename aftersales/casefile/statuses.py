"""Status moves: one helper performs every move of every case (ARCHITECTURE.md "Statuses").

It checks the move against the model's table of allowed moves under a row lock, sets the
status and its timestamp, records the timeline event and tells the registered listeners
(the deadline engine schedules and cancels what the new status implies).
"""

from django.db import transaction
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.errors import Conflict

_listeners = []


def on_status_change(fn):
    """Register ``fn(obj, from_status, to_status, actor)``, called inside the transaction."""
    _listeners.append(fn)
    return fn


def status_listeners():
    """The registered listeners, in the order ``status_move`` calls them."""
    return list(_listeners)


def _label(model, status_field, value):
    field = model._meta.get_field(status_field)
    return str(dict(field.flatchoices).get(value, value)) if field.choices else value


def status_move(
    obj,
    *,
    to,
    actor,
    moves,
    reason="",
    data=None,
    timestamp_field=None,
    status_field="status",
    verb=None,
    occurred_at=None,
    held=False,
):
    """Move ``obj`` to status ``to`` if ``moves[from]`` allows it; returns the locked object.

    ``moves`` maps each status to the set of statuses it may move to. A forbidden move raises
    ``Conflict`` (409 ``invalid_status_transition``). ``obj`` itself is updated too, so callers
    holding it do not keep a stale status. ``held``: ``obj`` is the caller's row, locked in this
    transaction: it is not read again, and no savepoint is taken (an error fails the caller).
    """
    with transaction.atomic(savepoint=not held):
        model = type(obj)
        locked = obj if held else model._default_manager.select_for_update().get(pk=obj.pk)
        current = getattr(locked, status_field)
        if to not in moves.get(current, ()):
            raise Conflict(
                _("当前状态“%(current)s”不能变更为“%(to)s”。")
                % {
                    "current": _label(model, status_field, current),
                    "to": _label(model, status_field, to),
                },
                code="invalid_status_transition",
                fields={"status": current, "to": to},
            )
        when = occurred_at or clock.now()
        setattr(locked, status_field, to)
        update = [status_field]
        if timestamp_field:
            setattr(locked, timestamp_field, when)
            update.append(timestamp_field)
        locked.save(update_fields=update)
        for name in update:
            setattr(obj, name, getattr(locked, name))
        timeline_record(
            subject=locked,
            verb=verb or f"status.{to}",
            actor=actor,
            from_status=current,
            to_status=to,
            reason=reason,
            data=data,
            occurred_at=when,
        )
        for listener in list(_listeners):
            listener(locked, current, to, actor)
        return locked
