"""Unmasked personal data: who may see it, and the log of who did (RULES.md D2, D3)."""

import pytest
from django.contrib.auth.models import Group

from aftersales.tenancy import reveal
from aftersales.tenancy.models import ConsumerAddress, ConsumerProfile, PiiAccessLog
from aftersales.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def consumer_a(roles):
    profile = roles["consumer_a"].consumer
    ConsumerAddress.objects.create(
        consumer=profile,
        recipient="张三丰",
        phone="13812345678",
        province="湖北省",
        city="十堰市",
        district="丹江口市",
        street="武当山路8号",
        unit="紫霄宫1室",
        is_default=True,
    )
    other = roles["consumer_b"].consumer
    other.set_phone("13911112222")
    other.save()
    return profile


def _reveal(client, consumer, fields=("name", "phone"), reason="核实退款收件人"):
    return client.post(
        f"/api/v1/consumers/{consumer.pk}/reveal/",
        {"fields": list(fields), "reason": reason},
        format="json",
    )


@pytest.mark.parametrize("role", ["after_sales_agent", "after_sales_manager"])
def test_platform_staff_reveal_with_reason_is_logged(api, roles, consumer_a, role):
    r = _reveal(api(role), consumer_a, fields=["name", "phone", "addresses"])
    assert r.status_code == 200, r.json()
    values = r.json()["values"]
    assert values["name"] == "张三丰" and values["phone"] == "13812345678"
    assert values["addresses"][0]["unit"] == "紫霄宫1室"
    log = PiiAccessLog.objects.get()
    assert log.actor_user == roles[role]
    assert log.actor_label == roles[role].username
    assert (log.subject_type, log.subject_id) == ("aftersales.consumerprofile", consumer_a.pk)
    assert log.fields == ["name", "phone", "addresses"]
    assert log.reason == "核实退款收件人"
    assert log.occurred_at is not None


def test_an_auditor_reads_the_reveal_log_but_may_not_reveal(api, roles, consumer_a):
    _reveal(api("after_sales_agent"), consumer_a)
    r = _reveal(api("auditor"), consumer_a)
    assert r.status_code == 403 and r.json()["code"] == "pii_reveal_not_granted"
    assert "13812345678" not in r.content.decode()
    assert PiiAccessLog.objects.count() == 1  # the agent's, not the refused auditor's
    from django.contrib.auth.models import Group

    from aftersales.tenancy.groups import platform_groups_ensure

    platform_groups_ensure()
    auditors = Group.objects.get(name="auditor")
    assert not auditors.permissions.filter(codename="reveal_personal_data").exists()
    assert auditors.permissions.filter(codename="view_piiaccesslog").exists()


def test_staff_grant_an_auditor_the_reveal_explicitly(api, roles, consumer_a):
    from django.contrib.auth.models import Permission

    auditor = roles["auditor"]
    auditor.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    r = _reveal(api("auditor"), consumer_a, fields=["phone"])
    assert r.status_code == 200 and r.json()["values"]["phone"] == "13812345678"
    assert PiiAccessLog.objects.get().actor_user == auditor


def test_no_group_gets_the_reveal_permission():
    from aftersales.tenancy.groups import platform_group_permissions

    for perms in platform_group_permissions().values():
        assert "reveal_personal_data" not in {p.codename for p in perms}


def test_staff_must_give_a_reason(api, consumer_a):
    r = _reveal(api("after_sales_agent"), consumer_a, reason="  ")
    assert r.status_code == 400
    assert r.json()["code"] == "reveal_reason_required"
    assert not PiiAccessLog.objects.exists()


def test_unknown_field_is_refused(api, consumer_a):
    r = _reveal(api("after_sales_agent"), consumer_a, fields=["credit_score"])
    assert r.status_code == 400
    assert not PiiAccessLog.objects.exists()


@pytest.mark.parametrize(
    "role", ["merchant_a", "merchant_b", "merchant_key_a", "consumer_b", "mediator"]
)
def test_others_get_404_and_nothing_is_logged(api, consumer_a, role):
    r = _reveal(api(role), consumer_a)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert not PiiAccessLog.objects.exists()


def test_platform_key_may_not_reveal(api, consumer_a):
    r = _reveal(api("platform_key"), consumer_a)
    assert r.status_code == 403
    assert r.json()["code"] == "pii_reveal_forbidden"
    assert not PiiAccessLog.objects.exists()


def test_anonymous_gets_401(api, consumer_a):
    assert _reveal(api(None), consumer_a).status_code == 401


def test_consumer_sees_own_data_logged_without_reason(api, roles, consumer_a):
    r = _reveal(api("consumer_a"), consumer_a, reason="")
    assert r.status_code == 200
    assert r.json()["values"]["phone"] == "13812345678"
    log = PiiAccessLog.objects.get()
    assert log.actor_user == roles["consumer_a"] and log.reason == "本人查看"


@pytest.mark.parametrize(
    "role", ["merchant_a", "merchant_key_a", "after_sales_agent", "platform_key", "consumer_a"]
)
def test_lists_and_details_are_masked_for_everyone(api, consumer_a, role):
    client = api(role)
    bodies = [
        client.get("/api/v1/consumers/").content,
        client.get(f"/api/v1/consumers/{consumer_a.pk}/").content,
    ]
    for body in bodies:
        text = body.decode()
        assert "13812345678" not in text and "张三丰" not in text
    if role in ("after_sales_agent", "platform_key", "consumer_a"):
        row = client.get(f"/api/v1/consumers/{consumer_a.pk}/").json()
        assert row["phone"] == "138******78" and row["name"] == "张*丰"


def test_merchant_never_sees_unmasked_values_anywhere(api, consumer_a, merchant_a):
    client = api("merchant_a")
    for url in (
        "/api/v1/consumers/",
        f"/api/v1/consumers/{consumer_a.pk}/",
        "/api/v1/me/",
    ):
        r = client.get(url)
        assert "13812345678" not in r.content.decode()
        assert "张三丰" not in r.content.decode()
    found = client.post("/api/v1/consumers/lookup/", {"phone": "13812345678"}, format="json")
    assert found.status_code == 200 and found.json() == {"results": []}


def _lookup(client, phone):
    response = client.post("/api/v1/consumers/lookup/", {"phone": phone}, format="json")
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_phone_lookup_by_blind_index_in_the_body(api, roles, consumer_a):
    other = f.ConsumerFactory(phone="13900000000")
    client = api("after_sales_agent")
    for query in ("13812345678", "+86 138-1234-5678", "138 1234 5678"):
        assert _lookup(client, query) == [consumer_a.pk]
    assert _lookup(client, "13900000000") == [other.pk]
    assert _lookup(client, "13000000000") == []
    # masked, and never stored for a replay with an Idempotency-Key
    row = client.post("/api/v1/consumers/lookup/", {"phone": "13812345678"}, format="json").json()[
        "results"
    ][0]
    assert row["phone"] == "138******78" and row["name"] == "张*丰"
    # a consumer's lookup stays inside their scope; merchants see no consumers here
    assert _lookup(api("consumer_b"), "13812345678") == []
    assert _lookup(api("merchant_a"), "13812345678") == []
    assert _lookup(api("consumer_a"), "13812345678") == [consumer_a.pk]


def test_a_phone_in_the_query_string_is_refused_with_a_code(api, consumer_a):
    response = api("after_sales_agent").get("/api/v1/consumers/", {"phone": "13812345678"})
    assert response.status_code == 400
    assert response.json()["code"] == "phone_in_query"
    assert "/api/v1/consumers/lookup/" in response.json()["message"]


def test_a_lookup_needs_a_phone(api):
    response = api("after_sales_agent").post("/api/v1/consumers/lookup/", {}, format="json")
    assert response.status_code == 400 and "phone" in response.json()["fields"]


def test_consumer_list_query_count_is_constant(api, django_assert_max_num_queries):
    for i in range(30):
        f.ConsumerFactory(phone=f"1370000{i:04d}")
    client = api("after_sales_agent")
    with django_assert_max_num_queries(6):
        r = client.get("/api/v1/consumers/", {"page_size": 50})
    assert len(r.json()["results"]) >= 30


# -- admin ---------------------------------------------------------------------------------


@pytest.fixture
def admin_agent(client, roles):
    user = roles["after_sales_agent"]
    group = Group.objects.get(name="after_sales_agent")
    from django.contrib.auth.models import Permission

    group.permissions.add(
        *Permission.objects.filter(codename__in=["view_consumerprofile", "view_consumeraddress"])
    )
    client.force_login(user)
    return client


def test_admin_list_and_change_form_show_masked_values_only(admin_agent, consumer_a):
    for url in (
        "/admin/aftersales/consumerprofile/",
        f"/admin/aftersales/consumerprofile/{consumer_a.pk}/change/",
        "/admin/aftersales/consumeraddress/",
    ):
        r = admin_agent.get(url)
        assert r.status_code == 200, url
        text = r.content.decode()
        assert "13812345678" not in text and "张三丰" not in text and "紫霄宫" not in text
    assert "138******78" in admin_agent.get("/admin/aftersales/consumerprofile/").content.decode()


def test_admin_reveal_view_asks_for_reason_and_logs(admin_agent, roles, consumer_a):
    url = f"/admin/aftersales/consumerprofile/{consumer_a.pk}/reveal/"
    form = admin_agent.get(url)
    assert form.status_code == 200 and "13812345678" not in form.content.decode()
    no_reason = admin_agent.post(url, {"fields_": ["phone"], "reason": ""})
    assert "13812345678" not in no_reason.content.decode()
    assert not PiiAccessLog.objects.exists()
    r = admin_agent.post(url, {"fields_": ["phone", "addresses"], "reason": "电话回访"})
    assert "13812345678" in r.content.decode() and "紫霄宫1室" in r.content.decode()
    log = PiiAccessLog.objects.get()
    assert (log.actor_user, log.fields, log.reason) == (
        roles["after_sales_agent"],
        ["phone", "addresses"],
        "电话回访",
    )


def test_admin_action_reveals_selected_consumers_with_reason(admin_agent, roles, consumer_a):
    other = roles["consumer_b"].consumer
    url = "/admin/aftersales/consumerprofile/"
    ids = [consumer_a.pk, other.pk]
    first = admin_agent.post(url, {"action": "reveal_pii", "_selected_action": ids})
    assert first.status_code == 200 and "13812345678" not in first.content.decode()
    assert "查看原因" in first.content.decode()
    r = admin_agent.post(
        url,
        {
            "action": "reveal_pii",
            "_selected_action": ids,
            "apply": "1",
            "fields_": ["name"],
            "reason": "投诉核实",
        },
    )
    assert "张三丰" in r.content.decode() and "李四" in r.content.decode()
    assert PiiAccessLog.objects.filter(reason="投诉核实").count() == 2


def test_admin_reveal_refused_for_auditor_without_view_permission(client, roles, consumer_a):
    client.force_login(roles["mediator"])
    r = client.get(f"/admin/aftersales/consumerprofile/{consumer_a.pk}/reveal/")
    assert r.status_code in (302, 403)
    assert not PiiAccessLog.objects.exists()


def test_pii_access_log_admin_is_read_only(admin_client, consumer_a, api):
    _reveal(api("after_sales_agent"), consumer_a)
    r = admin_client.get("/admin/aftersales/piiaccesslog/?actor_kind__exact=platform")
    assert r.status_code == 200 and "核实退款收件人" in r.content.decode()
    log = PiiAccessLog.objects.get()
    assert admin_client.get("/admin/aftersales/piiaccesslog/add/").status_code == 403
    assert (
        admin_client.post(
            f"/admin/aftersales/piiaccesslog/{log.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert PiiAccessLog.objects.filter(pk=log.pk).exists()
    assert ConsumerProfile.objects.filter(pk=consumer_a.pk).exists()


def test_revealed_values_are_never_stored_by_idempotency(consumer_a):
    from django.test import Client

    from aftersales.api.models import IdempotencyRecord

    session = Client()
    session.force_login(consumer_a.user)
    for _ in range(2):
        r = session.post(
            f"/api/v1/consumers/{consumer_a.pk}/reveal/",
            data='{"fields": ["phone"]}',
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="reveal-1",
        )
        assert r.status_code == 200 and r["Cache-Control"] == "no-store"
        assert "Idempotent-Replayed" not in r
    assert not IdempotencyRecord.objects.filter(key="reveal-1").exists()
    assert PiiAccessLog.objects.count() == 2  # each showing is logged


def test_admin_search_finds_consumer_by_phone(admin_client, consumer_a):
    r = admin_client.get("/admin/aftersales/consumerprofile/", {"q": "138 1234 5678"})
    assert r.status_code == 200
    assert r.context["cl"].result_count == 1
    assert list(r.context["cl"].result_list) == [consumer_a]


# -- an app's own grant (pii_reveal_register), tested on a kernel model -----------------------


@pytest.fixture
def registry(monkeypatch):
    """Registrations made by a test go away with it."""
    monkeypatch.setattr(reveal, "_REVEAL_EXTRA", dict(reveal._REVEAL_EXTRA))
    monkeypatch.setattr(reveal, "_REVEAL_GRANTS", dict(reveal._REVEAL_GRANTS))
    return reveal


def _grant_staff_of(merchant):
    def allows(actor, subject):
        return actor.merchant_id == merchant.pk

    return allows


def test_a_registered_grant_lets_its_actor_see_the_extra_fields_with_a_reason(
    registry, roles, consumer_a, merchant_a
):
    from aftersales.errors import InvalidInput
    from aftersales.tenancy.actors import actor_for_user

    address = ConsumerAddress.objects.get(consumer=consumer_a)
    registry.pii_reveal_register(
        "aftersales.consumeraddress",
        fields={"contact_line": lambda a: f"{a.recipient} {a.phone}"},
        allows=_grant_staff_of(merchant_a),
    )
    assert "contact_line" in registry.pii_revealable_fields(ConsumerAddress)
    staff_a = actor_for_user(roles["merchant_a"])
    got = registry.pii_reveal(
        actor=staff_a, subject=address, fields=["contact_line", "phone"], reason="上门取件"
    )
    assert got == {"contact_line": "张三丰 13812345678", "phone": "13812345678"}
    log = PiiAccessLog.objects.get(subject_type="aftersales.consumeraddress")
    assert (log.subject_id, log.fields, log.reason) == (
        address.pk,
        ["contact_line", "phone"],
        "上门取件",
    )
    assert log.actor_user_id == roles["merchant_a"].pk
    with pytest.raises(InvalidInput) as err:  # a grant still needs a reason
        registry.pii_reveal(actor=staff_a, subject=address, fields=["phone"], reason=" ")
    assert err.value.code == "reveal_reason_required"
    # The grant says no: another merchant's staff learn nothing, as without a grant.
    _refused(registry, roles["merchant_b"], address)
    assert PiiAccessLog.objects.count() == 1


def test_without_a_grant_merchants_get_not_found_for_the_same_model(registry, roles, consumer_a):
    _refused(registry, roles["merchant_a"], ConsumerAddress.objects.get(consumer=consumer_a))
    assert not PiiAccessLog.objects.exists()


def _refused(registry, user, address):
    from aftersales.errors import NotFound
    from aftersales.tenancy.actors import actor_for_user

    with pytest.raises(NotFound):
        registry.pii_reveal(
            actor=actor_for_user(user), subject=address, fields=["phone"], reason="上门取件"
        )


def test_the_admin_offers_the_reveal_only_to_who_may_use_it(roles, consumer_a, client):
    """An auditor's consumer page has no "查看完整信息" link or action and the reveal page
    answers 403; an agent's has both; a granted auditor's too."""
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    page = reverse("admin:aftersales_consumerprofile_change", args=[consumer_a.pk])
    changelist = reverse("admin:aftersales_consumerprofile_changelist")
    reveal_page = reverse("admin:aftersales_consumerprofile_reveal", args=[consumer_a.pk])

    def offered(user):
        client.force_login(user)
        body = client.get(page).content.decode()
        actions = client.get(changelist).content.decode()
        return (
            reveal_page in body,
            'value="reveal_pii"' in actions,
            client.get(reveal_page).status_code,
        )

    assert offered(roles["auditor"]) == (False, False, 403)
    assert offered(roles["after_sales_agent"]) == (True, True, 200)
    auditor = roles["auditor"]
    auditor.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    auditor = type(auditor).objects.get(pk=auditor.pk)  # permissions are cached per instance
    assert offered(auditor) == (True, True, 200)
