"""Return addresses: merchants keep one per warehouse (portal, API, one default), the approval
picks one (the default unless the merchant chooses), and the consumer's ship-back step shows it
with a copy button."""

from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from aftersales import clock
from aftersales.errors import Conflict, InvalidInput
from aftersales.tests import factories as kernel
from returns import services
from returns.models import ReturnAddress
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db

PLACE = {
    "contact_name": "王仓管",
    "phone": "021-55550000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "street": "川沙路 100 号",
}


def address(merchant, warehouse, **kw):
    return services.return_address_create(
        actor=rf.merchant_actor(merchant),
        merchant_id=merchant.pk,
        warehouse=warehouse,
        **(PLACE | kw),
    )


def requested():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1))
    request = services.return_request_create(
        line=line,
        kind="return_refund",
        reason="no_reason",
        quantity=1,
        actor=rf.consumer_actor(line.order.consumer),
    )
    return request, rf.merchant_actor(line.order.merchant)


def test_first_address_is_the_default_and_one_default_per_merchant():
    request, _m = requested()
    first = address(request.merchant, "上海仓")
    second = address(request.merchant, "杭州仓", street="滨江路 1 号", is_default=True)
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    with pytest.raises(Conflict) as err:
        address(request.merchant, "杭州仓")
    assert err.value.code == "warehouse_address_exists"
    with pytest.raises(InvalidInput) as err:
        address(request.merchant, "北京仓", street="")
    assert err.value.code == "address_incomplete"
    services.return_address_archive(address=second, actor=rf.merchant_actor(request.merchant))
    first.refresh_from_db()
    assert first.is_default  # the other one takes over


def test_approval_picks_the_default_or_the_chosen_warehouse():
    request, merchant = requested()
    default = address(request.merchant, "上海仓")
    other = address(request.merchant, "杭州仓", street="滨江路 1 号")
    request = services.return_request_approve(request=request, actor=merchant)
    assert request.return_address == default
    chosen, merchant = requested()
    address(chosen.merchant, "广州仓")
    mine = address(chosen.merchant, "深圳仓", street="南山路 2 号")
    chosen = services.return_request_approve(request=chosen, actor=merchant, return_address=mine.pk)
    assert chosen.return_address == mine
    foreign, merchant = requested()
    with pytest.raises(InvalidInput) as err:
        services.return_request_approve(request=foreign, actor=merchant, return_address=other.pk)
    assert err.value.code == "return_address_invalid"


def test_approval_without_any_address_still_works_and_says_so(client):
    request, merchant = requested()
    request = services.return_request_approve(request=request, actor=merchant)
    assert request.return_address is None
    client.force_login(request.consumer.user)
    html = client.get(reverse("my:return-detail", args=[request.pk])).content.decode()
    assert 'data-testid="no-return-address"' in html


def test_consumer_ship_back_step_shows_the_address_with_a_copy_button(client):
    request, merchant = requested()
    where = address(request.merchant, "上海仓", postal_code="200120")
    services.return_request_approve(request=request, actor=merchant)
    client.force_login(request.consumer.user)
    html = client.get(reverse("my:return-detail", args=[request.pk])).content.decode()
    assert 'data-testid="return-address"' in html
    assert f'data-copy="{where.full_text}"' in html
    assert "王仓管 021-55550000 上海市上海市浦东新区川沙路 100 号（200120）" in html


def test_merchant_keeps_addresses_in_the_portal_and_chooses_at_approval(client):
    request, _merchant = requested()
    member = kernel.MerchantMemberFactory(merchant=request.merchant)
    client.force_login(member.user)
    url = reverse("merchant:return-address-list")
    page = client.post(url, {"warehouse": "上海仓", **PLACE})
    assert page.status_code == 302
    client.post(url, {"warehouse": "杭州仓", **PLACE, "street": "滨江路 1 号"})
    hangzhou = ReturnAddress.objects.get(warehouse="杭州仓")
    edit = reverse("merchant:return-address-edit", args=[hangzhou.pk])
    assert client.get(edit).status_code == 200
    client.post(edit, {"warehouse": "杭州仓", **PLACE, "phone": "0571-1234"})
    hangzhou.refresh_from_db()
    assert hangzhou.phone == "0571-1234"
    bad = client.post(url, {"warehouse": "杭州仓", **PLACE})
    assert bad.status_code == 400 and "已有退货地址" in bad.content.decode()
    detail = client.get(reverse("merchant:return-detail", args=[request.pk])).content.decode()
    assert 'data-testid="approve-address"' in detail and "杭州仓" in detail
    client.post(
        reverse("merchant:return-approve", args=[request.pk]), {"return_address": hangzhou.pk}
    )
    request.refresh_from_db()
    assert request.status == "approved" and request.return_address == hangzhou
    client.post(reverse("merchant:return-address-archive", args=[hangzhou.pk]))
    hangzhou.refresh_from_db()
    assert not hangzhou.active
    assert "杭州仓" not in client.get(url).content.decode()


def test_api_crud_is_scoped_to_the_merchant():
    request, _m = requested()
    key, raw = kernel.api_key("merchant", merchant=request.merchant)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    created = api.post("/api/v1/return-addresses/", {"warehouse": "上海仓", **PLACE}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["is_default"] is True
    pk = created.json()["id"]
    assert api.get("/api/v1/return-addresses/").json()["results"][0]["id"] == pk
    patched = api.patch(f"/api/v1/return-addresses/{pk}/", {"city": "闵行"}, format="json")
    assert patched.json()["city"] == "闵行"
    other = rf.signed_line(signed_at=clock.now()).order.merchant
    theirs = address(other, "别家仓")
    assert api.get(f"/api/v1/return-addresses/{theirs.pk}/").status_code == 404
    merchant = rf.merchant_actor(request.merchant)
    services.return_request_approve(request=request, actor=merchant)
    case = api.get(f"/api/v1/returns/{request.pk}/").json()
    assert case["return_address"]["id"] == pk and "闵行" in case["return_address"]["full_text"]
    assert api.delete(f"/api/v1/return-addresses/{pk}/").status_code == 204
    assert api.get("/api/v1/return-addresses/").json()["results"] == []
