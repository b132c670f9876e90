"""Repair providers (standard 6.5.1): admission, review, suspension; assignment only to admitted
providers of the right category and region; provider staff see and act on only the repair
orders granted to them (django-guardian)."""

import pytest

from aftersales.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as af
from repairs import selectors, services
from repairs.models import RepairProvider
from repairs.tests.factories import at, provider_with_staff, received_repair, sh, signed_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(merchant_a):
    consumer = af.ConsumerFactory(user=af.UserFactory(username="p-consumer"))
    with at(sh(2026, 5, 1, 10)):
        return signed_card(merchant_a, consumer, signed_at=sh(2026, 5, 1, 9))


def _request(card):
    with at(sh(2026, 6, 1, 10)):
        return services.repair_request(
            actor=actor_for_user(card.consumer.user), card=card, fault_description="无声音"
        )


def test_admission_lifecycle(roles):
    applicant = af.UserFactory(username="applicant")
    provider = services.provider_apply(
        actor=actor_for_user(applicant),
        owner=applicant,
        name="申城家电维修",
        licence_number="91310000MA1K",
        categories=["lcd_tv", "crt_tv"],
        regions=["上海市", "江苏省"],
    )
    assert provider.status == "applied" and provider.members.get().role == "owner"
    owner = actor_for_user(applicant)
    assert owner.is_provider and owner.provider_id == provider.pk
    assert list(selectors.provider_list(actor=owner)) == [provider]
    merchant = actor_for_user(roles["merchant_a"])
    assert not selectors.provider_list(actor=merchant).exists()  # not admitted yet
    with pytest.raises(PermissionDenied):
        services.provider_review(provider=provider, actor=owner, approve=True)
    agent = actor_for_user(roles["after_sales_agent"])
    with pytest.raises(InvalidInput):
        services.provider_review(provider=provider, actor=agent, approve=False)
    provider = services.provider_review(provider=provider, actor=agent, approve=True, note="合格")
    assert provider.status == "approved" and provider.reviewed_by == roles["after_sales_agent"]
    assert list(selectors.provider_list(actor=merchant, filters={"category": "lcd_tv"})) == [
        provider
    ]
    provider = services.provider_suspend(provider=provider, actor=agent, reason="投诉较多")
    assert provider.status == "suspended" and provider.suspended_at is not None
    provider = services.provider_reinstate(provider=provider, actor=agent)
    assert provider.status == "approved"
    with pytest.raises(Conflict):
        services.provider_apply(
            actor=agent, name="重复", licence_number="91310000MA1K", categories=["lcd_tv"]
        )


def test_consumer_cannot_apply_as_provider(roles):
    consumer = roles["consumer_a"]
    with pytest.raises(PermissionDenied) as err:
        services.provider_apply(
            actor=actor_for_user(consumer),
            owner=consumer,
            name="x",
            licence_number="L-1",
            categories=["lcd_tv"],
        )
    assert err.value.code == "account_has_role"


def test_suspended_provider_cannot_be_assigned(card):
    provider, _staff = provider_with_staff(staff=("s-tech",))
    services.provider_suspend(provider=provider, actor=SYSTEM, reason="资质过期")
    repair = _request(card)
    with pytest.raises(RuleViolation) as err:
        services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
    assert err.value.code == "provider_not_admitted"
    repair.refresh_from_db()
    assert repair.status == "requested" and repair.provider is None


def test_applied_provider_cannot_be_assigned(card):
    provider = services.provider_apply(
        actor=SYSTEM, name="新店", licence_number="L-new", categories=["lcd_tv"]
    )
    with pytest.raises(RuleViolation) as err:
        services.repair_assign(repair=_request(card), provider=provider, actor=SYSTEM)
    assert err.value.code == "provider_not_admitted"


def test_category_and_region_must_match(card):
    phones, _ = provider_with_staff(staff=("phone-tech",), codes=("mobile_phone",))
    beijing, _ = provider_with_staff(staff=("bj-tech",), regions=("北京市",))
    shanghai, _ = provider_with_staff(staff=("sh-tech",), regions=("上海市",))
    repair = _request(card)
    with pytest.raises(RuleViolation) as err:
        services.repair_assign(repair=repair, provider=phones, actor=SYSTEM)
    assert err.value.code == "provider_category_mismatch"
    with pytest.raises(RuleViolation) as err:
        services.repair_assign(repair=repair, provider=beijing, actor=SYSTEM)
    assert err.value.code == "provider_region_mismatch"
    assert services.assignable_providers(repair=repair) == [shanghai]
    assert (
        services.repair_assign(repair=repair, provider=shanghai, actor=SYSTEM).provider == shanghai
    )


def test_merchant_assigns_its_own_repairs_only(card, roles):
    provider, _ = provider_with_staff(staff=("m-tech",))
    repair = _request(card)
    with pytest.raises(NotFound):
        services.repair_assign(
            repair=repair, provider=provider, actor=actor_for_user(roles["merchant_b"])
        )
    with pytest.raises(PermissionDenied):
        services.repair_assign(
            repair=repair, provider=provider, actor=actor_for_user(card.consumer.user)
        )
    repair = services.repair_assign(
        repair=repair, provider=provider, actor=actor_for_user(roles["merchant_a"])
    )
    assert repair.status == "assigned"


def test_provider_staff_see_and_act_only_on_their_orders(merchant_a, card):
    mine, (tech,) = provider_with_staff(staff=("own-tech",))
    other, (stranger,) = provider_with_staff(staff=("other-tech",))
    consumer2 = af.ConsumerFactory()
    with at(sh(2026, 5, 1, 10)):
        card2 = signed_card(merchant_a, consumer2, signed_at=sh(2026, 5, 1, 9))
    repair = received_repair(
        card, mine, tech, reported_at=sh(2026, 6, 1, 9), received_at=sh(2026, 6, 1, 10)
    )
    foreign = received_repair(
        card2, other, stranger, reported_at=sh(2026, 6, 1, 9), received_at=sh(2026, 6, 1, 10)
    )
    technician = actor_for_user(tech)
    assert list(selectors.repair_order_list(actor=technician)) == [repair]
    assert selectors.repair_order_get(actor=technician, pk=repair.pk) == repair
    with pytest.raises(NotFound):
        selectors.repair_order_get(actor=technician, pk=foreign.pk)
    with pytest.raises(NotFound), at(sh(2026, 6, 2)):
        services.repair_diagnose(repair=foreign, actor=technician, diagnosis="看看")
    # the card of a granted repair is visible, others not
    assert list(selectors.warranty_card_list(actor=technician)) == [card]
    with pytest.raises(NotFound):
        selectors.warranty_card_get(actor=technician, pk=card2.pk)
    assert not selectors.escalation_queue(actor=technician).exists()
    # the consumer and the merchant see the repair but cannot act as its repairer
    with pytest.raises(PermissionDenied), at(sh(2026, 6, 2)):
        services.repair_diagnose(
            repair=repair, actor=actor_for_user(card.consumer.user), diagnosis="x"
        )


def test_new_member_is_granted_assigned_orders_and_reassignment_revokes(merchant_a, card):
    first, (tech,) = provider_with_staff(staff=("first-tech",))
    second, (other,) = provider_with_staff(staff=("second-tech",))
    repair = _request(card)
    with at(sh(2026, 6, 1, 11)):
        repair = services.repair_assign(repair=repair, provider=first, actor=SYSTEM)
    late = af.UserFactory(username="late-tech")
    services.provider_member_add(provider=first, user=late, actor=SYSTEM)
    assert list(selectors.repair_order_list(actor=actor_for_user(late))) == [repair]
    with at(sh(2026, 6, 1, 12)):
        services.repair_assign(repair=repair, provider=second, actor=SYSTEM)
    assert not selectors.repair_order_list(actor=actor_for_user(tech)).exists()
    assert not selectors.repair_order_list(actor=actor_for_user(late)).exists()
    assert list(selectors.repair_order_list(actor=actor_for_user(other))) == [repair]


def test_repair_cannot_be_reassigned_after_receipt(card):
    provider, (tech,) = provider_with_staff(staff=("r-tech",))
    other, _ = provider_with_staff(staff=("r2-tech",))
    repair = received_repair(
        card, provider, tech, reported_at=sh(2026, 6, 1, 9), received_at=sh(2026, 6, 1, 10)
    )
    with pytest.raises(Conflict) as err:
        services.repair_assign(repair=repair, provider=other, actor=SYSTEM)
    assert err.value.code == "repair_already_received"


def test_full_repair_flow_statuses(card):
    provider, (tech,) = provider_with_staff(staff=("flow-tech",))
    technician = actor_for_user(tech)
    repair = received_repair(
        card, provider, tech, reported_at=sh(2026, 6, 1, 9), received_at=sh(2026, 6, 1, 10)
    )
    with at(sh(2026, 6, 2, 10)):
        repair = services.repair_diagnose(repair=repair, actor=technician, diagnosis="主板故障")
        repair = services.repair_start(repair=repair, actor=technician)
    with at(sh(2026, 6, 4, 10)):
        repair = services.repair_finish(
            repair=repair, actor=technician, result="fixed", parts_replaced=["主板"]
        )
        repair = services.repair_return_to_consumer(repair=repair, actor=technician)
    with at(sh(2026, 6, 5, 10)):
        repair = services.repair_close(repair=repair, actor=actor_for_user(card.consumer.user))
    assert repair.status == "closed" and repair.parts_replaced == [{"name": "主板", "quantity": 1}]
    assert repair.received_at == sh(2026, 6, 1, 10) and repair.finished_at == sh(2026, 6, 4, 10)
    with pytest.raises(Conflict):
        services.repair_start(repair=repair, actor=technician)
    assert RepairProvider.objects.get(pk=provider.pk).status == "approved"
