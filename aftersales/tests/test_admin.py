"""The staff console for kernel models: pages load in Chinese, writes go through services."""

import pytest

from aftersales.casefile.models import TimelineEvent
from aftersales.policies.models import PolicyVersion
from aftersales.tenancy.models import ApiKey, Merchant

pytestmark = pytest.mark.django_db

PAGES = [
    "user",
    "merchant",
    "merchantmember",
    "consumerprofile",
    "consumeraddress",
    "apikey",
    "policyversion",
    "timelineevent",
    "domainevent",
    "idempotencyrecord",
    "piiaccesslog",
]


@pytest.mark.parametrize("model", PAGES)
def test_changelists_load_with_search(admin_client, roles, model):
    r = admin_client.get(f"/admin/aftersales/{model}/", {"q": "a"})
    assert r.status_code == 200
    assert "管理后台" in r.content.decode()


def test_admin_creates_merchant_through_the_service(admin_client):
    r = admin_client.post(
        "/admin/aftersales/merchant/add/",
        {
            "code": "adm",
            "name": "后台商家",
            "contact_email": "",
            "is_active": "on",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    merchant = Merchant.objects.get(code="adm")
    assert TimelineEvent.objects.filter(verb="merchant.created", subject_id=merchant.pk).exists()


def test_admin_issues_api_key_showing_raw_once(admin_client, merchant_a):
    r = admin_client.post(
        "/admin/aftersales/apikey/add/",
        {"name": "后台密钥", "scope": "merchant", "merchant": merchant_a.pk},
        follow=True,
    )
    assert r.status_code == 200
    key = ApiKey.objects.get(name="后台密钥")
    text = r.content.decode()
    assert f"as_{key.prefix}_" in text
    assert (
        f"as_{key.prefix}_"
        not in admin_client.get(f"/admin/aftersales/apikey/{key.pk}/change/").content.decode()
    )


def test_admin_revoke_action(admin_client, merchant_a):
    from aftersales.tests import factories as f

    key, _ = f.api_key("merchant", merchant_a)
    admin_client.post(
        "/admin/aftersales/apikey/", {"action": "revoke", "_selected_action": [key.pk]}
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert TimelineEvent.objects.filter(verb="api_key.revoked", subject_id=key.pk).exists()


def test_admin_adds_policy_version_through_policy_set(admin_client):
    r = admin_client.post(
        "/admin/aftersales/policyversion/add/",
        {
            "key": "returns.auto_approve_hours",
            "scope": "platform",
            "scope_id": "",
            "value": "24",
            "note": "后台调整",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    row = PolicyVersion.objects.get()
    assert (row.value, row.version, row.created_by.username) == (24, 1, "admin")
    again = admin_client.post(
        "/admin/aftersales/policyversion/add/",
        {
            "key": "returns.refund_after_receipt_days",
            "scope": "platform",
            "scope_id": "",
            "value": "9",
            "note": "",
        },
    )
    assert again.status_code == 200 and "法定上限" in again.content.decode()
    assert PolicyVersion.objects.count() == 1


def test_admin_changes_credit_score_through_the_service(admin_client, roles):
    consumer = roles["consumer_a"].consumer
    r = admin_client.post(
        f"/admin/aftersales/consumerprofile/{consumer.pk}/change/",
        {
            "credit_score": "850",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    consumer.refresh_from_db()
    assert consumer.credit_score == 850 and consumer.name == "张三丰"
    assert TimelineEvent.objects.filter(verb="consumer.updated", subject_id=consumer.pk).exists()


def test_admin_member_changes_go_through_services(admin_client, merchant_a):
    """Adding, re-roling and removing a merchant's staff leaves timeline events (STYLE 2–3)."""
    from aftersales.tenancy.models import MerchantMember, User

    user = User.objects.create(username="new-agent")
    r = admin_client.post(
        "/admin/aftersales/merchantmember/add/",
        {"merchant": merchant_a.pk, "user": user.pk, "role": "agent"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    member = MerchantMember.objects.get(user=user)
    events = TimelineEvent.objects.filter(
        subject_type="aftersales.merchant", subject_id=merchant_a.pk
    )
    assert events.filter(verb="member.added").count() == 1

    r = admin_client.post(
        f"/admin/aftersales/merchantmember/{member.pk}/change/", {"role": "owner"}
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    member.refresh_from_db()
    assert member.role == "owner"
    changed = events.get(verb="member.role_changed")
    assert (changed.data["from"], changed.data["to"]) == ("agent", "owner")
    assert changed.actor_label

    r = admin_client.post(f"/admin/aftersales/merchantmember/{member.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not MerchantMember.objects.filter(pk=member.pk).exists()
    assert events.filter(verb="member.removed").count() == 1


def test_merchant_page_lists_members_read_only(admin_client, roles, merchant_a):
    r = admin_client.get(f"/admin/aftersales/merchant/{merchant_a.pk}/change/")
    assert r.status_code == 200
    assert 'name="members-0-role"' not in r.content.decode()
