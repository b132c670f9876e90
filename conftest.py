"""Fixtures shared by every app: one user of each role, and API clients for them."""

import os

import pytest
from rest_framework.test import APIClient

from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as f

# The test that scans the whole run's logs for personal data (tests/test_personal_data_in_logs.py)
# runs last, after everything else has logged.
LOG_SCAN = "test_the_runs_logs_hold_no_demo_personal_data"


def pytest_configure(config):
    """A run starts with no log files of earlier runs (config/settings/test.py writes one per
    process); the controller of a parallel run clears them before its workers start."""
    if hasattr(config, "workerinput"):
        return
    from django.conf import settings

    folder = getattr(settings, "TEST_LOG_DIR", None)
    if folder is None or not folder.is_dir():
        return
    own = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}.log"
    for path in folder.glob("*.log"):
        if path.name != own:
            path.unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.name == LOG_SCAN)


@pytest.fixture(autouse=True)
def _fresh_clock(monkeypatch):
    """Each test reads the sandbox clock's offset afresh, once, and keeps it until something
    in the test moves the clock (the code calls ``clock.invalidate`` then, as tests that write
    ``ClockOffset`` do). In production the offset is read again every second; in a test that
    re-read would land in whichever request the test happens to be timing, so a query count
    would depend on how fast the machine is."""
    from aftersales import clock

    monkeypatch.setattr(clock, "_CACHE_SECONDS", 1e6)
    clock.invalidate()
    yield
    clock.invalidate()


@pytest.fixture(autouse=True)
def _empty_shared_cache():
    """Each test starts with an empty shared cache (``aftersales.shared_cache``, sessions):
    what an earlier test cached came from rows its rollback removed."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def merchant_a(db):
    return f.MerchantFactory(code="shop-a", name="甲商家")


@pytest.fixture
def merchant_b(db):
    return f.MerchantFactory(code="shop-b", name="乙商家")


@pytest.fixture
def roles(db, merchant_a, merchant_b):
    """Every role of the permission matrix, as ``{name: user or raw api key}``."""
    users = {
        "consumer_a": f.ConsumerFactory(user=f.UserFactory(username="consumer-a")).user,
        "consumer_b": f.ConsumerFactory(
            user=f.UserFactory(username="consumer-b"), name="李四"
        ).user,
        "merchant_a": f.MerchantMemberFactory(
            merchant=merchant_a, user=f.UserFactory(username="staff-a")
        ).user,
        "merchant_b": f.MerchantMemberFactory(
            merchant=merchant_b, user=f.UserFactory(username="staff-b")
        ).user,
    }
    for group in PlatformGroup.values:
        users[group] = f.platform_user(group)
    users["merchant_key_a"] = f.api_key("merchant", merchant_a, name="shop-a key")[1]
    users["platform_key"] = f.api_key("platform", name="platform key")[1]
    return users


def client_for(who):
    client = APIClient()
    if who is None:
        return client
    if isinstance(who, str):
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {who}")
    else:
        client.force_authenticate(user=who)
    return client


@pytest.fixture
def api(roles):
    """``api("consumer_a")`` → an APIClient authenticated as that role; ``api(None)`` anonymous."""
    return lambda name: client_for(roles[name] if name else None)
