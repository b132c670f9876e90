"""Express refund (R12) after the platform advanced the refund: receipt — the merchant's
inspection, the merchant's "确认退款", or the end of the inspection window after the carrier's
delivery scan — recovers the advance from the merchant and completes the case; the recovery
(a deduction from the merchant's settlement) and the clawback (a charge of the consumer) settle
through the payment gateway with their own states, retries and timeline."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from aftersales import clock
from aftersales.casefile.models import TimelineEvent
from aftersales.deadlines.engine import deadline_sweep, deadlines_for
from aftersales.messaging.models import Notification
from aftersales.tests import factories as kernel
from orders.models import GatewayTransfer
from returns import services
from returns.models import ExpressRefundLedgerEntry
from returns.tests import factories as rf
from returns.tests.conftest import settle_refunds
from returns.tests.test_services_exchange_difference import settle_transfers

pytestmark = pytest.mark.django_db

# 2026-11-21 00:30 Shanghai: day 7 after it closes 2026-11-28 24:00 Shanghai.
T0 = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
DAY7_END = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def sweep(at):
    with time_machine.travel(at, tick=False):
        return deadline_sweep()


def express_signed(price="120.00", tracking="EX1"):
    """An express-refunded return (credit 800), its refund settled, then signed for by the
    carrier at T0: ``(request, merchant_actor)``."""
    with time_machine.travel(T0 - timedelta(days=2), tick=False):
        line = rf.signed_line(signed_at=T0 - timedelta(days=3), price=price)
        line.order.consumer.credit_score = 800
        line.order.consumer.save(update_fields=["credit_score"])
        request, _consumer, merchant = rf.request_at(line, "return_shipped", tracking=tracking)
        services.return_parcel_scan_record(
            request=request, kind="picked_up", occurred_at=clock.now(), actor=rf.SYSTEM
        )
        settle_refunds()
    with time_machine.travel(T0, tick=False):
        services.return_parcel_scan_record(
            request=request, kind="signed", occurred_at=T0, actor=rf.SYSTEM
        )
    request.refresh_from_db()
    return request, merchant


def ledger(request):
    return {
        e.kind: e
        for e in ExpressRefundLedgerEntry.objects.filter(request=request).select_related("transfer")
    }


def verbs(request):
    return list(
        TimelineEvent.objects.filter(subject_id=request.pk, verb__startswith="return.express")
        .order_by("pk")
        .values_list("verb", flat=True)
    )


def test_carrier_signed_express_return_waits_for_inspection_not_for_a_refund():
    request, _merchant = express_signed()
    assert request.status == "received" and request.refund.status == "succeeded"
    kinds = [d.kind for d in deadlines_for(request)]
    assert kinds == ["returns.express_receipt_settle"]  # no R6 refund deadline: already paid
    assert "recovery" not in ledger(request)


def test_merchant_confirm_refund_recovers_the_advance_and_completes_the_case():
    request, merchant = express_signed()
    refund = services.return_refund(request=request, actor=merchant)
    request.refresh_from_db()
    assert refund.pk == request.refund.pk  # no second refund
    assert request.status == "refunded" and request.inspection_intact is True
    recovery = ledger(request)["recovery"]
    assert (recovery.amount, recovery.settlement_status) == (D("120.00"), "pending")
    transfer = recovery.transfer
    assert (transfer.direction, transfer.method, transfer.merchant_id) == (
        "deduction",
        "settlement",
        request.merchant_id,
    )
    assert transfer.request_id == f"xr-{request.pk}-recovery-a1"
    assert deadlines_for(request) == []
    settle_transfers()
    recovery.refresh_from_db()
    assert recovery.settlement_status == "succeeded" and recovery.settled_at is not None
    assert recovery.transfer.gateway_ref.startswith("SBXD")
    assert verbs(request)[-3:] == [
        "return.express_recovery",
        "return.express_recovery_started",
        "return.express_recovery_succeeded",
    ]
    assert Notification.objects.filter(event="return.express_settled").exists()


def test_merchant_inspection_of_a_carrier_signed_express_return_completes_it():
    request, merchant = express_signed()
    request = services.return_receive(request=request, actor=merchant, intact=True)
    assert request.status == "refunded"
    assert ledger(request)["recovery"].settlement_status == "pending"


def test_inspection_window_after_the_delivery_scan_settles_at_its_last_minute():
    request, _merchant = express_signed()
    (deadline,) = deadlines_for(request)
    assert deadline.due_at == DAY7_END
    sweep(DAY7_END - MINUTE)
    request.refresh_from_db()
    assert request.status == "received" and "recovery" not in ledger(request)
    sweep(DAY7_END)
    request.refresh_from_db()
    assert request.status == "refunded" and request.inspection_intact is True
    assert ledger(request)["recovery"].settlement_status == "pending"


def test_not_intact_express_return_is_disputed_and_giving_up_recovers():
    request, merchant = express_signed()
    services.return_receive(
        request=request, actor=merchant, intact=False, note="破损", evidence=[rf.photo()]
    )
    request.refresh_from_db()
    assert request.status == "disputed" and deadlines_for(request) == []
    services.return_refund(request=request, actor=merchant)  # gives up the dispute
    request.refresh_from_db()
    assert request.status == "refunded" and "recovery" in ledger(request)


def test_a_failed_recovery_is_retried_with_a_new_request_id():
    request, merchant = express_signed()
    with override_settings(SANDBOX_PAYMENT_FAIL="always"):
        services.return_refund(request=request, actor=merchant)
        settle_transfers()
    recovery = ledger(request)["recovery"]
    assert recovery.settlement_status == "failed" and recovery.failure_reason
    assert "return.express_recovery_failed" in verbs(request)
    assert services.express_settlements_retry_failed() == 1
    recovery.refresh_from_db()
    assert recovery.settlement_status == "pending" and recovery.attempts == 2
    assert recovery.transfer.request_id == f"xr-{request.pk}-recovery-a2"
    settle_transfers()
    recovery.refresh_from_db()
    assert recovery.settlement_status == "succeeded"
    assert services.express_settlements_retry_failed() == 0


def test_retries_stop_after_three_attempts():
    request, merchant = express_signed()
    with override_settings(SANDBOX_PAYMENT_FAIL="always"):
        services.return_refund(request=request, actor=merchant)
        settle_transfers()
        assert services.express_settlements_retry_failed() == 1
        settle_transfers()
        assert services.express_settlements_retry_failed() == 1
        settle_transfers()
        assert services.express_settlements_retry_failed() == 0
    assert ledger(request)["recovery"].attempts == 3


def lost_parcel(price="88.00", tracking="LOST"):
    """An express refund whose parcel was scanned and never arrived, clawed back."""
    line = rf.signed_line(signed_at=clock.now() - timedelta(days=2), price=price)
    line.order.consumer.credit_score = 800
    line.order.consumer.save(update_fields=["credit_score"])
    request, _consumer, merchant = rf.request_at(line, "return_shipped", tracking=tracking)
    services.return_parcel_scan_record(
        request=request, kind="picked_up", occurred_at=clock.now(), actor=rf.SYSTEM
    )
    settle_refunds()
    services.express_clawback(request=request)
    request.refresh_from_db()
    return request, merchant


def test_clawback_charges_the_consumer_through_the_gateway():
    request, _merchant = lost_parcel()
    clawback = ledger(request)["clawback"]
    assert clawback.settlement_status == "pending"
    assert (clawback.transfer.direction, clawback.transfer.method) == ("charge", "card")
    settle_transfers()
    clawback.refresh_from_db()
    assert clawback.settlement_status == "succeeded"
    assert Notification.objects.filter(event="return.express_settled").exists()


def test_a_charged_clawback_is_paid_back_when_the_parcel_arrives_after_all():
    request, merchant = lost_parcel(tracking="LATE1")
    settle_transfers()
    services.return_receive(request=request, actor=merchant, intact=True)
    entries = ledger(request)
    cancelled = entries["clawback_cancelled"]
    assert cancelled.transfer.direction == "payout"
    assert cancelled.transfer.refund_of_id == entries["clawback"].transfer_id
    settle_transfers()
    cancelled.refresh_from_db()
    assert cancelled.settlement_status == "succeeded"
    assert entries["recovery"].settlement_status == "pending"


def test_a_pending_clawback_is_paid_back_once_its_charge_succeeds():
    request, merchant = lost_parcel(tracking="LATE2")
    services.return_receive(request=request, actor=merchant, intact=True)
    assert ledger(request)["clawback_cancelled"].transfer is None
    settle_transfers()
    entries = ledger(request)
    assert entries["clawback"].settlement_status == "succeeded"
    assert entries["clawback_cancelled"].settlement_status == "succeeded"
    payout = entries["clawback_cancelled"].transfer
    assert payout.direction == "payout" and payout.amount == D("88.00")


def test_a_failed_clawback_cancelled_by_the_arrival_is_not_retried():
    request, merchant = lost_parcel(price="88.44", tracking="LATE3")  # .44: declined
    settle_transfers()
    assert ledger(request)["clawback"].settlement_status == "failed"
    services.return_receive(request=request, actor=merchant, intact=True)
    entries = ledger(request)
    assert entries["clawback"].settlement_status == "cancelled"
    assert entries["clawback_cancelled"].settlement_status == "none"
    assert not GatewayTransfer.objects.filter(direction="payout").exists()


def test_merchant_page_offers_the_inspection_not_a_refund(client):
    request, _merchant = express_signed()
    member = kernel.MerchantMemberFactory(merchant=request.merchant)
    client.force_login(member.user)
    page = client.get(reverse("merchant:return-detail", args=[request.pk]))
    html = page.content.decode()
    assert 'data-testid="express-receive-hint"' in html
    assert 'data-testid="refund-submit"' not in html
    answer = client.post(
        reverse("merchant:return-receive", args=[request.pk]), {"intact": "yes"}, follow=True
    )
    assert "已确认收货，售后完成" in answer.content.decode()
    request.refresh_from_db()
    assert request.status == "refunded"


def test_consumer_sees_no_deadline_to_refund_them(client):
    request, _merchant = express_signed()
    client.force_login(request.consumer.user)
    html = client.get(reverse("my:return-detail", args=[request.pk])).content.decode()
    assert "平台自动退款" not in html
    assert "极速退款垫付款" in html
