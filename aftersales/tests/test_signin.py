"""Sign-in throttling (issue 19, aftersales.tenancy.signin): per account and per address, a
growing lock, the person told, the lock logged, staff unlock; failed API keys the same way."""

import logging
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as f

pytestmark = pytest.mark.django_db

LIMIT = 5  # LOGIN_FAILURE_LIMIT
LOCK = timedelta(minutes=5)  # LOGIN_LOCKOUT_MINUTES


def _sign_in(username, password, *, address="10.0.0.1", path="/accounts/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


@pytest.fixture
def alice(db):
    return f.UserFactory(username="alice")


def test_each_failure_says_how_many_tries_are_left(alice):
    first = _sign_in("alice", "wrong")
    assert first.status_code == 200
    assert "再失败 4 次将暂时锁定登录" in first.content.decode()
    for _ in range(2):
        _sign_in("alice", "wrong")
    assert "再失败 1 次将暂时锁定登录" in _sign_in("alice", "wrong").content.decode()


def test_the_limit_locks_the_account_even_for_the_right_password(alice):
    for _ in range(LIMIT - 1):
        assert _sign_in("alice", "wrong").status_code == 200
    locked = _sign_in("alice", "wrong")
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "已被暂时锁定" in body and "请在 5 分钟后再试" in body
    # From another address: the account is locked, whoever asks.
    assert _sign_in("alice", "pass-1234", address="10.9.9.9").status_code == 429


def test_the_lock_ends_after_its_time_and_the_right_password_then_signs_in(alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(LIMIT):
            _sign_in("alice", "wrong")
        traveller.shift(LOCK - timedelta(seconds=1))  # the lock's last second
        assert _sign_in("alice", "pass-1234", address="10.9.9.9").status_code == 429
        traveller.shift(timedelta(seconds=2))  # a try while locked is refused, not counted
        response = _sign_in("alice", "pass-1234", address="10.9.9.9")
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()  # reset on success


def test_each_failure_past_the_limit_doubles_the_lock(alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(LIMIT):
            _sign_in("alice", "wrong")
        traveller.shift(LOCK + timedelta(seconds=1))  # the first lock is over
        again = _sign_in("alice", "wrong")
        assert again.status_code == 429
        assert "请在 10 分钟后再试" in again.content.decode()
        traveller.shift(2 * LOCK - timedelta(seconds=1))  # last second of the doubled lock
        assert _sign_in("alice", "pass-1234").status_code == 429
        traveller.shift(timedelta(seconds=2))
        assert _sign_in("alice", "pass-1234").status_code == 302


def test_one_address_trying_many_accounts_is_locked(db):
    for n in range(LIMIT):
        f.UserFactory(username=f"user-{n}")
        _sign_in(f"user-{n}", "wrong", address="10.0.0.7")
    assert _sign_in("user-0", "pass-1234", address="10.0.0.7").status_code == 429
    # Another address is not locked, nor are these accounts (one failure each).
    assert _sign_in("user-0", "pass-1234", address="10.0.0.8").status_code == 302


def test_the_admin_sign_in_is_throttled_too(db):
    f.platform_user(PlatformGroup.AGENT, username="agent-x")
    for _ in range(LIMIT - 1):
        page = _sign_in("agent-x", "wrong", path="/admin/login/")
        assert page.status_code == 200
    assert "再失败 1 次将暂时锁定登录" in page.content.decode()
    assert _sign_in("agent-x", "wrong", path="/admin/login/").status_code == 429
    assert _sign_in("agent-x", "pass-1234", path="/admin/login/").status_code == 429


def test_a_lock_is_logged_without_the_username_or_address(alice, caplog):
    with caplog.at_level(logging.WARNING, logger="aftersales.signin"):
        for _ in range(LIMIT):
            _sign_in("alice", "wrong", address="10.0.0.42")
    locks = [r for r in caplog.records if r.name == "aftersales.signin"]
    assert len(locks) == 1 and "sign-in locked" in locks[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "alice" not in logged and "10.0.0.42" not in logged


def test_a_manager_unlocks_the_account_in_the_admin(alice):
    for _ in range(LIMIT):
        _sign_in("alice", "wrong")
    manager = f.platform_user(PlatformGroup.MANAGER)
    from aftersales.tenancy.groups import platform_groups_ensure

    platform_groups_ensure()
    staff = Client()
    staff.force_login(manager)
    attempt = AccessAttempt.objects.get(username="alice")
    listing = staff.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "alice" in listing.content.decode()
    done = staff.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert done.status_code == 302
    assert _sign_in("alice", "pass-1234").status_code == 302


def test_an_auditor_reads_the_attempts_but_cannot_unlock(alice):
    for _ in range(LIMIT):
        _sign_in("alice", "wrong")
    from aftersales.tenancy.groups import platform_groups_ensure

    platform_groups_ensure()
    staff = Client()
    staff.force_login(f.platform_user(PlatformGroup.AUDITOR))
    attempt = AccessAttempt.objects.get(username="alice")
    assert staff.get("/admin/axes/accessattempt/").status_code == 200
    refused = staff.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert refused.status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


# -- API keys ------------------------------------------------------------------------------


def _api(raw, address="10.1.0.1"):
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw}", REMOTE_ADDR=address).get("/api/v1/orders/")


def test_failed_api_keys_lock_the_prefix_with_429_and_a_stable_code(db):
    key, raw = f.api_key("platform")
    wrong = f"as_{key.prefix}_not-the-secret"
    for n in range(LIMIT):
        # From different addresses: only the prefix counts them together.
        assert _api(wrong, address=f"10.1.1.{n}").status_code == 401
    refused = _api(wrong, address="10.1.2.1")
    assert refused.status_code == 429
    assert refused.json()["code"] == "api_key_throttled"
    assert set(refused.json()) == {"code", "message", "fields"}
    assert int(refused["Retry-After"]) == 5 * 60
    # A refused try is not counted; the right key is never refused (nobody can lock an
    # integrator out with its prefix).
    assert AccessAttempt.objects.filter(username=f"api-key:{key.prefix}").count() == LIMIT
    assert _api(raw, address="10.1.2.1").status_code == 200


def test_failed_api_keys_lock_the_address(db):
    key, raw = f.api_key("platform")
    for n in range(LIMIT):
        assert _api(f"as_guess{n}_secret", address="10.1.3.3").status_code == 401
    assert _api("as_guess9_secret", address="10.1.3.3").json()["code"] == "api_key_throttled"
    assert _api("as_guess9_secret", address="10.1.3.4").status_code == 401
    assert _api(raw, address="10.1.3.3").status_code == 200


def test_an_api_key_lock_ends_after_its_time(db):
    key, _raw = f.api_key("platform")
    wrong = f"as_{key.prefix}_nope"
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(LIMIT):
            _api(wrong)
        traveller.shift(LOCK - timedelta(seconds=1))
        assert _api(wrong).status_code == 429
        traveller.shift(timedelta(seconds=2))
        assert _api(wrong).status_code == 401  # counted again: the next lock is twice as long
        assert _api(wrong).status_code == 429


def test_api_key_failures_below_the_limit_change_nothing(db):
    key, raw = f.api_key("platform")
    for _ in range(LIMIT - 1):
        assert _api(f"as_{key.prefix}_nope").status_code == 401
    assert _api(f"as_{key.prefix}_nope").status_code == 401  # the limit-th failure: still 401
    assert _api(raw).status_code == 200


def test_an_api_key_failure_keeps_no_body_or_query(db):
    key, _ = f.api_key("platform")
    Client(HTTP_AUTHORIZATION=f"Api-Key as_{key.prefix}_nope", REMOTE_ADDR="10.1.4.4").post(
        "/api/v1/consumers/lookup/?phone=13800000000",
        {"phone": "13800000000"},
    )
    row = AccessAttempt.objects.get(username=f"api-key:{key.prefix}")
    assert "13800000000" not in row.get_data + row.post_data


def test_the_lock_is_told_in_english_too(alice):
    client = Client(REMOTE_ADDR="10.0.0.9")
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    first = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert "4 more failed tries will lock sign-in for a while." in first.content.decode()
    for _ in range(LIMIT - 1):
        locked = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert locked.status_code == 429
    assert "Try again in 5 minutes" in locked.content.decode()
