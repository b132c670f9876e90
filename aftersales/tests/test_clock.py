"""The platform clock (RULES.md "Time"; ARCHITECTURE.md "Sandbox clock")."""

from datetime import date, timedelta

import pytest
import time_machine
from django.test import override_settings

from aftersales import clock
from aftersales.deadlines.models import ClockOffset

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-11-20 16:30:00+00:00", tick=False)
def test_shanghai_date_edge():
    now = clock.now()
    assert now.date() == date(2026, 11, 20)  # UTC
    assert clock.today() == date(2026, 11, 21)  # Shanghai
    local = clock.local(now)
    assert (local.hour, local.minute, local.utcoffset()) == (0, 30, timedelta(hours=8))


@time_machine.travel("2026-11-20 15:59:59+00:00", tick=False)
def test_one_second_before_shanghai_midnight():
    assert clock.today() == date(2026, 11, 20)


@time_machine.travel("2026-11-20 10:00:00+00:00", tick=False)
def test_offset_respected_in_sandbox():
    ClockOffset.objects.create(pk=1, offset_seconds=48 * 3600)
    clock.invalidate()
    with override_settings(SANDBOX=True):
        assert clock.now().isoformat() == "2026-11-22T10:00:00+00:00"
        assert clock.today() == date(2026, 11, 22)


@time_machine.travel("2026-11-20 10:00:00+00:00", tick=False)
def test_offset_ignored_outside_sandbox():
    ClockOffset.objects.create(pk=1, offset_seconds=48 * 3600)
    clock.invalidate()
    with override_settings(SANDBOX=False):
        assert clock.now().isoformat() == "2026-11-20T10:00:00+00:00"


@time_machine.travel("2026-11-20 10:00:00+00:00", tick=False)
def test_offset_is_cached_until_invalidated():
    with override_settings(SANDBOX=True):
        clock.invalidate()
        assert clock.now().isoformat() == "2026-11-20T10:00:00+00:00"
        ClockOffset.objects.create(pk=1, offset_seconds=3600)
        clock.invalidate()
        assert clock.now().isoformat() == "2026-11-20T11:00:00+00:00"


def test_now_is_aware_utc():
    now = clock.now()
    assert now.utcoffset() == timedelta(0)
