"""Fixtures shared by every app: one user of each role, and API clients for them."""

import pytest
from rest_framework.test import APIClient

from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as f


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
