"""Express refund (R12): the platform pays at the first carrier scan for consumers at or above
the credit threshold; the ledger records the advance, the recovery from the merchant at receipt,
and the clawback (cancelled when the parcel arrives after all)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.errors import Conflict
from returns import services
from returns.models import ExpressRefundLedgerEntry, Refund
from returns.tests import factories as rf
from returns.tests.conftest import settle_refunds

pytestmark = pytest.mark.django_db


def shipped(credit_score, kind="return_refund", tracking="E1"):
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1), price="120.00")
    line.order.consumer.credit_score = credit_score
    line.order.consumer.save(update_fields=["credit_score"])
    request, _consumer, merchant = rf.request_at(
        line, "return_shipped", kind=kind, tracking=tracking
    )
    return request, merchant


def scan(request, kind="picked_up"):
    return services.return_parcel_scan_record(
        request=request, kind=kind, occurred_at=clock.now(), actor=rf.SYSTEM
    )


def ledger(request):
    return list(
        ExpressRefundLedgerEntry.objects.filter(request=request)
        .order_by("id")
        .values_list("kind", "amount")
    )


def test_threshold_boundary_600_pays_599_waits():
    at, _m = shipped(600)
    below, _m = shipped(599, tracking="E2")
    scan(at)
    scan(below)
    refund = Refund.objects.get(request=at)
    assert refund.source == "platform_express" and refund.amount == D("120.00")
    assert ledger(at) == [("advance", D("120.00"))]
    assert not Refund.objects.filter(request=below).exists() and ledger(below) == []


def test_advance_then_recovery_at_receipt_and_one_refund_only():
    request, merchant = shipped(800)
    scan(request)
    services.return_parcel_scan_record(
        request=request,
        kind="picked_up",
        occurred_at=clock.now(),
        actor=rf.SYSTEM,
        external_id="c-1",
    )
    services.return_parcel_scan_record(
        request=request,
        kind="picked_up",
        occurred_at=clock.now(),
        actor=rf.SYSTEM,
        external_id="c-1",
    )
    scans = TimelineEvent.objects.filter(verb="return.parcel_scanned", data__external_id="c-1")
    assert scans.count() == 1  # a repeated callback changes nothing
    scan(request, "in_transit")  # only the first scan counts
    assert Refund.objects.filter(request=request).count() == 1
    settle_refunds()
    request.refresh_from_db()
    assert request.status == "return_shipped" and request.refund.status == "succeeded"
    request = services.return_receive(request=request, actor=merchant, intact=True)
    assert request.status == "refunded"
    assert ledger(request) == [("advance", D("120.00")), ("recovery", D("120.00"))]
    again = services.return_refund(request=request, actor=merchant)
    assert again.pk == request.refund.pk and Refund.objects.count() == 1


def test_receipt_before_the_express_refund_settles():
    request, merchant = shipped(800)
    scan(request)
    request = services.return_receive(request=request, actor=merchant, intact=True)
    assert request.status == "refunding"
    settle_refunds()
    request.refresh_from_db()
    assert request.status == "refunded"


def test_clawback_cancelled_when_the_parcel_arrives_late():
    request, merchant = shipped(700)
    scan(request)
    services.express_clawback(request=request)
    assert ledger(request) == [("advance", D("120.00")), ("clawback", D("120.00"))]
    services.express_clawback(request=request)  # once only
    scan(request, "signed")
    request.refresh_from_db()
    assert request.status == "received"
    services.return_receive(request=request, actor=merchant, intact=True)
    assert [k for k, _a in ledger(request)] == [
        "advance",
        "clawback",
        "clawback_cancelled",
        "recovery",
    ]


def test_exchanges_get_no_express_refund_and_scans_need_a_parcel():
    request, _m = shipped(900, kind="exchange")
    scan(request)
    assert not Refund.objects.exists()
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=1))
    fresh = services.return_request_create(
        line=line,
        kind="return_refund",
        reason="no_reason",
        quantity=1,
        actor=rf.consumer_actor(line.order.consumer),
    )
    with pytest.raises(Conflict) as e:
        scan(fresh)
    assert e.value.code == "no_return_parcel"


def test_arbitration_after_an_express_refund_recovers_or_claws_back():
    for decision, expected in (("refund_full", "recovery"), ("reject", "clawback")):
        request, merchant = shipped(800, tracking=f"ARB{decision}")
        scan(request)
        consumer = rf.consumer_actor(request.consumer)
        services.return_receive(
            request=request, actor=merchant, intact=False, note="破损", evidence=[rf.photo()]
        )
        services.return_escalate(request=request, actor=consumer, statement="寄出时完好")
        services.arbitration_answer(request=request, actor=merchant, statement="确有破损")
        services.arbitration_decide(
            request=request, actor=rf.SYSTEM, decision=decision, reason="平台裁决"
        )
        assert [k for k, _a in ledger(request)] == ["advance", expected]
        with pytest.raises(Conflict):
            services.arbitration_decide(
                request=request,
                actor=rf.SYSTEM,
                decision="refund_partial",
                amount="1.00",
                reason="again",
            )
