"""The sandbox clock over the API: who may read and move it, forward only, sandbox only."""

import importlib
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.deadlines.models import ClockOffset

URL = "/api/v1/sandbox/clock/"


@pytest.mark.parametrize("who", ["after_sales_manager", "after_sales_agent", "platform_key"])
def test_platform_writers_advance_and_reset(api, who):
    client = api(who)
    before = client.get(URL).json()
    assert before["offset_seconds"] == 0
    res = client.post(URL, {"advance_hours": 48}, format="json")
    assert res.status_code == 200, res.content
    assert res.json()["offset_seconds"] == 48 * 3600
    clock.invalidate()
    assert clock.now() - timezone.now() > timedelta(hours=47, minutes=59)
    res = client.post(URL, {"advance_seconds": 60}, format="json")
    assert res.json()["offset_seconds"] == 48 * 3600 + 60
    assert ClockOffset.objects.get(pk=1).offset_seconds == 48 * 3600 + 60
    assert TimelineEvent.objects.filter(verb="clock.moved").count() == 2
    res = client.post(URL, {"reset": True}, format="json")
    assert res.json()["offset_seconds"] == 0


def test_set_to_forward_only(api):
    client = api("after_sales_manager")
    target = timezone.now() + timedelta(days=3)
    res = client.post(URL, {"set_to": target.isoformat()}, format="json")
    assert res.status_code == 200
    assert abs(res.json()["offset_seconds"] - 3 * 86400) <= 5
    res = client.post(
        URL, {"set_to": (timezone.now() + timedelta(days=1)).isoformat()}, format="json"
    )
    assert res.status_code == 400 and res.json()["code"] == "clock_backwards"
    res = client.post(URL, {"advance_seconds": -5}, format="json")
    assert res.status_code == 400
    res = client.post(URL, {"advance_seconds": 5, "reset": True}, format="json")
    assert res.status_code == 400 and res.json()["code"] == "clock_move_invalid"


@pytest.mark.parametrize(
    "who,status",
    [
        ("consumer_a", 404),
        ("merchant_a", 404),
        ("merchant_key_a", 404),
        ("mediator", 404),
        ("auditor", 403),
    ],
)
def test_others_cannot_move_the_clock(api, who, status):
    res = api(who).post(URL, {"advance_hours": 1}, format="json")
    assert res.status_code == status
    assert not ClockOffset.objects.filter(offset_seconds__gt=0).exists()


def test_anonymous_refused(api):
    assert api(None).post(URL, {"advance_hours": 1}, format="json").status_code in (401, 403)


def test_endpoint_absent_outside_sandbox(api):
    from aftersales.api import deadlines as module

    client = api("after_sales_manager")
    with override_settings(SANDBOX=False):
        assert client.get(URL).status_code == 404
        assert client.post(URL, {"advance_hours": 1}, format="json").status_code == 404
        reloaded = importlib.reload(module)
        assert not any("sandbox" in str(p.pattern) for p in reloaded.urlpatterns)
    importlib.reload(module)


@pytest.mark.parametrize(
    "body",
    [
        {"advance_hours": 1e12},
        {"advance_seconds": 10**15},
        {"advance_hours": 24 * 365 * 11},
        {"set_to": "9999-01-01T00:00:00Z"},
    ],
)
def test_clock_cannot_move_out_of_range(api, body):
    """Near year 9999 every window added to now() overflows: the whole sandbox would answer
    500. The move is refused and the clock stays where it was."""
    res = api("after_sales_manager").post(URL, body, format="json")
    assert res.status_code == 400, res.content
    assert res.json()["code"] == "clock_move_too_far"
    assert not ClockOffset.objects.filter(offset_seconds__gt=0).exists()
    clock.invalidate()
    assert clock.now() - timezone.now() < timedelta(minutes=1)
