"""Versioned policies (RULES.md **policy** values; law floors)."""

import pytest
import time_machine

from aftersales import policies
from aftersales.casefile.models import TimelineEvent
from aftersales.errors import InvalidInput
from aftersales.policies.models import PolicyVersion
from aftersales.tenancy.actors import SYSTEM, actor_for_user

pytestmark = pytest.mark.django_db

KEY = "returns.auto_approve_hours"


def test_default_when_nothing_is_set():
    ref = policies.policy_get(KEY, merchant_id=1, category_id=2)
    assert ref.value == 48 and ref.version_id is None
    assert policies.policy_value(KEY) == 48


def test_precedence_merchant_then_category_then_platform(merchant_a, merchant_b):
    policies.policy_set(key=KEY, value=24, actor=SYSTEM)
    assert policies.policy_value(KEY, merchant_id=merchant_a.pk, category_id=5) == 24
    policies.policy_set(key=KEY, value=36, scope="category", scope_id=5, actor=SYSTEM)
    assert policies.policy_value(KEY, merchant_id=merchant_a.pk, category_id=5) == 36
    assert policies.policy_value(KEY, merchant_id=merchant_a.pk, category_id=6) == 24
    policies.policy_set(key=KEY, value=72, scope="merchant", scope_id=merchant_a.pk, actor=SYSTEM)
    assert policies.policy_value(KEY, merchant_id=merchant_a.pk, category_id=5) == 72
    assert policies.policy_value(KEY, merchant_id=merchant_b.pk, category_id=5) == 36
    assert policies.policy_value(KEY) == 24


def test_the_cached_lookup_answers_as_the_direct_one_for_every_shape_of_scopes(
    merchant_a, merchant_b
):
    """Inside ``policies_cached`` every shape of scopes (merchant and category, either alone,
    neither) is read by its own compiled query: each answers what ``policy_get`` answers
    without the cache, the precedence merchant → category → platform → default included."""
    other = "returns.close_unshipped_days"
    policies.policy_set(key=KEY, value=24, actor=SYSTEM)
    policies.policy_set(key=KEY, value=36, scope="category", scope_id=5, actor=SYSTEM)
    policies.policy_set(key=KEY, value=72, scope="merchant", scope_id=merchant_a.pk, actor=SYSTEM)
    policies.policy_set(key=other, value=5, scope="merchant", scope_id=merchant_b.pk, actor=SYSTEM)
    shapes = [
        {"merchant_id": merchant_a.pk, "category_id": 5},
        {"merchant_id": merchant_b.pk, "category_id": 5},
        {"merchant_id": merchant_b.pk, "category_id": 6},
        {"merchant_id": merchant_a.pk},
        {"category_id": 5},
        {"category_id": 6},
        {},
    ]
    direct = [
        (policies.policy_get(k, **scope).value, policies.policy_get(k, **scope).version_id)
        for scope in shapes
        for k in (KEY, other)
    ]
    with policies.policies_cached():
        cached = [
            (policies.policy_get(k, **scope).value, policies.policy_get(k, **scope).version_id)
            for scope in shapes
            for k in (KEY, other)
        ]
    assert cached == direct
    assert [value for value, _v in direct] == [72, 7, 36, 5, 24, 5, 72, 7, 36, 7, 24, 7, 24, 7]


def test_values_in_force_come_from_the_shared_cache_until_a_change_commits(
    merchant_a, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """A scope's values are read once, then from the shared cache by every later lookup (any
    request, any process); a change drops them at once and again when it commits, so what
    another process cached in between (the old values) is not read after the commit."""
    from django.core.cache import cache
    from django.db import transaction

    policies.policy_set(key=KEY, value=24, actor=SYSTEM)
    with django_assert_num_queries(1):
        assert policies.policy_value(KEY, merchant_id=merchant_a.pk) == 24
    with django_assert_num_queries(0):
        assert policies.policy_value(KEY, merchant_id=merchant_a.pk) == 24
        assert policies.policy_value(KEY) == 24
    platform = policies.policies_shared_key(("platform", None))
    stale = cache.get(platform)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        policies.policy_set(key=KEY, value=30, actor=SYSTEM)
        assert policies.policy_value(KEY) == 30  # this transaction reads its own change
        cache.set(platform, stale)  # another process caches the rows before the commit
    assert policies.policy_value(KEY, merchant_id=merchant_a.pk) == 30


def test_versions_increment_with_who_and_when(roles):
    actor = actor_for_user(roles["after_sales_manager"])
    with time_machine.travel("2026-11-01 02:00:00+00:00", tick=False):
        v1 = policies.policy_set(key=KEY, value=24, actor=actor, note="双十一")
    with time_machine.travel("2026-11-20 02:00:00+00:00", tick=False):
        v2 = policies.policy_set(key=KEY, value=12, actor=actor)
    assert (v1.version, v2.version) == (1, 2)
    assert v1.created_by == roles["after_sales_manager"]
    assert v1.created_at.isoformat().startswith("2026-11-01T02:00")
    assert v2.created_at > v1.created_at
    ref = policies.policy_get(KEY)
    assert (ref.value, ref.version_id) == (12, v2.pk)
    assert str(ref) == f"{KEY}=v{v2.pk}"
    events = TimelineEvent.objects.filter(verb="policy.changed").order_by("id")
    assert [e.data["value"] for e in events] == [24, 12]
    assert events[0].actor_user == roles["after_sales_manager"] and events[0].reason == "双十一"
    # versions are per scope
    m = policies.policy_set(key=KEY, value=6, scope="merchant", scope_id=99, actor=actor)
    assert m.version == 1


def test_law_cap_refuses_a_stricter_policy():
    with pytest.raises(InvalidInput) as exc:
        policies.policy_set(key="returns.refund_after_receipt_days", value=10, actor=SYSTEM)
    assert exc.value.code == "policy_stricter_than_law"
    row = policies.policy_set(key="returns.refund_after_receipt_days", value=3, actor=SYSTEM)
    assert row.value == 3
    assert not PolicyVersion.objects.filter(value=10).exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (KEY, "soon"),
        (KEY, True),
        (KEY, 1.5),
        (KEY, -1),
        (KEY, 0),
        (KEY, None),
        (KEY, [48]),
        ("pricing.auto_claims", 1),
        ("pricing.auto_claims", "true"),
        ("returns.high_value_threshold", "abc"),
        ("returns.high_value_threshold", "-1"),
        ("returns.high_value_threshold", "Infinity"),
        ("returns.high_value_threshold", 1.5),
        ("returns.express_refund_credit_threshold", 1001),
        ("pricing.protection_window_days", 10),
        # Added to every tracking node's time: 10**20 hours would overflow (a 500 per event).
        ("logistics.stale_tracking_hours", 10**20),
        ("logistics.stale_tracking_hours", 24 * 367),
        ("complaints.first_response_hours", {"P1": 2}),
        ("complaints.first_response_hours", {"P1": "x", "P2": 8, "P3": 24, "P4": 48}),
        ("complaints.first_response_hours", {"P1": -2, "P2": 8, "P3": 24, "P4": 48}),
    ],
)
def test_type_validation(key, value):
    with pytest.raises(InvalidInput) as exc:
        policies.policy_set(key=key, value=value, actor=SYSTEM)
    assert exc.value.code == "policy_value_invalid"
    assert not PolicyVersion.objects.exists()


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        (KEY, "24", 24),
        (KEY, 24.0, 24),
        ("returns.high_value_threshold", "3000", "3000.00"),
        ("returns.high_value_threshold", 8000, "8000.00"),
        ("pricing.protection_window_days", 30, 30),
        ("logistics.stale_tracking_hours", 24 * 366, 24 * 366),
        ("pricing.auto_claims", True, True),
        (
            "complaints.first_response_hours",
            {"P1": 1, "P2": 4, "P3": "12", "P4": 24},
            {"P1": 1, "P2": 4, "P3": 12, "P4": 24},
        ),
    ],
)
def test_values_are_normalised(key, value, stored):
    assert policies.policy_set(key=key, value=value, actor=SYSTEM).value == stored
    assert policies.policy_value(key) == stored


def test_unknown_key_and_bad_scope():
    with pytest.raises(InvalidInput) as exc:
        policies.policy_set(key="nope", value=1, actor=SYSTEM)
    assert exc.value.code == "policy_unknown"
    for scope, scope_id in (("platform", 3), ("merchant", None), ("planet", 1)):
        with pytest.raises(InvalidInput) as exc:
            policies.policy_set(key=KEY, value=1, scope=scope, scope_id=scope_id, actor=SYSTEM)
        assert exc.value.code == "policy_scope_invalid"
    with pytest.raises(KeyError):
        policies.policy_get("nope")


def test_other_apps_register_their_policies():
    policies.policy_register("test.widget_days", 5, "测试", value_range=(1, 9))
    try:
        assert policies.policy_value("test.widget_days") == 5
        assert policies.policy_keys()["test.widget_days"].value_range == (1, 9)
        with pytest.raises(InvalidInput):
            policies.policy_set(key="test.widget_days", value=10, actor=SYSTEM)
        policies.policy_register("test.widget_days", 5, "测试")  # same default again: fine
        with pytest.raises(ValueError):
            policies.policy_register("test.widget_days", 6, "测试")
        assert policies.DEFAULTS["test.widget_days"] == (5, "测试")
    finally:
        policies._keys.pop("test.widget_days", None)


def test_policy_api(api):
    r = api("after_sales_manager").post(
        "/api/v1/policies/", {"key": KEY, "value": 24, "note": "调整"}, format="json"
    )
    assert r.status_code == 201, r.json()
    assert r.json()["version"] == 1
    assert api("auditor").get("/api/v1/policies/", {"key": KEY}).json()["results"][0]["value"] == 24
    assert (
        api("auditor")
        .post("/api/v1/policies/", {"key": KEY, "value": 1}, format="json")
        .status_code
        == 403
    )
    assert api("merchant_a").get("/api/v1/policies/").status_code == 404
    defaults = api("auditor").get("/api/v1/policies/defaults/").json()
    assert defaults[KEY]["default"] == 48


def test_each_app_registers_its_own_keys():
    """The kernel declares only its own policy; each app's keys come from its policies.py."""
    from complaints import policies as complaints_policies
    from orders import policies as orders_policies
    from pricing_guard import policies as pricing_policies
    from returns import policies as returns_policies

    keys = policies.policy_keys()
    owners = {
        "calendar.": policies,
        "returns.": returns_policies,
        "logistics.": orders_policies,
        "complaints.": complaints_policies,
        "pricing.": pricing_policies,
    }
    assert {key.split(".")[0] + "." for key in keys} == set(owners)
    assert keys["returns.refund_after_receipt_days"].law_max == 7
    assert keys["pricing.protection_window_days"].choices == (7, 15, 30)
    assert keys["logistics.stale_tracking_hours"].value_range == (1, 24 * 366)
    assert dict(policies.DEFAULTS)["complaints.resolution_working_days"][0] == 10
