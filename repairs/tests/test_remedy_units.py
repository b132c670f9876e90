"""A 三包 exchange or return is not offered, nor accepted, while the unit is already in a return,
exchange or refund request of the returns flow (RULES.md R15): the remedy page shows that request
instead; once it is cancelled, the remedy is offered again."""

import pytest

from aftersales.errors import Conflict
from aftersales.tenancy.actors import actor_for_user
from aftersales.tests import factories as af
from repairs import rules, services
from repairs.tests.factories import at, sh, signed_card
from returns import services as returns_services
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db

SIGNED = sh(2026, 11, 21, 0, 30)
DAY3 = sh(2026, 11, 24, 10, 0)


@pytest.fixture
def card(merchant_a):
    consumer = af.ConsumerFactory(user=af.UserFactory(username="units-consumer"))
    with at(SIGNED):
        card = signed_card(merchant_a, consumer, signed_at=SIGNED)
        rf.ship(card.order_line, signed_at=SIGNED)  # the parcel the consumer signed for
    return card


def open_return(card):
    with at(DAY3):
        return returns_services.return_request_create(
            line=card.order_line,
            kind="return_refund",
            reason="quality",
            quantity=card.order_line.quantity,
            actor=rf.consumer_actor(card.consumer),
            evidence=[rf.photo()],
        )


def test_remedy_refused_while_the_unit_is_in_an_open_return(card):
    request = open_return(card)
    with at(DAY3), pytest.raises(Conflict) as err:
        services.warranty_remedy_choose(
            card=card, remedy=rules.EXCHANGE, actor=actor_for_user(card.consumer.user)
        )
    assert err.value.code == "units_in_return"
    assert err.value.fields == {"return_request_ids": [request.pk]}
    assert request.number in err.value.message


def test_remedy_page_shows_the_open_request_instead_of_the_choice(client, card):
    request = open_return(card)
    client.force_login(card.consumer.user)
    with at(DAY3):
        page = client.get(f"/my/warranties/{card.pk}/remedy/").content.decode()
        detail = client.get(f"/my/warranties/{card.pk}/").content.decode()
    assert 'data-testid="units-in-return"' in page and request.number in page
    assert 'data-testid="remedy-form"' not in page
    assert 'data-testid="choose-remedy"' not in detail
    with at(DAY3):
        posted = client.post(
            f"/my/warranties/{card.pk}/remedy/", {"remedy": "exchange", "confirm": "on"}
        )
    assert posted.status_code == 400
    card.refresh_from_db()
    assert not card.pending_remedy


def test_remedy_offered_again_once_the_return_is_cancelled(client, card):
    request = open_return(card)
    with at(DAY3):
        returns_services.return_request_cancel(
            request=request, actor=rf.consumer_actor(card.consumer)
        )
    client.force_login(card.consumer.user)
    with at(DAY3):
        page = client.get(f"/my/warranties/{card.pk}/remedy/").content.decode()
        assert 'data-testid="remedy-form"' in page
        card = services.warranty_remedy_choose(
            card=card, remedy=rules.EXCHANGE, actor=actor_for_user(card.consumer.user)
        )
    assert card.pending_remedy == rules.EXCHANGE
