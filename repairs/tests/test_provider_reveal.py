"""The consumer's contact on repair orders (RULES.md D2, D3): merchants and providers see name,
phone and address masked; the assigned provider's staff of an open on-site repair may reveal the
full phone and address, with a reason, logged in ``PiiAccessLog`` and on the repair's timeline,
shown in that response only. Everyone else gets 404 and nothing is logged."""

import json

import pytest
from rest_framework.test import APIClient

from aftersales.casefile.models import TimelineEvent
from aftersales.errors import NotFound
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tenancy.models import PiiAccessLog
from aftersales.tenancy.reveal import pii_reveal
from repairs import services

from . import factories_pages as fp

pytestmark = pytest.mark.django_db

PHONE = "13812345678"  # orders.tests.factories.OrderFactory's delivery phone
MASKED_PHONE = "138******78"
UNIT = "1201室"
STREET = "世纪大道100号"
FULL_ADDRESS = "浙江省上海市浦东新区世纪大道100号1201室"
REASON = "电话预约上门维修时间"


def _card(roles, merchant_a, **kwargs):
    return fp.card(consumer=roles["consumer_a"].consumer, merchant=merchant_a, **kwargs)


def _repair(card, provider, *, mode="on_site"):
    repair = services.repair_request(
        card=card, fault_description="开机黑屏", service_mode=mode, actor=SYSTEM
    )
    return services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)


@pytest.fixture
def on_site(roles, merchant_a, shops):
    """Consumer A's on-site repair at merchant A, assigned to provider p1 (open)."""
    return _repair(_card(roles, merchant_a), shops["p1"])


def _url(repair, suffix=""):
    return f"/provider/repairs/{repair.pk}/{suffix}"


def _reveal(client, repair, reason=REASON, confirm=True):
    data = {"reason": reason}
    if confirm:
        data["confirm"] = "on"
    return client.post(_url(repair, "reveal-contact/"), data)


def _text(response):
    return response.content.decode()


def _assert_masked(text):
    assert PHONE not in text and UNIT not in text and STREET not in text
    assert "张三丰" not in text


def test_provider_page_shows_the_consumer_masked_with_the_reveal_form(client, techs, on_site):
    client.force_login(techs["p1"])
    response = client.get(_url(on_site))
    text = _text(response)
    assert response.status_code == 200
    _assert_masked(text)
    assert MASKED_PHONE in text  # 6 digits hidden
    assert "浙江省上海市浦东新区世纪大道****" in text  # no house or room number
    assert "张*丰" in text
    assert "查看完整电话与地址（上门服务，将被记录）" in text
    assert 'data-testid="reveal-contact-form"' in text and "csrfmiddlewaretoken" in text
    assert not PiiAccessLog.objects.exists()


def test_assigned_provider_reveals_phone_and_address_logged(client, techs, on_site):
    client.force_login(techs["p1"])
    response = _reveal(client, on_site)
    text = _text(response)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert PHONE in text and FULL_ADDRESS in text
    assert "张三丰" not in text  # the name stays masked
    log = PiiAccessLog.objects.get()
    assert (log.subject_type, log.subject_id) == ("repairs.repairorder", on_site.pk)
    assert log.actor_user == techs["p1"] and log.actor_kind == "provider"
    assert log.fields == ["phone", "address"] and log.reason == REASON
    assert log.occurred_at is not None
    event = TimelineEvent.objects.get(
        subject_type="repairs.repairorder", subject_id=on_site.pk, verb="repair.consumer_revealed"
    )
    assert event.actor_user == techs["p1"] and event.reason == REASON
    stored = f"{event.data} {event.reason}"
    assert PHONE not in stored and UNIT not in stored and STREET not in stored
    # The next request shows the masked values again: nothing was kept.
    again = _text(client.get(_url(on_site)))
    _assert_masked(again)
    assert "维修服务商查看了完整电话与地址（上门服务）" in again


def test_reveal_needs_a_reason_and_the_confirmation(client, techs, on_site):
    client.force_login(techs["p1"])
    for response in (_reveal(client, on_site, reason="   "), _reveal(client, on_site, reason="")):
        assert response.status_code == 400
        text = _text(response)
        assert "请填写查看原因" in text
        _assert_masked(text)
    unconfirmed = _reveal(client, on_site, confirm=False)
    assert unconfirmed.status_code == 400 and "请先勾选确认" in _text(unconfirmed)
    _assert_masked(_text(unconfirmed))
    assert not PiiAccessLog.objects.exists()
    assert not TimelineEvent.objects.filter(verb="repair.consumer_revealed").exists()


def test_reveal_is_a_post(client, techs, on_site):
    client.force_login(techs["p1"])
    assert client.get(_url(on_site, "reveal-contact/")).status_code == 405


def test_another_providers_staff_get_404(client, techs, on_site):
    client.force_login(techs["p2"])
    assert client.get(_url(on_site)).status_code == 404
    assert _reveal(client, on_site).status_code == 404
    assert not PiiAccessLog.objects.exists()


def test_send_in_repair_cannot_be_revealed(client, techs, roles, merchant_a, shops):
    repair = _repair(_card(roles, merchant_a), shops["p1"], mode="send_in")
    client.force_login(techs["p1"])
    page = _text(client.get(_url(repair)))
    _assert_masked(page)
    assert MASKED_PHONE in page
    assert 'data-testid="reveal-contact-form"' not in page
    assert _reveal(client, repair).status_code == 404
    assert _reveal(client, repair, reason="").status_code == 404
    assert not PiiAccessLog.objects.exists()


def test_finished_repair_cannot_be_revealed(client, techs, on_site):
    repair = services.repair_receive(repair=on_site, actor=SYSTEM)
    repair = services.repair_finish(repair=repair, actor=SYSTEM, result="fixed")
    assert repair.status == "fixed"
    client.force_login(techs["p1"])
    page = _text(client.get(_url(repair)))
    _assert_masked(page)
    assert 'data-testid="reveal-contact-form"' not in page
    assert _reveal(client, repair).status_code == 404
    assert not PiiAccessLog.objects.exists()


def test_cancelled_or_reassigned_repair_cannot_be_revealed(techs, shops, on_site):
    reassigned = services.repair_assign(repair=on_site, provider=shops["p2"], actor=SYSTEM)
    with pytest.raises(NotFound):
        services.repair_consumer_reveal(
            repair=reassigned, actor=actor_for_user(techs["p1"]), reason=REASON
        )
    cancelled = services.repair_cancel(repair=reassigned, actor=SYSTEM, reason="消费者取消")
    with pytest.raises(NotFound):
        services.repair_consumer_reveal(
            repair=cancelled, actor=actor_for_user(techs["p2"]), reason=REASON
        )
    assert not PiiAccessLog.objects.exists()


def test_a_technician_removed_from_the_assigned_provider_may_no_longer_reveal(
    client, techs, on_site
):
    from repairs.models import RepairProviderMember

    member = RepairProviderMember.objects.get(user=techs["p1"], provider=on_site.provider)
    services.provider_member_remove(member=member, actor=SYSTEM)
    with pytest.raises(NotFound):
        services.repair_consumer_reveal(
            repair=on_site, actor=actor_for_user(techs["p1"]), reason=REASON
        )
    client.force_login(techs["p1"])
    assert _reveal(client, on_site).status_code == 404
    # No provider's staff any more: the API's role gate answers before any lookup.
    assert _api_reveal(client, on_site, {"reason": REASON}).status_code in (403, 404)
    assert not PiiAccessLog.objects.exists()


def test_merchant_sees_masked_only(client, roles, techs, on_site):
    services.repair_consumer_reveal(
        repair=on_site, actor=actor_for_user(techs["p1"]), reason=REASON
    )
    client.force_login(roles["merchant_a"])
    page = _text(client.get(f"/merchant/repairs/{on_site.pk}/"))
    _assert_masked(page)
    assert MASKED_PHONE in page and "张*丰" in page
    assert 'data-testid="reveal-contact-form"' not in page
    assert "维修服务商查看了完整电话与地址（上门服务）" in page
    assert _reveal(client, on_site).status_code == 404
    assert PiiAccessLog.objects.count() == 1


@pytest.mark.parametrize("role", ["merchant_a", "consumer_a", "merchant_b", "after_sales_agent"])
def test_others_may_not_reveal_through_the_service_or_the_kernel(roles, on_site, role):
    actor = actor_for_user(roles[role])
    with pytest.raises(NotFound):
        services.repair_consumer_reveal(repair=on_site, actor=actor, reason=REASON)
    if role != "after_sales_agent":  # platform staff keep the kernel's own reveal (with reason)
        with pytest.raises(NotFound):
            pii_reveal(actor=actor, subject=on_site, fields=["phone"], reason=REASON)
    assert not PiiAccessLog.objects.filter(actor_user=roles[role], fields=["phone"]).exists()


def test_kernel_reveal_applies_the_same_rule(techs, roles, merchant_a, shops, on_site):
    tech = actor_for_user(techs["p1"])
    values = pii_reveal(actor=tech, subject=on_site, fields=["address"], reason=REASON)
    assert values == {"address": FULL_ADDRESS}
    send_in = _repair(_card(roles, merchant_a), shops["p1"], mode="send_in")
    with pytest.raises(NotFound):
        pii_reveal(actor=tech, subject=send_in, fields=["phone"], reason=REASON)
    assert PiiAccessLog.objects.count() == 1


def test_provider_detail_query_count_is_pinned(
    client, techs, on_site, django_assert_max_num_queries
):
    client.force_login(techs["p1"])
    client.get(_url(on_site))
    with django_assert_max_num_queries(30):
        assert client.get(_url(on_site)).status_code == 200


# -- API ------------------------------------------------------------------------------------------


def _api_reveal(client, repair, body):
    return client.post(
        f"/api/v1/repair-orders/{repair.pk}/reveal-contact/",
        json.dumps(body),
        content_type="application/json",
    )


def test_api_reveal_by_the_assigned_provider_is_logged_and_not_stored(client, techs, on_site):
    from aftersales.api.models import IdempotencyRecord

    client.force_login(techs["p1"])
    r = client.post(
        f"/api/v1/repair-orders/{on_site.pk}/reveal-contact/",
        json.dumps({"reason": REASON}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="reveal-contact-1",
    )
    assert r.status_code == 200, r.json()
    assert r["Cache-Control"] == "no-store"
    assert r.json() == {"id": on_site.pk, "values": {"phone": PHONE, "address": FULL_ADDRESS}}
    assert not IdempotencyRecord.objects.filter(key="reveal-contact-1").exists()
    log = PiiAccessLog.objects.get()
    assert (log.actor_user, log.fields, log.reason) == (techs["p1"], ["phone", "address"], REASON)
    only_phone = _api_reveal(client, on_site, {"fields": ["phone"], "reason": REASON})
    assert only_phone.json()["values"] == {"phone": PHONE}
    detail = client.get(f"/api/v1/repair-orders/{on_site.pk}/").content.decode()
    assert PHONE not in detail and UNIT not in detail


def test_api_reveal_needs_a_reason(client, techs, on_site):
    client.force_login(techs["p1"])
    r = _api_reveal(client, on_site, {"reason": " "})
    assert r.status_code == 400 and r.json()["code"] == "reveal_reason_required"
    assert not PiiAccessLog.objects.exists()


def test_api_reveal_refused_with_404(client, techs, roles, merchant_a, shops, on_site):
    send_in = _repair(_card(roles, merchant_a), shops["p1"], mode="send_in")
    client.force_login(techs["p1"])
    assert _api_reveal(client, send_in, {"reason": REASON}).status_code == 404
    client.force_login(techs["p2"])
    assert _api_reveal(client, on_site, {"reason": REASON}).status_code == 404
    client.force_login(roles["merchant_a"])
    r = _api_reveal(client, on_site, {"reason": REASON})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    platform_key = APIClient()
    platform_key.credentials(HTTP_AUTHORIZATION=f"Api-Key {roles['platform_key']}")
    r = _api_reveal(platform_key, on_site, {"reason": REASON})
    assert r.status_code in (403, 404), r.content  # an integrator never sees the contact
    assert not PiiAccessLog.objects.exists()
