"""G1–G4, G7, G8, G9, G11, G12 at their boundaries, through the services (real database).

Cards are signed 2026-11-21 00:30 Shanghai (= 2026-11-20 16:30 UTC) unless told: day 1 is
11-22, the 7-day window is open until 11-28 24:00 Shanghai, the 15-day window until 12-06 24:00.
"""

from decimal import Decimal

import pytest

from aftersales.errors import Conflict, InvalidInput, RuleViolation
from aftersales.messaging.models import Notification
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as af
from repairs import rules, selectors, services
from repairs.models import RepairOrder, WarrantyEscalation
from repairs.tests.factories import (
    at,
    finished_repair,
    provider_with_staff,
    received_repair,
    sh,
    signed_card,
)
from returns.models import ReturnRequest

pytestmark = pytest.mark.django_db

SIGNED = sh(2026, 11, 21, 0, 30)


@pytest.fixture
def consumer():
    return af.ConsumerFactory(user=af.UserFactory(username="g-consumer"))


@pytest.fixture
def card(merchant_a, consumer):
    with at(SIGNED):
        return signed_card(merchant_a, consumer, signed_at=SIGNED)


@pytest.fixture
def repairer():
    return provider_with_staff(staff=("g-tech",))


def me(card):
    return actor_for_user(card.consumer.user)


def choose(card, remedy, when):
    with at(when):
        return services.warranty_remedy_choose(card=card, remedy=remedy, actor=me(card))


# -- G1 / G2: day 7 and 8, day 15 and 16 ----------------------------------------------------------


def test_g1_return_on_the_last_minute_of_day_7_runs_through_returns(card):
    card = choose(card, rules.RETURN, sh(2026, 11, 28, 23, 59))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    assert card.pending_remedy == "return"
    assert request.kind == "return_refund" and request.rule == "G1"
    assert request.amount == Decimal("3000.00") and request.line_id == card.order_line_id
    with pytest.raises(Conflict) as err:
        choose(card, rules.EXCHANGE, sh(2026, 11, 28, 23, 59))
    assert err.value.code == "remedy_already_chosen"


def test_g1_closed_on_day_8_exchange_still_open_g2(card):
    card = choose(card, rules.EXCHANGE, sh(2026, 11, 29, 0, 0))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    assert request.kind == "exchange" and request.rule == "G2"


def test_g8_on_day_8_a_refund_instead_of_the_g2_exchange_is_depreciated(card):
    card = choose(card, rules.RETURN, sh(2026, 11, 29, 0, 0))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    # 3,000 − 3,000 × 0.10 % × 8 days
    assert request.rule == "G8" and request.amount == Decimal("2976.00")


def test_g2_exchange_on_day_15_not_on_day_16(merchant_a, consumer, card):
    choose(card, rules.EXCHANGE, sh(2026, 12, 6, 23, 59))
    with at(SIGNED):
        other = signed_card(merchant_a, consumer, signed_at=SIGNED)
    with pytest.raises(RuleViolation) as err:
        choose(other, rules.EXCHANGE, sh(2026, 12, 7, 0, 0))
    assert err.value.code == "remedy_not_granted"


def test_utc_date_would_be_wrong(card):
    """Signed 11-21 00:30 Shanghai is 11-20 in UTC: day 7 still ends 11-28 24:00 Shanghai."""
    ent = selectors.card_entitlements(card=card, at=sh(2026, 11, 28, 23, 59, 59))
    assert ent.rules_for(rules.RETURN) == ["G1"] and ent.day == 7
    after = selectors.card_entitlements(card=card, at=sh(2026, 11, 29))
    assert after.rules_for(rules.RETURN) == ["G8"]


# -- G3 / G9: free repair inside the period, paid after ------------------------------------------


def test_g3_free_repair_on_the_last_day_paid_after_for_mobile_phones(merchant_a, consumer):
    signed = sh(2026, 1, 10, 9)
    with at(signed):
        phone = signed_card(merchant_a, consumer, signed_at=signed, code="mobile_phone")
        later = signed_card(merchant_a, consumer, signed_at=signed, code="mobile_phone")
    with at(sh(2027, 1, 10, 23, 59)):  # 12 months: last day 2027-01-10
        free = services.repair_request(actor=me(phone), card=phone, fault_description="无法开机")
    assert not free.is_paid and free.entitlement_rule == "G3"
    with at(sh(2027, 1, 11, 0, 0)):  # battery 6, charger 12, headset 3 months: nothing left
        paid = services.repair_request(actor=me(later), card=later, fault_description="无法开机")
    assert paid.is_paid and paid.paid_reason == "out_of_period" and paid.entitlement_rule == "G9"


def test_g3_main_parts_still_covered_after_the_whole_unit(merchant_a, consumer, repairer):
    """LCD TV: whole unit 12 months, display panel 36: a free repair (G3P), which the repairer
    may still charge when the fault is not a covered part."""
    provider, (tech,) = repairer
    signed = sh(2026, 1, 10, 9)
    with at(signed):
        card = signed_card(merchant_a, consumer, signed_at=signed)
    with at(sh(2027, 2, 1, 10)):
        repair = services.repair_request(actor=me(card), card=card, fault_description="遥控失灵")
        repair = services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
        repair = services.repair_receive(repair=repair, actor=actor_for_user(tech))
        assert not repair.is_paid and repair.entitlement_rule == "G3P"
        repair = services.repair_finish(
            repair=repair,
            actor=actor_for_user(tech),
            result="fixed",
            labour_fee="50.00",
            is_paid=True,
            paid_reason="out_of_period",
        )
    assert repair.is_paid and repair.total_fee == Decimal("50.00")


def test_repair_days_extend_the_period(card, repairer):
    """G9: every day in repair or waiting for parts extends the period."""
    provider, (tech,) = repairer
    finished_repair(
        card,
        provider,
        tech,
        received_at=sh(2027, 1, 5, 10),
        finished_at=sh(2027, 1, 15, 18),  # 10 days
    )
    whole = selectors.card_entitlements(card=card, at=sh(2027, 2, 1)).coverage[0]
    assert whole.base_last_day.isoformat() == "2027-11-21"
    assert whole.extension_days == 10 and whole.last_day.isoformat() == "2027-12-01"


# -- G11 ----------------------------------------------------------------------------------------


def test_g11_misuse_found_makes_the_repair_paid(card, repairer):
    provider, (tech,) = repairer
    repair = received_repair(
        card, provider, tech, reported_at=sh(2027, 1, 5, 9), received_at=sh(2027, 1, 5, 10)
    )
    assert not repair.is_paid and repair.entitlement_rule == "G3"
    with at(sh(2027, 1, 6, 10)):
        repair = services.repair_diagnose(
            repair=repair, actor=actor_for_user(tech), diagnosis="进水", paid_reason="misuse"
        )
        ent = selectors.card_entitlements(card=card)
    assert repair.is_paid and repair.paid_reason == "misuse"
    assert ent.kinds == [rules.PAID_REPAIR] and ent.remedies[0].rule == "G11"
    assert Notification.objects.filter(user=card.consumer.user, event="repair.paid").exists()
    with at(sh(2027, 1, 8, 10)):
        repair = services.repair_finish(
            repair=repair,
            actor=actor_for_user(tech),
            result="fixed",
            parts_replaced=[{"name": "主板", "quantity": 1}],
            labour_fee="80",
            parts_fee="420.00",
        )
    assert repair.is_paid and repair.total_fee == Decimal("500.00")
    # misuse concerns that fault: the next fault is under 三包 again
    assert selectors.card_entitlements(card=card, at=sh(2027, 2, 1)).remedy(rules.FREE_REPAIR)


def test_g11_disassembly_stays_on_the_card(card, repairer):
    provider, (tech,) = repairer
    repair = received_repair(
        card, provider, tech, reported_at=sh(2027, 1, 5, 9), received_at=sh(2027, 1, 5, 10)
    )
    with at(sh(2027, 1, 6, 10)):
        services.repair_diagnose(
            repair=repair,
            actor=actor_for_user(tech),
            diagnosis="已被拆修",
            paid_reason="disassembly",
        )
        services.repair_finish(repair=repair, actor=actor_for_user(tech), result="fixed")
    card.refresh_from_db()
    assert card.misuse_reasons == ["disassembly"]
    with at(sh(2027, 2, 1)):
        again = services.repair_request(actor=me(card), card=card, fault_description="再次故障")
    assert again.is_paid and again.paid_reason == "disassembly" and again.entitlement_rule == "G11"


def test_free_repair_cannot_be_charged_without_a_g11_reason(card, repairer):
    provider, (tech,) = repairer
    repair = received_repair(
        card, provider, tech, reported_at=sh(2027, 1, 5, 9), received_at=sh(2027, 1, 5, 10)
    )
    with at(sh(2027, 1, 8)), pytest.raises(RuleViolation) as err:
        services.repair_finish(
            repair=repair,
            actor=actor_for_user(tech),
            result="fixed",
            is_paid=True,
            paid_reason="out_of_period",
        )
    assert err.value.code == "paid_reason_required"


# -- G12 ----------------------------------------------------------------------------------------


def test_g12_fault_on_day_30_after_the_repair_reopens_it(card, repairer):
    provider, (tech,) = repairer
    first = finished_repair(
        card, provider, tech, received_at=sh(2027, 1, 5, 10), finished_at=sh(2027, 1, 10, 18)
    )
    with at(sh(2027, 2, 9, 23, 59)):  # day 30 after 01-10
        redo = services.repair_fault_reoccurred(
            repair=first, actor=me(card), fault_description="同样故障"
        )
    first.refresh_from_db()
    assert redo.reopened_from == first and redo.entitlement_rule == "G12" and not redo.is_paid
    assert first.result == "not_fixed" and first.reopened_at == sh(2027, 2, 9, 23, 59)


def test_g12_not_on_day_31(card, repairer):
    provider, (tech,) = repairer
    first = finished_repair(
        card, provider, tech, received_at=sh(2027, 1, 5, 10), finished_at=sh(2027, 1, 10, 18)
    )
    with at(sh(2027, 2, 10, 0, 0)):  # day 31
        later = services.repair_fault_reoccurred(
            repair=first, actor=me(card), fault_description="同样故障"
        )
    first.refresh_from_db()
    assert later.reopened_from is None and later.entitlement_rule == "G3"
    assert first.result == "fixed" and first.reopened_at is None


def test_one_open_repair_per_card(card):
    with at(sh(2027, 1, 5)):
        services.repair_request(actor=me(card), card=card, fault_description="故障")
        with pytest.raises(Conflict) as err:
            services.repair_request(actor=me(card), card=card, fault_description="故障")
    assert err.value.code == "repair_already_open"


# -- G4, G7, G8 -----------------------------------------------------------------------------------


def test_g4_third_fault_opens_an_escalation(card, repairer):
    provider, (tech,) = repairer
    finished_repair(
        card, provider, tech, received_at=sh(2027, 1, 5, 10), finished_at=sh(2027, 1, 8, 10)
    )
    with at(sh(2027, 3, 1)):
        second = services.repair_request(actor=me(card), card=card, fault_description="再坏")
    assert not WarrantyEscalation.objects.exists()  # one repair done: no G4 yet
    with at(sh(2027, 3, 1, 1)):
        services.repair_cancel(repair=second, actor=me(card))
    finished_repair(
        card, provider, tech, received_at=sh(2027, 4, 5, 10), finished_at=sh(2027, 4, 8, 10)
    )
    with at(sh(2027, 6, 1)):
        third = services.repair_request(actor=me(card), card=card, fault_description="第三次")
    escalation = WarrantyEscalation.objects.get()
    assert escalation.rule == "G4" and escalation.repair == third and escalation.status == "open"
    assert escalation.granted_remedies == [rules.EXCHANGE, rules.RETURN]
    assert Notification.objects.filter(
        user=card.consumer.user, event="warranty_escalation.opened"
    ).exists()
    assert list(selectors.escalation_queue(actor=SYSTEM)) == [escalation]


def test_g8_worked_example_refund_2730(merchant_a, consumer, repairer):
    """RULES.md: ¥3,000 LCD TV, 0.10 %/day, returned on day 100 after 10 days in repair."""
    provider, (tech,) = repairer
    signed = sh(2026, 1, 1, 10)
    with at(signed):
        card = signed_card(merchant_a, consumer, signed_at=signed)
    finished_repair(
        card, provider, tech, received_at=sh(2026, 1, 21, 10), finished_at=sh(2026, 1, 26, 10)
    )
    finished_repair(
        card, provider, tech, received_at=sh(2026, 2, 20, 10), finished_at=sh(2026, 2, 25, 10)
    )
    with at(sh(2026, 4, 11, 10)):  # day 100 after 01-01
        services.repair_request(actor=me(card), card=card, fault_description="第三次故障")
    card = choose(card, rules.RETURN, sh(2026, 4, 11, 11))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    assert request.rule == "G8" and request.amount == Decimal("2730.00")
    escalation = WarrantyEscalation.objects.get(card=card)
    assert escalation.chosen_remedy == "return" and escalation.return_request_id == request.pk


def test_g7_same_model_unavailable_and_alternative_refused_full_refund(card, repairer):
    provider, (tech,) = repairer
    for month in (1, 2):
        finished_repair(
            card,
            provider,
            tech,
            received_at=sh(2027, month, 5, 10),
            finished_at=sh(2027, month, 8, 10),
        )
    with at(sh(2027, 3, 1)):
        services.repair_request(actor=me(card), card=card, fault_description="第三次")
    card.sku.stock = 0
    card.sku.save()
    with at(sh(2027, 3, 2)):
        services.warranty_card_refuse_alternative(card=card, actor=me(card))
    card = choose(card, rules.RETURN, sh(2027, 3, 2, 1))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    assert request.rule == "G7" and request.amount == Decimal("3000.00")


def _out_of_stock_with_another_spec(card, price="3200.00"):
    from orders.tests.factories import SkuFactory

    card.sku.stock = 0
    card.sku.save(update_fields=["stock"])
    return SkuFactory(product=card.sku.product, price=Decimal(price), stock=3, spec="65 英寸")


def test_g7_day_10_out_of_stock_offers_an_alternative_not_the_same_model(card):
    other = _out_of_stock_with_another_spec(card)
    day_10 = sh(2026, 12, 1, 10)
    ent = selectors.card_entitlements(card=card, at=day_10)
    exchange = ent.remedy(rules.EXCHANGE)
    assert (
        exchange.rule == "G7" and exchange.alternative and "G2" in exchange.dates["exchange_rules"]
    )
    assert ent.remedy(rules.RETURN).rule == "G7"
    with pytest.raises(InvalidInput) as err:
        choose(card, rules.EXCHANGE, day_10)
    assert err.value.code == "exchange_sku_required"
    with pytest.raises(RuleViolation) as err:
        with at(day_10):
            services.warranty_remedy_choose(
                card=card, remedy=rules.EXCHANGE, actor=me(card), exchange_sku=card.sku_id
            )
    assert err.value.code == "exchange_other_product"
    with at(day_10):
        card = services.warranty_remedy_choose(
            card=card, remedy=rules.EXCHANGE, actor=me(card), exchange_sku=other.pk
        )
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    assert (request.kind, request.rule, request.exchange_sku_id) == ("exchange", "G7", other.pk)
    assert request.price_difference == Decimal("200.00")  # the consumer pays the difference


def test_g7_day_10_out_of_stock_refusing_the_alternative_full_refund(card):
    _out_of_stock_with_another_spec(card)
    card = choose(card, rules.RETURN, sh(2026, 12, 1, 10))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    assert request.rule == "G7" and request.amount == Decimal("3000.00")  # no depreciation
    card.refresh_from_db()
    assert card.alternative_refused


def test_g8_refused_while_the_rate_is_unknown(merchant_a, consumer, repairer):
    provider, (tech,) = repairer
    with at(sh(2026, 1, 1, 10)):
        card = signed_card(merchant_a, consumer, signed_at=sh(2026, 1, 1, 10), code="home_av")
    provider.categories.add(card.catalog_entry)
    for month in (2, 3):
        finished_repair(
            card, provider, tech, received_at=sh(2026, month, 5, 10), finished_at=sh(2026, month, 8)
        )
    with at(sh(2026, 4, 1)):
        services.repair_request(actor=me(card), card=card, fault_description="第三次")
    with pytest.raises(RuleViolation) as err:
        choose(card, rules.RETURN, sh(2026, 4, 1, 1))
    assert err.value.code == "depreciation_rate_unknown"
    card = choose(card, rules.EXCHANGE, sh(2026, 4, 1, 1))
    assert ReturnRequest.objects.get(pk=card.return_request_id).rule == "G4"


def test_completed_exchange_restarts_the_card(card, repairer):
    """The returns flow completes the exchange: the card ends and a new one starts (G10)."""
    from aftersales.casefile.events import event_publish

    card = choose(card, rules.EXCHANGE, sh(2026, 12, 1, 10))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    with at(sh(2026, 12, 5, 10)):
        event_publish(
            "return.completed",
            subject=request,
            payload={"return_request_id": request.pk, "kind": "exchange"},
        )
    card.refresh_from_db()
    assert card.status == "exchanged"
    assert card.replaced_by.starts_at == sh(2026, 12, 5, 10)
    assert not RepairOrder.objects.filter(card=card, status="requested").exists()


def test_refunded_return_ends_the_card_and_a_cancelled_one_frees_the_choice(
    merchant_a, consumer, card
):
    from aftersales.casefile.events import event_publish

    card = choose(card, rules.RETURN, sh(2026, 11, 25, 10))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    from returns.services import return_request_cancel

    with at(sh(2026, 11, 26, 10)):  # the consumer withdraws it in the returns flow
        return_request_cancel(request=request, actor=me(card))
    card.refresh_from_db()
    assert card.pending_remedy == "" and card.return_request_id is None
    card = choose(card, rules.RETURN, sh(2026, 11, 27, 10))
    request = ReturnRequest.objects.get(pk=card.return_request_id)
    with at(sh(2026, 11, 30, 10)):
        event_publish(
            "return.refunded",
            subject=request,
            payload={"return_request_id": request.pk, "kind": "return_refund"},
        )
    card.refresh_from_db()
    assert card.status == "returned" and card.returned_at == sh(2026, 11, 30, 10)
