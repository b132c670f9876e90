"""Who the caller is (actors) and what they may read (scope), for every role."""

import pytest

from aftersales.errors import NotFound
from aftersales.tenancy.actors import ANONYMOUS, SYSTEM, actor_for_user
from aftersales.tenancy.auth import IntegratorUser, api_key_lookup
from aftersales.tenancy.models import ConsumerProfile, Merchant
from aftersales.tenancy.scope import access, ensure_in_scope, scoped

pytestmark = pytest.mark.django_db

# role: (kind, platform_read, platform_write, sees merchants, sees consumers)
EXPECTED = {
    "consumer_a": ("consumer", False, False, set(), {"consumer-a"}),
    "consumer_b": ("consumer", False, False, set(), {"consumer-b"}),
    "merchant_a": ("merchant", False, False, {"shop-a"}, set()),
    "merchant_b": ("merchant", False, False, {"shop-b"}, set()),
    "after_sales_agent": (
        "platform",
        True,
        True,
        {"shop-a", "shop-b"},
        {"consumer-a", "consumer-b"},
    ),
    "after_sales_manager": (
        "platform",
        True,
        True,
        {"shop-a", "shop-b"},
        {"consumer-a", "consumer-b"},
    ),
    "auditor": ("platform", True, False, {"shop-a", "shop-b"}, {"consumer-a", "consumer-b"}),
    "mediator": ("platform", False, False, set(), set()),
    "merchant_key_a": ("integrator", False, False, {"shop-a"}, set()),
    "platform_key": ("integrator", True, True, {"shop-a", "shop-b"}, {"consumer-a", "consumer-b"}),
}


def _actor(roles, role):
    who = roles[role]
    if isinstance(who, str):
        return actor_for_user(IntegratorUser(api_key_lookup(who)))
    return actor_for_user(who)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_actor_and_scope_for_every_role(roles, role):
    kind, read, write, merchants, consumers = EXPECTED[role]
    actor = _actor(roles, role)
    assert actor.kind == kind
    assert (actor.platform_read, actor.platform_write) == (read, write)
    assert actor.is_authenticated
    got = set(
        scoped(Merchant.objects.all(), actor, merchant_field="id", consumer_field=None).values_list(
            "code", flat=True
        )
    )
    assert got == merchants
    got = set(
        scoped(
            ConsumerProfile.objects.all(), actor, merchant_field=None, consumer_field="id"
        ).values_list("user__username", flat=True)
    )
    assert got == consumers


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_api_sees_the_same_as_scope(api, role):
    _, _, _, merchants, consumers = EXPECTED[role]
    r = api(role).get("/api/v1/merchants/")
    assert {m["code"] for m in r.json()["results"]} == merchants
    r = api(role).get("/api/v1/consumers/")
    assert {c["username"] for c in r.json()["results"]} == consumers


def test_actor_details(roles, merchant_a):
    a = _actor(roles, "merchant_a")
    assert a.merchant_id == merchant_a.pk and a.merchant_role == "owner" and a.is_merchant
    c = _actor(roles, "consumer_a")
    assert c.consumer_id == roles["consumer_a"].consumer.pk and c.is_consumer
    k = _actor(roles, "merchant_key_a")
    assert k.is_merchant and k.merchant_id == merchant_a.pk and k.label.startswith("api-key:")
    m = _actor(roles, "mediator")
    assert m.is_mediator and m.is_platform_staff and not m.platform_read
    assert SYSTEM.platform_read and SYSTEM.platform_write
    assert not ANONYMOUS.is_authenticated and not ANONYMOUS.platform_read
    assert actor_for_user(None) is ANONYMOUS


def test_timeline_fields(roles):
    a = _actor(roles, "after_sales_agent")
    fields = a.timeline_fields()
    assert fields["actor_kind"] == "platform" and fields["actor_user"] == roles["after_sales_agent"]
    k = _actor(roles, "platform_key").timeline_fields()
    assert k["actor_kind"] == "integrator" and k["actor_api_key"] is not None
    assert SYSTEM.timeline_fields()["actor_kind"] == "system"


def test_superuser_without_groups_is_platform(django_user_model):
    root = django_user_model.objects.create_superuser("root", "r@example.com", "pw-123456")
    actor = actor_for_user(root)
    assert actor.kind == "platform" and actor.platform_read and actor.platform_write


def test_user_without_any_role_is_anonymous(django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="pw-123456")
    assert actor_for_user(nobody) is ANONYMOUS


def test_access_and_ensure_in_scope(roles, merchant_a, merchant_b):
    actor = _actor(roles, "merchant_a")
    qs = Merchant.objects.all()
    assert access(qs, actor, merchant_a.pk, merchant_field="id", consumer_field=None) == merchant_a
    for pk in (merchant_b.pk, 999999, "abc", None):
        with pytest.raises(NotFound):
            access(qs, actor, pk, merchant_field="id", consumer_field=None)
    ensure_in_scope(merchant_a, actor, merchant_field="id", consumer_field=None)
    with pytest.raises(NotFound):
        ensure_in_scope(merchant_b, actor, merchant_field="id", consumer_field=None)


def test_guardian_grant_lets_a_mediator_see_one_object(roles, merchant_a, merchant_b):
    from guardian.shortcuts import assign_perm

    mediator = roles["mediator"]
    assign_perm("aftersales.view_merchant", mediator, merchant_b)
    actor = actor_for_user(mediator)
    got = scoped(
        Merchant.objects.all(),
        actor,
        merchant_field="id",
        consumer_field=None,
        grant_perm="aftersales.view_merchant",
    )
    assert list(got) == [merchant_b]


def test_merchant_list_query_count_is_constant(api, django_assert_max_num_queries):
    from aftersales.tests import factories as f

    for _ in range(30):
        f.MerchantFactory()
    with django_assert_max_num_queries(6):
        r = api("platform_key").get("/api/v1/merchants/", {"page_size": 50})
    assert len(r.json()["results"]) == 32
