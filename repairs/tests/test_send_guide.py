"""Where and how a repair is done: send-in for every category, on site only for bulky appliances,
never for mobile phones (service and form); the consumer's repair page shows the assigned
provider's address, hours and phone for a send-in repair."""

import pytest
from django.urls import reverse

from aftersales.errors import RuleViolation
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as af
from repairs import rules, services
from repairs.forms import RepairRequestForm
from repairs.tests.factories import at, provider_with_staff, sh, signed_card

pytestmark = pytest.mark.django_db

SIGNED = sh(2026, 11, 21, 0, 30)


@pytest.fixture
def consumer():
    return af.ConsumerFactory(user=af.UserFactory(username="guide-consumer"))


def test_service_modes_by_category():
    assert rules.service_modes("lcd_tv") == ("send_in", "on_site")
    assert rules.service_modes("mobile_phone") == ("send_in",)
    assert rules.service_modes("bicycle") == ("send_in",)


def test_no_on_site_repair_for_phones(merchant_a, consumer):
    with at(SIGNED):
        phone = signed_card(merchant_a, consumer, signed_at=SIGNED, code="mobile_phone")
        tv = signed_card(merchant_a, consumer, signed_at=SIGNED)
    me = actor_for_user(consumer.user)
    with at(sh(2026, 12, 1, 10)), pytest.raises(RuleViolation) as err:
        services.repair_request(
            actor=me, card=phone, fault_description="屏幕不亮了", service_mode="on_site"
        )
    assert err.value.code == "service_mode_not_offered"
    assert err.value.fields == {"service_mode": ["send_in"]}
    with at(sh(2026, 12, 1, 10)):
        repair = services.repair_request(
            actor=me, card=tv, fault_description="屏幕不亮了", service_mode="on_site"
        )
    assert repair.service_mode == "on_site"
    form = RepairRequestForm(cards=[phone])
    assert [v for v, _label in form.fields["service_mode"].choices] == ["send_in"]


def test_consumer_repair_page_shows_where_to_send_the_item(client, merchant_a, consumer):
    with at(SIGNED):
        card = signed_card(merchant_a, consumer, signed_at=SIGNED)
    with at(sh(2026, 12, 1, 10)):
        repair = services.repair_request(
            actor=actor_for_user(consumer.user), card=card, fault_description="无法开机"
        )
    client.force_login(consumer.user)
    url = reverse("my:repair-detail", args=[repair.pk])
    assert 'data-testid="send-guide-pending"' in client.get(url).content.decode()
    provider, _staff = provider_with_staff(staff=("guide-tech",))
    provider.address = "上海市徐汇区漕溪北路 1 号"
    provider.service_hours = "周一至周日 09:00–18:00"
    provider.contact_phone = "021-55551234"
    provider.save()
    services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
    html = client.get(url).content.decode()
    assert "上海市徐汇区漕溪北路 1 号" in html and "周一至周日 09:00–18:00" in html
    assert 'data-testid="copy-provider-address"' in html and "021-55551234" in html
