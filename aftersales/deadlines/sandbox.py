"""The sandbox clock (ARCHITECTURE.md "Sandbox clock"): staff and integrators move business time
forward in sandbox mode; ``aftersales.clock`` reads the offset stored here."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales import clock
from aftersales.casefile.timeline import timeline_record
from aftersales.deadlines.models import ClockOffset
from aftersales.errors import InvalidInput, NotFound

MAX_SANDBOX_OFFSET = timedelta(days=3653)


def sandbox_clock_move(*, actor, advance=None, set_to=None, reset=False):
    """Move the sandbox clock: forward by ``advance``, forward to ``set_to``, or back to real
    time with ``reset``. Only in sandbox mode; never backwards except by reset.

    Returns the new offset. Web processes and workers read it from ``ClockOffset``.
    """
    if not settings.SANDBOX:
        raise NotFound()
    if sum(x is not None and x is not False for x in (advance, set_to, reset or None)) != 1:
        raise InvalidInput(
            _("请只指定前移时长、目标时间、重置三者之一。"),
            code="clock_move_invalid",
        )
    with transaction.atomic():
        row, _created = ClockOffset.objects.select_for_update().get_or_create(pk=1)
        current = timedelta(seconds=row.offset_seconds)
        real = timezone.now()  # the clock itself: real time plus the stored offset
        if reset:
            new = timedelta(0)
        elif advance is not None:
            if advance < timedelta(0):
                raise InvalidInput(
                    _("沙箱时钟只能向前。"),
                    code="clock_backwards",
                    fields={"advance": "≥ 0"},
                )
            new = current + advance
        else:
            if set_to.tzinfo is None:
                raise InvalidInput(
                    _("时间须带时区。"),
                    code="clock_move_invalid",
                    fields={"set_to": "aware"},
                )
            new = set_to - real
            if new < current:
                raise InvalidInput(
                    _("沙箱时钟只能向前。"),
                    code="clock_backwards",
                    fields={"set_to": (real + current).isoformat()},
                )
        if new > MAX_SANDBOX_OFFSET:
            # Every business read adds windows to clock.now(): near year 9999 they overflow and
            # every request of the sandbox would fail.
            raise InvalidInput(
                _("沙箱时钟最多前移十年。"),
                code="clock_move_too_far",
                fields={"offset_seconds": int(MAX_SANDBOX_OFFSET.total_seconds())},
            )
        row.offset_seconds = int(new.total_seconds())
        row.updated_at = real
        row.updated_by = actor.label
        row.save()
        timeline_record(
            subject=row,
            verb="clock.moved",
            actor=actor,
            occurred_at=real,
            data={
                "from_seconds": int(current.total_seconds()),
                "to_seconds": row.offset_seconds,
                "reset": bool(reset),
            },
        )
        transaction.on_commit(clock.invalidate)
    clock.invalidate()
    return timedelta(seconds=row.offset_seconds)
