"""Warranty end dates under many repairs and exchanges, driven through the services (G9, G10).

Hypothesis builds a history — repairs (some waiting for parts) and exchanges at increasing
times — and replays it through ``repair_request`` … ``repair_finish`` and
``warranty_card_exchange`` with the clock frozen at each step. Repairs start within 300 days of
the current period's start, so each lies inside the 12-month whole-unit period and the expected
end is simple to state independently of ``repairs.rules``: the period starts at the last
exchange (or sign-off) and its last day is start + 12 months + every day in repair since then.
"""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aftersales.deadlines.rules import local_date
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tests import factories as af
from repairs import rules, selectors, services
from repairs.tests.factories import at, provider_with_staff, sh, signed_card

pytestmark = pytest.mark.django_db

# ("repair", days after the previous step, days in repair, of which waiting for parts)
repair_step = st.tuples(
    st.just("repair"), st.integers(1, 40), st.integers(0, 25), st.integers(0, 10)
)
exchange_step = st.tuples(st.just("exchange"), st.integers(1, 60), st.just(0), st.just(0))
histories = st.lists(st.one_of(repair_step, repair_step, exchange_step), min_size=1, max_size=6)


def _replay(card, steps, provider, tech):
    """Run ``steps`` through the services; returns (current card, its period start, the
    (received, finished) pairs of the current period, the wait days of each)."""
    technician = actor_for_user(tech)
    start = cursor = card.starts_at
    current = []
    for kind, gap, days, wait in steps:
        when = cursor + timedelta(days=gap)
        if kind == "exchange":
            with at(when):
                card = services.warranty_card_exchange(card=card, actor=SYSTEM)
            start, current, cursor = when, [], when
            continue
        if (when - start).days > 300:
            continue  # keep every repair inside the whole-unit period (see module docstring)
        with at(when):
            repair = services.repair_request(
                actor=actor_for_user(card.consumer.user), card=card, fault_description="故障"
            )
            repair = services.repair_assign(repair=repair, provider=provider, actor=SYSTEM)
            repair = services.repair_receive(repair=repair, actor=technician)
        wait = min(wait, days)
        if wait:
            with at(when + timedelta(hours=1)):
                services.repair_parts_wait_start(repair=repair, actor=technician)
            with at(when + timedelta(days=wait, hours=1)):
                services.repair_parts_wait_end(repair=repair, actor=technician)
        finished = when + timedelta(days=days, hours=2)
        with at(finished):
            repair = services.repair_finish(repair=repair, actor=technician, result="fixed")
            services.repair_return_to_consumer(repair=repair, actor=technician)
        current.append((when, finished, wait))
        cursor = finished
    return card, start, current


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=histories, hour=st.integers(0, 23))
def test_end_dates_follow_repairs_and_exchanges(merchant_a, steps, hour):
    provider, (tech,) = _provider()
    consumer = af.ConsumerFactory()
    signed = sh(2026, 1, 10, hour)
    with at(signed):
        card = signed_card(merchant_a, consumer, signed_at=signed)
    card, start, repairs = _replay(card, steps, provider, tech)
    later = start + timedelta(days=2000)
    ent = selectors.card_entitlements(card=card, at=later)
    whole = ent.coverage[0]
    repair_days = sum(rules.days_between(received, finished) for received, finished, _ in repairs)
    assert whole.starts_at == start
    assert whole.base_last_day == rules.add_months(local_date(start), 12)
    assert whole.extension_days == repair_days
    assert whole.last_day == whole.base_last_day + timedelta(days=repair_days)
    for part in ent.coverage[1:]:  # LCD main parts: 36 months, the same extension
        assert part.last_day == rules.add_months(local_date(start), 36) + timedelta(
            days=repair_days
        )
    facts = selectors.card_facts(card)
    assert facts.start_at == signed
    assert len(facts.exchanges) == sum(1 for s in steps if s[0] == "exchange")
    mine = [r for r in facts.repairs if r.received_at >= start]
    assert [r.parts_wait_days for r in mine] == [wait for _, _, wait in repairs]
    for fact, (received, finished, wait) in zip(mine, repairs, strict=True):
        assert rules.repairer_days(fact, later) == rules.days_between(received, finished) - wait


_cache = {}


def _provider():
    """One provider for all examples of the test (hypothesis reuses the test's transaction)."""
    from repairs.models import RepairProvider

    if "p" not in _cache or not RepairProvider.objects.filter(pk=_cache["p"][0].pk).exists():
        _cache["p"] = provider_with_staff(staff=("hyp-tech",))
    return _cache["p"]
