"""Warranty cards: created on sign-off, one per unit (G9); installation; the catalog version in
force at sale; ``card_facts`` in a fixed number of queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from aftersales.casefile.models import DomainEvent
from aftersales.errors import Conflict, NotFound, RuleViolation
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as af
from orders import services as order_services
from orders.models import OrderLine
from orders.tests.factories import CategoryFactory, paid_order
from repairs import rules, selectors, services
from repairs.models import RepairOrder, SanbaoCatalogEntry, WarrantyCard
from repairs.tests.factories import provider_with_staff, sanbao_line, sh, signed_card

pytestmark = pytest.mark.django_db


def _ship_and_sign(line, signed_at):
    shipment = order_services.shipment_create(
        line=line,
        carrier="SF",
        tracking_number=f"SF{line.pk:010d}",
        actor=SYSTEM,
        shipped_at=signed_at - timedelta(days=1),
    )
    order_services.tracking_event_record(
        shipment=shipment, kind="signed", occurred_at=signed_at, actor=SYSTEM
    )
    return shipment


def test_sign_off_creates_one_card_per_unit_for_sanbao_categories(merchant_a):
    consumer = af.ConsumerFactory()
    line = sanbao_line(merchant_a, consumer, quantity=2, price="1500.00")
    plain = paid_order(merchant_a, consumer, category=CategoryFactory(code="books")).lines.get()
    signed = sh(2026, 11, 21, 0, 30)
    with time_machine.travel(signed + timedelta(hours=1), tick=False):
        _ship_and_sign(line, signed)
        _ship_and_sign(plain, signed)
    cards = list(WarrantyCard.objects.filter(order_line=line).order_by("unit_index"))
    assert [c.unit_index for c in cards] == [1, 2]
    assert all(c.starts_at == signed and c.signed_at == signed for c in cards)
    assert cards[0].unit_price == Decimal("1500.00")
    assert cards[0].catalog_entry.code == "lcd_tv" and cards[0].catalog_change.version == 1
    assert not WarrantyCard.objects.filter(order_line=plain).exists()
    assert DomainEvent.objects.filter(name="warranty_card.created").count() == 2
    # idempotent: asking again creates nothing
    assert services.warranty_card_create(line=line, actor=SYSTEM, signed_at=signed) == []


def test_cards_split_the_line_by_cumulative_rounding(merchant_a):
    """R15: each card's price is its unit's cumulative-rounding part; the cards add up."""
    line = sanbao_line(merchant_a, af.ConsumerFactory(), quantity=3, price="33.34")
    OrderLine.objects.filter(pk=line.pk).update(
        paid_amount=Decimal("100.00"), discount_amount=Decimal("0.02")
    )
    line.refresh_from_db()
    signed = sh(2026, 11, 21, 0, 30)
    with time_machine.travel(signed + timedelta(hours=1), tick=False):
        cards = services.warranty_card_create(line=line, actor=SYSTEM, signed_at=signed)
    prices = [c.unit_price for c in sorted(cards, key=lambda c: c.unit_index)]
    assert prices == [Decimal("33.33"), Decimal("33.34"), Decimal("33.33")]
    assert sum(prices) == line.paid_amount


def test_card_create_refuses_lines_outside_the_catalog_and_unsigned(merchant_a):
    consumer = af.ConsumerFactory()
    plain = paid_order(merchant_a, consumer, category=CategoryFactory(code="toys")).lines.get()
    with pytest.raises(RuleViolation) as err:
        services.warranty_card_create(line=plain, actor=SYSTEM)
    assert err.value.code == "not_sanbao_category"
    line = sanbao_line(merchant_a, consumer)
    with pytest.raises(RuleViolation) as err:
        services.warranty_card_create(line=line, actor=SYSTEM)
    assert err.value.code == "line_not_signed"


def test_card_create_is_the_merchants_or_platforms(merchant_a, merchant_b, roles):
    consumer = af.ConsumerFactory()
    line = sanbao_line(merchant_a, consumer)
    with time_machine.travel(sh(2026, 11, 22), tick=False):
        with pytest.raises(NotFound):
            services.warranty_card_create(
                line=line, actor=actor_for_user(roles["merchant_b"]), signed_at=sh(2026, 11, 21)
            )
        cards = services.warranty_card_create(
            line=line, actor=actor_for_user(roles["merchant_a"]), signed_at=sh(2026, 11, 21)
        )
    assert len(cards) == 1


def test_installation_starts_the_period(merchant_a):
    """G9: goods needing installation count from installation completed, not sign-off."""
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2026, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, consumer, signed_at=sh(2026, 1, 10, 9), install=True)
    assert card.needs_installation and card.starts_at is None
    with time_machine.travel(sh(2026, 1, 20, 15), tick=False):
        card = services.warranty_installation_complete(card=card, actor=SYSTEM)
        ent = selectors.card_entitlements(card=card)
    assert card.starts_at == sh(2026, 1, 20, 15)
    # day 0 after installation: every remedy of G1 is open although signed 10 days ago
    assert rules.RETURN in ent.kinds and ent.day == 0
    assert ent.coverage[0].last_day.isoformat() == "2027-01-20"
    with pytest.raises(Conflict):
        services.warranty_installation_complete(card=card, actor=SYSTEM)


def test_installation_refused_for_goods_without_installation(merchant_a):
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2026, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, consumer, signed_at=sh(2026, 1, 10, 9))
        with pytest.raises(RuleViolation) as err:
            services.warranty_installation_complete(card=card, actor=SYSTEM)
    assert err.value.code == "installation_not_needed"


def test_card_keeps_the_catalog_version_in_force_at_sale(merchant_a):
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2026, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, consumer, signed_at=sh(2026, 1, 10, 9))
    services.catalog_entry_save(code="lcd_tv", actor=SYSTEM, whole_unit_months=24)
    later = signed_card(merchant_a, consumer, signed_at=sh(2026, 1, 10, 9))
    at = sh(2026, 2, 1)
    assert selectors.card_entitlements(card=card, at=at).coverage[0].months == 12
    assert selectors.card_entitlements(card=later, at=at).coverage[0].months == 24
    assert later.catalog_version == 2


def test_unknown_rate_set_later_is_used(merchant_a):
    """G8 refuses while the rate is unknown; once staff set it, cards sold before compute."""
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2026, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, consumer, signed_at=sh(2026, 1, 10, 9), code="microcomputer")
    assert selectors.card_facts(card).catalog.daily_rate is None
    services.catalog_entry_save(code="microcomputer", actor=SYSTEM, daily_depreciation_rate="0.05")
    assert selectors.card_facts(card).catalog.daily_rate == Decimal("0.050")


def _closed_repairs(provider, repairs, *, parts_wait_days):
    """Fixed and closed repairs, one per ``(card, received_at, days in repair)``."""
    RepairOrder.objects.bulk_create(
        [
            RepairOrder(
                number=f"RPT{provider.pk}-{n:04d}",
                card=card,
                order_line_id=card.order_line_id,
                merchant_id=card.merchant_id,
                consumer_id=card.consumer_id,
                fault_description="故障",
                fault_reported_at=received_at,
                received_at=received_at,
                finished_at=received_at + days,
                status="closed",
                result="fixed",
                parts_wait_days=parts_wait_days,
                provider=provider,
            )
            for n, (card, received_at, days) in enumerate(repairs)
        ]
    )


def test_card_facts_query_count_is_fixed(merchant_a, django_assert_max_num_queries):
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2025, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, consumer, signed_at=sh(2025, 1, 10, 9))
    provider, _staff = provider_with_staff(staff=("q-tech",))
    _closed_repairs(
        provider,
        [(card, sh(2025, 2, 1) + timedelta(days=10 * n), timedelta(days=2)) for n in range(20)],
        parts_wait_days=1,
    )
    with django_assert_max_num_queries(2):  # the card with catalog and stock; its repairs
        facts = selectors.card_facts(card)
    assert len(facts.repairs) == 20
    # as the API and the pages load it: the card with its catalog and SKU, then one query
    with django_assert_max_num_queries(2):
        loaded = selectors.warranty_card_get(actor=SYSTEM, pk=card.pk)
        answer = selectors.card_entitlements(card=loaded, at=sh(2025, 9, 1))
    assert selectors.card_facts(loaded) == facts and answer.remedy(rules.FREE_REPAIR)
    with time_machine.travel(sh(2025, 6, 1), tick=False):
        new = services.warranty_card_exchange(card=card, actor=SYSTEM)
    with django_assert_max_num_queries(3):
        facts = selectors.card_facts(new)
    assert facts.exchanges == (rules.ExchangeFacts(at=sh(2025, 6, 1)),)
    assert facts.start_at == sh(2025, 1, 10, 9)


def test_a_page_of_cards_has_the_coverage_of_each_card_alone(
    merchant_a, django_assert_max_num_queries
):
    """The card list's batch read (``card_coverage_facts``) gives every card the coverage
    ``card_facts`` gives it alone: the chain's start and exchanges, the repairs received on the
    whole chain; two queries for the page."""
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2025, 1, 11, 12), tick=False):
        first = signed_card(merchant_a, consumer, signed_at=sh(2025, 1, 10, 9))
        plain = signed_card(merchant_a, consumer, signed_at=sh(2025, 1, 11, 9))
    provider, _staff = provider_with_staff(staff=("p-tech",))
    _closed_repairs(
        provider,
        [
            (card, sh(2025, 2, 1) + timedelta(days=40 * n), timedelta(days=8))
            for n, card in enumerate((first, first, plain))
        ],
        parts_wait_days=3,
    )
    with time_machine.travel(sh(2025, 6, 1), tick=False):
        second = services.warranty_card_exchange(card=first, actor=SYSTEM)
    cards = list(
        WarrantyCard.objects.select_related("catalog_entry", "catalog_change").filter(
            pk__in=[first.pk, plain.pk, second.pk]
        )
    )
    with django_assert_max_num_queries(2):
        page = selectors.card_coverage_facts(cards)
    at = sh(2025, 9, 1)
    for card in cards:
        alone = selectors.card_facts(card)
        assert page[card.pk].start_at == alone.start_at
        assert page[card.pk].exchanges == alone.exchanges
        assert rules.warranty_ends(page[card.pk], at) == rules.warranty_ends(alone, at)
    assert len(page[second.pk].repairs) == 2 and len(page[plain.pk].repairs) == 1
    assert page[second.pk].exchanges == (rules.ExchangeFacts(at=sh(2025, 6, 1)),)


def test_exchange_restarts_the_period(merchant_a):
    """G10: after an exchange the 三包 period starts again from the exchange date."""
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2026, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, consumer, signed_at=sh(2026, 1, 10, 9))
    with time_machine.travel(sh(2026, 8, 1, 10), tick=False):
        new = services.warranty_card_exchange(card=card, actor=SYSTEM, serial_number="SN-2")
    card.refresh_from_db()
    assert card.status == "exchanged" and card.replaced_by == new
    assert new.replaces == card and new.root == card and new.starts_at == sh(2026, 8, 1, 10)
    whole = selectors.card_entitlements(card=new, at=sh(2026, 9, 1)).coverage[0]
    assert whole.starts_at == sh(2026, 8, 1, 10) and whole.last_day.isoformat() == "2027-08-01"
    with pytest.raises(Conflict):
        services.warranty_card_exchange(card=card, actor=SYSTEM)


def test_consumer_sees_own_cards_only(merchant_a, roles):
    mine = af.ConsumerFactory(user=af.UserFactory(username="card-owner"))
    other = af.ConsumerFactory()
    with time_machine.travel(sh(2026, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, mine, signed_at=sh(2026, 1, 10, 9))
        foreign = signed_card(merchant_a, other, signed_at=sh(2026, 1, 10, 9))
    me = actor_for_user(mine.user)
    assert list(selectors.warranty_card_list(actor=me)) == [card]
    assert selectors.warranty_card_get(actor=me, pk=card.pk) == card
    with pytest.raises(NotFound):
        selectors.warranty_card_get(actor=me, pk=foreign.pk)
    merchant = actor_for_user(roles["merchant_a"])
    assert set(selectors.warranty_card_list(actor=merchant)) == {card, foreign}
    assert not selectors.warranty_card_list(actor=actor_for_user(roles["merchant_b"])).exists()
    assert SanbaoCatalogEntry.objects.count() >= 7


def test_cards_out_of_every_period_expire(merchant_a):
    consumer = af.ConsumerFactory()
    with time_machine.travel(sh(2022, 1, 10, 12), tick=False):
        old = signed_card(merchant_a, consumer, signed_at=sh(2022, 1, 10, 9))
    with time_machine.travel(sh(2024, 1, 10, 12), tick=False):
        recent = signed_card(merchant_a, consumer, signed_at=sh(2024, 1, 10, 9))
    # LCD TV main parts run 36 months: the old card's last covered day is 2025-01-10
    assert services.warranty_cards_expire(actor=SYSTEM, now=sh(2025, 1, 10, 23, 59)) == 0
    assert services.warranty_cards_expire(actor=SYSTEM, now=sh(2025, 1, 11, 0, 0)) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == "expired" and recent.status == "active"
