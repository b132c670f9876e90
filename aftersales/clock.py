"""The platform clock: every business read of "now" goes through ``now()``.

In sandbox mode (``settings.SANDBOX``) staff and integrators can move the clock forward; the
offset lives in the database (``ClockOffset``) so web processes and workers agree. It is cached
for one second per process to keep ``now()`` cheap. Outside sandbox mode the offset is ignored.
"""

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")
_CACHE_SECONDS = 1.0
_cached = {"at": -1e9, "offset": timedelta(0)}


def _offset():
    if not settings.SANDBOX:
        return timedelta(0)
    mono = time.monotonic()
    if mono - _cached["at"] > _CACHE_SECONDS:
        # By label: the clock is below every package, the offset's row is the sandbox clock's
        # (aftersales.deadlines.models).
        _cached["offset"] = apps.get_model("aftersales", "ClockOffset").current()
        _cached["at"] = mono
    return _cached["offset"]


def invalidate():
    """Forget the cached offset (after this process changed it)."""
    _cached["at"] = -1e9


def now() -> datetime:
    """The current business instant, aware, in UTC."""
    return timezone.now() + _offset()


def local(dt: datetime) -> datetime:
    """``dt`` in the business time zone (Asia/Shanghai)."""
    return dt.astimezone(SHANGHAI)


def today():
    """Today's calendar date in Shanghai."""
    return local(now()).date()
