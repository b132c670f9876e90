"""``aftersales.fixedsql.FixedQuery``: a queryset compiled once gives what the queryset gives,
with each call's values, in one statement; what cannot be a fixed parameter is refused."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from aftersales.auth import RoleLoadingBackend
from aftersales.fixedsql import FixedQuery
from aftersales.models import ConsumerProfile, MerchantMember, PlatformGroup, TimelineEvent, User
from aftersales.tests import factories as f

pytestmark = pytest.mark.django_db

MEMBER = FixedQuery(
    lambda pk: MerchantMember.objects.select_related("merchant", "user").filter(pk=pk),
    samples=(-901,),
)


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_instances_with_select_related_objects_equal_the_querysets(merchant_a, merchant_b):
    one = f.MerchantMemberFactory(merchant=merchant_a, user=f.UserFactory(username="m1"))
    two = f.MerchantMemberFactory(merchant=merchant_b, user=f.UserFactory(username="m2"))
    for member in (one, two):  # the second call runs the SQL compiled by the first
        expected = MerchantMember.objects.select_related("merchant", "user").get(pk=member.pk)
        with CaptureQueriesContext(connection) as ctx:
            got = MEMBER.first(member.pk)
            merchant, user = got.merchant, got.user  # loaded with it: no query
        assert len(ctx.captured_queries) == 1
        assert str(member.pk) in ctx.captured_queries[0]["sql"]
        assert type(got) is MerchantMember and not got._state.adding
        assert _fields(got) == _fields(expected)
        assert _fields(merchant) == _fields(expected.merchant)
        assert _fields(user) == _fields(expected.user)
    assert MEMBER.first(-5) is None
    assert MEMBER.all(-5) == []


def test_a_nullable_join_without_a_row_is_none_and_annotations_are_set(merchant_a):
    staff = f.MerchantMemberFactory(merchant=merchant_a, user=f.UserFactory(username="s")).user
    consumer = f.ConsumerFactory(user=f.UserFactory(username="c")).user
    users = FixedQuery(
        lambda name: (
            User.objects.select_related("consumer")
            .filter(username__gt=name)
            .annotate(memberships=Count("merchant_member"))
            .order_by("username")
        ),
        samples=("\x00sample",),
    )
    got = users.all("")
    assert [u.username for u in got] == sorted(User.objects.values_list("username", flat=True))
    by_name = {u.username: u for u in got}
    assert by_name["c"].consumer.pk == consumer.consumer.pk
    assert by_name["c"].memberships == 0 and by_name["s"].memberships == 1
    with CaptureQueriesContext(connection) as ctx:
        with pytest.raises(ConsumerProfile.DoesNotExist):
            by_name["s"].consumer  # noqa: B018 (cached as missing: no query)
    assert ctx.captured_queries == []
    assert [u.username for u in users.all("m")] == [n for n in by_name if n > "m"]
    assert staff.username in by_name


def test_values_list_tuples_flat_values_and_converted_columns(merchant_a):
    a = TimelineEvent.objects.create(
        subject_type="x.y", subject_id=1, verb="a", actor_kind="system", data={"k": [1]}
    )
    TimelineEvent.objects.create(subject_type="x.y", subject_id=2, verb="b", actor_kind="system")
    rows = FixedQuery(
        lambda sid: TimelineEvent.objects.filter(subject_id=sid).values_list(
            "verb", "data", "occurred_at"
        ),
        samples=(-3,),
    )
    assert rows.all(1) == [("a", {"k": [1]}, a.occurred_at)]  # JSON decoded, aware datetime
    verbs = FixedQuery(
        lambda t, since: (
            TimelineEvent.objects.filter(subject_type=t, occurred_at__gte=since)
            .order_by("subject_id")
            .values_list("verb", flat=True)
        ),
        samples=("\x00t", datetime(1999, 1, 1, tzinfo=UTC)),
    )
    assert verbs.all("x.y", a.occurred_at - timedelta(seconds=1)) == ["a", "b"]
    assert verbs.all("x.y", a.occurred_at + timedelta(days=1)) == []
    assert verbs.all("other", a.occurred_at - timedelta(days=1)) == []


@pytest.mark.django_db(transaction=True)
def test_select_for_update_needs_a_transaction_and_locks_in_one(merchant_a):
    member = f.MerchantMemberFactory(merchant=merchant_a, user=f.UserFactory(username="l"))
    locked = FixedQuery(
        lambda pk: (
            MerchantMember.objects.select_for_update(of=("self",))
            .select_related("merchant")
            .filter(pk=pk)
        ),
        samples=(-902,),
    )
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        assert locked.first(member.pk).merchant.pk == merchant_a.pk
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in ctx.captured_queries[-1]["sql"]
    with pytest.raises(TransactionManagementError):
        locked.first(member.pk)


def test_values_that_are_not_one_parameter_are_refused():
    with pytest.raises(ValueError, match="exactly one"):  # wrapped in %…%
        FixedQuery(
            lambda name: User.objects.filter(username__icontains=name), samples=("\x00n",)
        ).all("x")
    with pytest.raises(ValueError, match="exactly one"):  # the same sample twice
        FixedQuery(lambda pk: User.objects.filter(pk=pk, id__gte=pk), samples=(-903,)).all(1)
    with pytest.raises(ValueError, match="exactly one"):  # True is not the sample 1
        FixedQuery(lambda v: User.objects.filter(is_active=True), samples=(1,)).all(1)
    with pytest.raises(TypeError, match="takes 1 values"):
        MEMBER.all(1, 2)


def test_the_session_backend_loads_the_user_with_roles_in_one_query(roles, merchant_a):
    backend = RoleLoadingBackend()
    staff = roles["merchant_a"]
    manager = roles[PlatformGroup.MANAGER]
    with CaptureQueriesContext(connection) as ctx:
        got = backend.get_user(str(staff.pk))
        assert got.merchant_member.merchant_id == merchant_a.pk
    assert len(ctx.captured_queries) == 1
    consumer = backend.get_user(roles["consumer_a"].pk)
    assert consumer.consumer.pk == roles["consumer_a"].consumer.pk
    if connection.vendor == "postgresql":  # elsewhere actor_for_user reads the groups
        assert backend.get_user(manager.pk).role_group_names == [PlatformGroup.MANAGER]
    assert backend.get_user("not a number") is None
    assert backend.get_user(-1) is None
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    assert backend.get_user(staff.pk) is None


def test_the_session_store_reads_a_live_session_and_forgets_an_expired_one(roles):
    from django.conf import settings
    from django.contrib.sessions.models import Session

    from aftersales.sessions import SessionStore

    assert settings.SESSION_ENGINE == "aftersales.sessions"
    store = SessionStore()
    store["who"] = "consumer-a"
    store.create()
    key = store.session_key
    with CaptureQueriesContext(connection) as ctx:
        assert SessionStore(session_key=key)["who"] == "consumer-a"
    assert len(ctx.captured_queries) == 1
    Session.objects.filter(session_key=key).update(expire_date=datetime(2000, 1, 1, tzinfo=UTC))
    expired = SessionStore(session_key=key)
    assert expired.get("who") is None and expired.session_key is None
    assert SessionStore(session_key="no-such-key-0123456789").load() == {}


def test_a_signed_in_page_reads_the_session_and_the_user_once(client, roles):
    client.force_login(roles["consumer_a"])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/notifications/")
    assert response.status_code == 200
    sql = [q["sql"] for q in ctx.captured_queries]
    assert sum('FROM "django_session"' in q for q in sql) == 1
    assert sum(q.startswith('SELECT "aftersales_user"."id"') for q in sql) == 1


def test_a_new_query_never_takes_the_compiled_sql_of_one_gone_before():
    # Transient FixedQuery objects (an id() is reused once an object is freed) each compile
    # their own query on the connection.
    for n in range(200):
        found = FixedQuery(lambda pk: User.objects.filter(pk=pk), samples=(-950_001 - n,))
        assert found.all(-1) == []
        with pytest.raises(ValueError, match="exactly one"):
            FixedQuery(lambda pk: User.objects.filter(pk=pk, id__gte=pk), samples=(-903,)).all(1)
