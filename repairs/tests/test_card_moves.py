"""Warranty card status moves go through ``aftersales.casefile.statuses.status_move`` with
``rules.CARD_MOVES``: an active card ends once (exchanged, returned, expired), keeps its
timeline verbs and timestamps, and an ended card never moves again."""

import pytest
import time_machine

from aftersales.casefile.timeline import timeline_for
from aftersales.errors import Conflict
from aftersales.tenancy.actors import SYSTEM
from aftersales.tests import factories as af
from repairs import rules, services
from repairs.models import WarrantyCard
from repairs.services.common import card_move
from repairs.tests.factories import sh, signed_card

pytestmark = pytest.mark.django_db


def _card(merchant):
    with time_machine.travel(sh(2026, 1, 10, 12), tick=False):
        return signed_card(merchant, af.ConsumerFactory(), signed_at=sh(2026, 1, 10, 9))


def _moves(card):
    return [
        (e.verb, e.from_status, e.to_status, e.occurred_at)
        for e in timeline_for(card)
        if e.verb != "warranty_card.created"
    ]


def test_the_table_knows_every_status_and_only_an_active_card_moves():
    assert set(rules.CARD_MOVES) == set(WarrantyCard.Status.values)
    assert rules.CARD_MOVES["active"] == {"exchanged", "returned", "expired"}
    assert all(not rules.CARD_MOVES[s] for s in ("exchanged", "returned", "expired"))
    fields = {f.name for f in WarrantyCard._meta.get_fields()}
    assert set(rules.CARD_STATUS_TIMESTAMP.values()) <= fields


def test_return_sets_status_timestamp_and_timeline(merchant_a):
    card = _card(merchant_a)
    at = sh(2026, 2, 1, 10)
    with time_machine.travel(sh(2026, 2, 2, 10), tick=False):
        services.warranty_card_return(card=card, actor=SYSTEM, returned_at=at, note="七日退货")
    card.refresh_from_db()
    assert card.status == "returned" and card.returned_at == at and card.exchanged_at is None
    assert _moves(card) == [("warranty_card.returned", "active", "returned", at)]
    assert timeline_for(card).get(verb="warranty_card.returned").reason == "七日退货"


def test_exchange_sets_status_timestamp_and_timeline(merchant_a):
    card = _card(merchant_a)
    at = sh(2026, 3, 1, 10)
    with time_machine.travel(sh(2026, 3, 2, 10), tick=False):
        new = services.warranty_card_exchange(card=card, actor=SYSTEM, exchanged_at=at)
    card.refresh_from_db()
    assert card.status == "exchanged" and card.exchanged_at == at
    assert _moves(card) == [("warranty_card.exchanged", "active", "exchanged", at)]
    event = timeline_for(card).get(verb="warranty_card.exchanged")
    assert event.data == {"replaced_by": new.pk}


def test_expiry_moves_through_the_table(merchant_a):
    with time_machine.travel(sh(2022, 1, 10, 12), tick=False):
        card = signed_card(merchant_a, af.ConsumerFactory(), signed_at=sh(2022, 1, 10, 9))
    swept_at = sh(2025, 1, 11, 8)
    with time_machine.travel(swept_at, tick=False):
        assert services.warranty_cards_expire(actor=SYSTEM, now=sh(2025, 1, 11)) == 1
    card.refresh_from_db()
    assert card.status == "expired"
    assert _moves(card) == [("warranty_card.expired", "active", "expired", swept_at)]


@pytest.mark.parametrize("to", ["active", "exchanged", "expired"])
def test_an_ended_card_cannot_move_again(merchant_a, to):
    card = _card(merchant_a)
    with time_machine.travel(sh(2026, 2, 2, 10), tick=False):
        services.warranty_card_return(card=card, actor=SYSTEM)
        before = _moves(card)
        with pytest.raises(Conflict) as err:
            card_move(card, to=to, actor=SYSTEM)
    assert err.value.code == "invalid_status_transition"
    assert err.value.fields == {"status": "returned", "to": to}
    card.refresh_from_db()
    assert card.status == "returned" and _moves(card) == before
