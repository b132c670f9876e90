"""Reads scoped to the caller: consumers their own, merchants theirs, platform all, mediators
what is granted; line options with rule and deciding date; arbitration queue; deadlines."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from guardian.shortcuts import assign_perm

from aftersales import clock
from aftersales.errors import NotFound
from aftersales.tenancy.actors import SYSTEM, actor_for_user
from aftersales.tenancy.models import PlatformGroup
from aftersales.tests import factories as af
from returns import selectors, services
from returns.tests import factories as rf

pytestmark = pytest.mark.django_db


@pytest.fixture
def two():
    rows = []
    for _ in range(2):
        line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), quantity=2)
        consumer = rf.consumer_actor(line.order.consumer)
        request = services.return_request_create(
            line=line, kind="return_refund", reason="no_reason", quantity=1, actor=consumer
        )
        rows.append((request, consumer, rf.merchant_actor(line.order.merchant)))
    return rows


def test_list_and_get_are_scoped(two):
    (a, consumer_a, merchant_a), (b, _cb, _mb) = two
    assert list(selectors.return_request_list(actor=consumer_a)) == [a]
    assert list(selectors.return_request_list(actor=merchant_a)) == [a]
    assert set(selectors.return_request_list(actor=SYSTEM)) == {a, b}
    assert selectors.return_request_get(actor=consumer_a, pk=a.pk) == a
    with pytest.raises(NotFound):
        selectors.return_request_get(actor=consumer_a, pk=b.pk)
    with pytest.raises(NotFound):
        selectors.return_request_get(actor=merchant_a, pk=b.pk)
    with pytest.raises(NotFound):
        selectors.return_request_get_by_number(actor=consumer_a, number=b.number)


def test_mediator_sees_granted_requests_only(two):
    (a, _c, _m), (b, _cb, _mb) = two
    user = af.platform_user(PlatformGroup.MEDIATOR)
    assign_perm("returns.view_returnrequest", user, b)
    mediator = actor_for_user(user)
    assert list(selectors.return_request_list(actor=mediator)) == [b]
    with pytest.raises(NotFound):
        selectors.return_request_get(actor=mediator, pk=a.pk)


def test_filters(two):
    (a, _c, merchant), (b, _cb, _mb) = two
    services.return_request_approve(request=b, actor=_mb)
    assert list(selectors.return_request_list(actor=SYSTEM, filters={"status": "approved"})) == [b]
    assert list(selectors.return_request_list(actor=SYSTEM, filters={"number": a.number})) == [a]
    assert set(selectors.return_request_list(actor=SYSTEM, filters={"open": "true"})) == {a, b}
    today = clock.today()
    assert (
        selectors.return_request_list(
            actor=SYSTEM, filters={"requested_from": today, "requested_to": today}
        ).count()
        == 2
    )
    assert not selectors.return_request_list(
        actor=SYSTEM, filters={"requested_from": today + timedelta(days=1)}
    ).exists()


def test_list_runs_a_fixed_number_of_queries(two, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        rows = list(selectors.return_request_list(actor=SYSTEM))
        names = [
            (r.order.number, r.line.product_name, r.merchant.name, r.consumer.name) for r in rows
        ]
    assert len(names) == 2


def test_line_return_options_explain_rule_and_date():
    signed = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 11-21 00:30 Shanghai
    with time_machine.travel(signed, tick=False):
        line = rf.signed_line(signed_at=signed, quantity=2)
        consumer = rf.consumer_actor(line.order.consumer)
        options = {o.kind: o for o in selectors.line_return_options(actor=consumer, line=line)}
    no_reason = options["no_reason_return"]
    assert no_reason.available and no_reason.rule == "R1"
    assert no_reason.decided_by_display == "2026-11-28 24:00"
    assert "2026-11-28 24:00" in no_reason.message
    assert "return_refund" in no_reason.request_kinds
    assert not options["refund_only_unshipped"].available
    with pytest.raises(NotFound):
        selectors.line_return_options(actor=rf.consumer_actor(af.ConsumerFactory()), line=line)


def test_arbitration_queue_and_deadlines(two):
    (a, consumer, merchant), (b, _cb, _mb) = two
    services.return_request_reject(request=a, actor=merchant, reason="no")
    services.return_escalate(request=a, actor=consumer, statement="请平台介入")
    queue = list(selectors.arbitration_queue(actor=SYSTEM))
    assert [x.request_id for x in queue] == [a.pk]
    assert list(selectors.arbitration_queue(actor=rf.merchant_actor(b.merchant))) == []
    deadlines = selectors.return_request_deadlines(b)
    assert [d.kind for d in deadlines] == ["returns.auto_approve"]
    assert deadlines[0].due_display


def test_refund_and_ledger_lists_are_scoped():
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1))
    consumer = rf.consumer_actor(line.order.consumer)
    merchant = rf.merchant_actor(line.order.merchant)
    request = services.return_request_create(
        line=line, kind="return_refund", reason="no_reason", quantity=1, actor=consumer
    )
    services.return_request_approve(request=request, actor=merchant)
    services.return_ship_back(request=request, actor=consumer, carrier="SF", tracking_number="L1")
    services.return_parcel_scan_record(
        request=request, kind="picked_up", occurred_at=clock.now(), actor=SYSTEM
    )
    other = rf.merchant_actor(af.MerchantFactory())
    assert [e.kind for e in selectors.express_ledger_list(actor=merchant)] == ["advance"]
    assert not selectors.express_ledger_list(actor=other).exists()
    assert selectors.refund_list(actor=consumer).get().source == "platform_express"
    assert not selectors.refund_list(actor=other).exists()


def test_detail_runs_a_fixed_number_of_queries(two, django_assert_max_num_queries):
    (a, consumer, _m), _b = two
    with django_assert_max_num_queries(6):
        row = selectors.return_request_get(actor=consumer, pk=a.pk)
        list(row.evidence.all()), list(row.ledger_entries.all())
        selectors.refund_of(row)
